package main

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

// reimportRegistry is December's registry re-import (spec §4a): the national system's new
// export moves the household of one open case to another township, takes three households
// out of the registry and clears another's risk.
func (d *demo) reimportRegistry(ctx context.Context, day cases.Date) error {
	db := d.srv.DB
	open, err := db.ListCases(ctx, postgres.CaseFilter{Round: "2026-11", OpenOnly: true})
	if err != nil {
		return err
	}
	moveNo := ""
	for _, c := range open {
		if c.HouseholdNo != "" && c.Kind != cases.KindSweep {
			moveNo = c.HouseholdNo
			break
		}
	}
	var next []cases.RegistryMember
	dropped, seen := map[string]bool{}, map[string]bool{}
	for _, m := range d.reg {
		if !seen[m.HouseholdNo] {
			seen[m.HouseholdNo] = true
			if len(dropped) < 3 && m.HouseholdNo != moveNo && len(seen)%50 == 0 {
				dropped[m.HouseholdNo] = true
			}
		}
		if dropped[m.HouseholdNo] {
			continue
		}
		if m.HouseholdNo == moveNo {
			for _, t := range synth.Townships {
				if t != m.Township {
					m.Township, m.Village = t, "新安村"
					break
				}
			}
		}
		next = append(next, m)
	}
	ann := &handlers.Announcer{Links: d.env.formLinks()}
	res, err := db.ImportRegistryAnnounced(ctx, next, cases.RegistryImportOptions{Filename: "registry-2026-12.csv"}, ann.AnnounceMoves)
	if err != nil {
		return fmt.Errorf("名册重新导入：%w", err)
	}
	d.reg = next
	df := res.Diff
	d.say("  %s 县扶贫办重新导入国家系统名册（批次 %s）：新增 %d，变更 %d，迁户 %d，退出 %d；在办案件随户转乡镇 %d 件（两个乡镇群均已通知）",
		day, res.BatchID, df.Added, df.Changed, df.Moved, df.Removed, res.CasesMoved)
	return nil
}

// finishSweep closes a 区域排查 task the way a cadre does after the village-by-village check.
func (d *demo) finishSweep(ctx context.Context, c cases.Case, cadre string) error {
	if err := d.byPrivateCommand(ctx, cadre, fmt.Sprintf("排查 %s 完成 0 已逐村排查受灾情况，未发现需要纳入监测的农户", c.No)); err != nil {
		return err
	}
	d.say("    %s 区域排查 %s（%s）：乡村干部登记排查完成，单独计数，不计入交办户数", c.Township, c.No, c.Village)
	return nil
}
