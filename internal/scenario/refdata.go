package scenario

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/internal/simtest"
)

// Reimport is December's re-import, confirmed in chat (docs/office.md): 赵六 sends the new
// export to the bot, reads the diff it would apply, and confirms it. The export moves the
// household of one open case to another township, takes three households out of the
// registry and keeps the rest.
func Reimport(ctx context.Context, p *Play, day cases.Date) error {
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
	var file bytes.Buffer
	if err := synth.WriteRegistryCSV(&file, next); err != nil {
		return err
	}
	before := len(p.Sim.SentTo("zhaoliu"))
	if _, err := p.Sim.SendFile(ctx, "zhaoliu", "国家系统名册-2026年12月.csv", file.Bytes()); err != nil {
		return fmt.Errorf("名册重新导入：%w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	preview, err := simtest.Reply(wctx, p.Sim, "zhaoliu", before, "名册试算")
	if err != nil {
		return fmt.Errorf("名册重新导入：没有收到试算结果：%w", err)
	}
	p.say("  %s 县扶贫办把国家系统名册发给机器人，先看试算（名册尚未变动）：\n    → %s", day, indent(firstLines(preview, 2)))
	before = len(p.Sim.SentTo("zhaoliu"))
	if _, err := p.Sim.SayPrivately(ctx, "zhaoliu", "确认导入"); err != nil {
		return err
	}
	done, err := simtest.Reply(wctx, p.Sim, "zhaoliu", before, "名册已导入")
	if err != nil {
		return fmt.Errorf("名册重新导入：确认后没有导入：%w", err)
	}
	p.say("  %s 县扶贫办：确认导入\n    → %s（在办案件随户转乡镇时两个乡镇群均已通知）", day, indent(done))
	p.reg = next
	return nil
}

// firstLines is the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// Results is 结果运用: 医保局's liaison asks what became of the warnings pushed for November's
// round (counts only, docs/office.md).
func Results(round string) func(context.Context, *Play, cases.Date) error {
	return func(ctx context.Context, p *Play, day cases.Date) error {
		before := len(p.Sim.SentTo("wangwu"))
		if _, err := p.Sim.SayPrivately(ctx, "wangwu", "结果 "+round); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, replyWait)
		defer cancel()
		got, err := simtest.Reply(wctx, p.Sim, "wangwu", before, "预警结果反馈")
		if err != nil {
			return fmt.Errorf("结果 %s：%w", round, err)
		}
		p.say("  %s 医保局联络员：结果 %s\n    → %s", day, round, indent(got))
		return nil
	}
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
