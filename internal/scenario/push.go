package scenario

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/internal/simtest"
)

// Push is one department's monthly file.
type Push struct {
	Day       int // day of the month
	Dept      string
	Cat       cases.Category
	Format    string // csv, gbk, xlsx; chat: an XLSX the liaison sends the bot in WeCom
	Warn, Bad int    // rows that warn, rows with mistakes
}

// Pushes are the month's files: most by the 5th, 民政局 late on the 6th (after its
// reminders).
var Pushes = []Push{
	{2, "医保局", cases.CatMedical, "gbk", 6, 2},
	{2, "卫健委", cases.CatSeriousIllness, "xlsx", 3, 0},
	{3, "人社局", cases.CatEmployment, "chat", 3, 1},
	{3, "公安局", cases.CatPopulation, "csv", 2, 1},
	{4, "应急管理局", cases.CatDisaster, "xlsx", 2, 0},
	{4, "住建局", cases.CatAssurance, "xlsx", 2, 0},
	{4, "农业农村局", cases.CatIndustry, "gbk", 2, 1},
	{5, "卫健委", cases.CatEpidemic, "csv", 1, 0},
	{5, "教体局", cases.CatEducation, "xlsx", 2, 0},
	{6, "民政局", cases.CatAssistance, "gbk", 3, 0},
}

// Tokens are the departments' push API tokens in examples/org.yaml (demo-token-<code>).
var Tokens = map[string]string{
	"医保局": "ybj", "卫健委": "wjw", "教体局": "jtj", "应急管理局": "yjj", "农业农村局": "nyj",
	"人社局": "rsj", "民政局": "mzj", "住建局": "zjj", "水利局": "slj", "公安局": "gaj",
}

// Play sends the department's file through the push API, as its system would, keeping a
// copy in Dir/files.
func (s Push) Play(ctx context.Context, p *Play, day cases.Date) error {
	period := day.MonthKey()
	if s.Cat.Monthly() {
		period = cases.PreviousMonth(day)
	}
	spec := synth.DeptSpec{Category: s.Cat, Warn: s.Warn, Quiet: s.Warn, Bad: s.Bad, Members: p.reg,
		Month: cases.NewDate(day.Year, day.Month-1, 1)}
	var buf bytes.Buffer
	ext := ".csv"
	rows, err := p.gen.WriteDeptCSV(&buf, spec, s.Format == "gbk")
	if err != nil {
		return fmt.Errorf("%s 的文件：%w", s.Dept, err)
	}
	if s.Format == "xlsx" || s.Format == "chat" {
		buf.Reset()
		ext = ".xlsx"
		if err := synth.WriteRowsXLSX(&buf, s.Cat, rows); err != nil {
			return fmt.Errorf("%s 的文件：%w", s.Dept, err)
		}
	}
	name := fmt.Sprintf("%s-%s-%s%s", s.Dept, s.Cat, period, ext)
	if err := os.WriteFile(filepath.Join(p.Dir, "files", name), buf.Bytes(), 0o644); err != nil {
		return err
	}
	if s.Format == "chat" {
		return s.sendInChat(ctx, p, day, name, buf.Bytes())
	}
	b, err := simtest.PushFile(ctx, p.Base, "demo-token-"+Tokens[s.Dept], s.Cat, period, name, buf.Bytes())
	if err != nil {
		return fmt.Errorf("%s 推送失败：%w", s.Dept, err)
	}
	p.say("  %s %s 推送 %s：%d 行，接收 %d，退回 %d，预警 %d", day, s.Dept, s.Cat.Label(), b.Rows, b.Accepted, b.Rejected, b.Warnings)
	if b.RegistryUpdates != nil && b.NotInRegistry != nil {
		p.say("      人员变动：更新名册 %d 人，名册外 %d 行", *b.RegistryUpdates, *b.NotInRegistry)
	}
	if b.OutOfScope > 0 {
		p.say("      不在筛查范围 %d 行", b.OutOfScope)
	}
	for _, e := range b.Errors {
		p.say("      第 %d 行“%s”：%s", e.Row, e.Column, e.Message)
	}
	return nil
}

// sendInChat plays the department's liaison sending the file to the bot in WeCom (single
// chat with the AI bot): the bot answers with the counts and, for the refused rows, a
// workbook to correct and send again.
func (s Push) sendInChat(ctx context.Context, p *Play, day cases.Date, name string, data []byte) error {
	liaisons, err := p.Store.UsersOf(ctx, cases.RoleLiaison, "", s.Dept)
	if err != nil || len(liaisons) == 0 {
		return fmt.Errorf("%s 没有联络员：%v", s.Dept, err)
	}
	who := liaisons[0]
	before := len(p.Sim.SentTo(who))
	if _, err := p.Sim.SayFile(ctx, who, name, data); err != nil {
		return fmt.Errorf("%s 在企业微信发送文件：%w", s.Dept, err)
	}
	reply, err := simtest.Reply(ctx, p.Sim, who, before, name)
	if err != nil {
		return fmt.Errorf("%s 的文件没有回复：%w", s.Dept, err)
	}
	p.say("  %s %s 在企业微信里把 %s 发给机器人，回复：", day, s.Dept, name)
	for _, line := range strings.Split(reply, "\n") {
		p.say("      %s", line)
	}
	if s.Bad == 0 {
		return nil
	}
	var file string
	err = p.Sim.Wait(ctx, func([]wecomtest.Sent) bool {
		for _, m := range p.Sim.SentTo(who)[before:] {
			if m.MsgType == "file" {
				file = m.MediaName
				return os.WriteFile(filepath.Join(p.Dir, "files", m.MediaName), m.MediaData, 0o644) == nil
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("%s 没有收到退回的行：%w", s.Dept, err)
	}
	p.say("      退回的行作为文件发回：%s", file)
	return nil
}
