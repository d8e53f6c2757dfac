package scenario

import (
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/internal/simtest"
)

// Registry is the office's monthly re-import of the national system's export (fangpin
// registry import, docs/registry.md).
type Registry interface {
	// ReimportRegistry applies a whole export as a diff, telling the townships of open cases
	// that move with their households.
	ReimportRegistry(ctx context.Context, members []cases.RegistryMember) (cases.RegistryImportResult, error)
}

// Reimport is December's re-import: the new export moves the household of one open case to
// another township, takes three households out of the registry and keeps the rest.
func Reimport(ctx context.Context, p *Play, day cases.Date) error {
	reg, ok := p.Office.(Registry)
	if !ok {
		return nil
	}
	open, err := p.Store.Cases(ctx, "", cases.StatusDispatched, cases.StatusVerified, cases.StatusReturned)
	if err != nil {
		return err
	}
	moveNo := ""
	for _, c := range open {
		if c.HouseholdNo != "" && c.Kind != cases.KindSweep && c.Kind != cases.KindInfo {
			moveNo = c.HouseholdNo
			break
		}
	}
	var next []cases.RegistryMember
	dropped, seen := map[string]bool{}, map[string]bool{}
	for _, m := range p.reg {
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
	res, err := reg.ReimportRegistry(ctx, next)
	if err != nil {
		return fmt.Errorf("名册重新导入：%w", err)
	}
	p.reg = next
	d := res.Diff
	p.say("  %s 县扶贫办重新导入国家系统名册（批次 %s）：新增 %d，变更 %d，迁户 %d，退出 %d；在办案件随户转乡镇 %d 件（两个乡镇群均已通知）",
		day, res.BatchID, d.Added, d.Changed, d.Moved, d.Removed, res.CasesMoved)
	return nil
}

// AreaAlert is 应急管理局 reporting a flood by village with no person named: the round makes
// one 区域排查 task of the township listing every village (docs/registry.md).
func AreaAlert(ctx context.Context, p *Play, day cases.Date) error {
	town := synth.Townships[1]
	lines := []string{"姓名,身份证号,乡镇,村,灾害名称,灾害结束日期,受灾情况"}
	for _, v := range []string{"上河村", "下河村", "上河村"} {
		lines = append(lines, fmt.Sprintf(",,%s,%s,11月上旬强降雨洪涝,%s,部分农田、房屋进水", town, v, day.AddDays(-1)))
	}
	file := []byte(strings.Join(lines, "\n") + "\n")
	b, err := simtest.PushFile(ctx, p.Base, "demo-token-"+Tokens["应急管理局"], cases.CatDisaster, day.MonthKey(), "应急管理局-区域灾情.csv", file)
	if err != nil {
		return fmt.Errorf("应急管理局 推送失败：%w", err)
	}
	p.say("  %s 应急管理局 推送 因灾（按村、无具体人员）：%d 行，接收 %d —— 交办时合并为%s的一项区域排查", day, b.Rows, b.Accepted, town)
	return nil
}

// finishSweep closes a 区域排查 task the way a cadre does after the village-by-village check.
func (p *Play) finishSweep(ctx context.Context, c cases.Case, cadre string) error {
	if err := p.ByPrivateCommand(ctx, cadre, fmt.Sprintf("排查 %s 完成 0 已逐村排查受灾情况，未发现需要纳入监测的农户", c.No)); err != nil {
		return err
	}
	p.say("    %s 区域排查 %s（%s）：乡村干部登记排查完成，单独计数，不计入交办户数", c.Township, c.No, c.Village)
	return nil
}
