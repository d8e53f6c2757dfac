package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

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

// pushAreaAlert is 应急管理局 reporting a flood by village with no person named: the round
// makes one 区域排查 task of the township listing every village (spec §5c).
func (d *demo) pushAreaAlert(ctx context.Context, day cases.Date) error {
	town := synth.Townships[1]
	var recs []map[string]string
	for _, v := range []string{"上河村", "下河村", "上河村"} {
		recs = append(recs, map[string]string{"姓名": "", "身份证号": "", "乡镇": town, "村": v,
			"灾害名称": "11月上旬强降雨洪涝", "灾害结束日期": day.AddDays(-1).String(), "受灾情况": "部分农田、房屋进水"})
	}
	body, _ := json.Marshal(map[string]any{"category": "disaster", "period": day.MonthKey(), "records": recs})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/api/v1/batches", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer demo-token-"+demoTokens["应急管理局"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var b cases.Batch
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 || json.Unmarshal(raw, &b) != nil {
		return fmt.Errorf("应急管理局 推送失败（HTTP %d）：%s", resp.StatusCode, raw)
	}
	d.say("  %s 应急管理局 推送 因灾（按村、无具体人员）：%d 行，接收 %d —— 交办时合并为%s的一项区域排查", day, b.Rows, b.Accepted, town)
	return nil
}
