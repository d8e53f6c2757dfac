package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// SweepStore records finished 区域排查 tasks (docs/registry.md).
type SweepStore interface {
	CompleteSweep(ctx context.Context, no string, actor cases.Actor, d cases.SweepDone, src cases.Source) (cases.Sweep, error)
}

// Sweeps holds the 排查 command. Register it with router.Register(s.Commands()...).
type Sweeps struct {
	Store SweepStore
	Now   func() time.Time
}

// Commands lists the 区域排查 commands.
func (s *Sweeps) Commands() []*Command { return []*Command{s.sweepCommand()} }

// sweepCommand is 排查 <编号> 完成 <发现户数> <说明>: a cadre of the township closes its 区域排查.
// A group reply repeats the number, 完成 and the count, never the 说明.
func (s *Sweeps) sweepCommand() *Command {
	const usage = "排查 <编号> 完成 <发现户数> <说明>"
	return &Command{
		Name: "排查", Roles: []cases.Role{cases.RoleCadre}, Public: 3, Usage: usage,
		Example: "排查 YJ202611-0003 完成 2 已逐村走访受灾农户，发现的 2 户已用走访上报",
		Summary: "区域排查（灾情、疫情）完成后登记发现户数和情况；发现的困难户请用“走访”逐户上报",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			if len(req.Args) < 3 || req.Args[1] != "完成" {
				return "", cases.Errorf(cases.EInvalid, "请这样写：%s，例如：排查 %s 完成 2 已逐村走访受灾农户", usage, no)
			}
			found, err := strconv.Atoi(strings.TrimSuffix(req.Args[2], "户"))
			if err != nil || found < 0 {
				return "", cases.Errorf(cases.EInvalid, "发现户数“%s”应是一个数字（没有发现写 0），例如：排查 %s 完成 0 已逐村排查，未发现困难户", req.Args[2], no)
			}
			note := strings.TrimSpace(strings.Join(req.Args[3:], " "))
			now := time.Now()
			if s.Now != nil {
				now = s.Now()
			}
			sw, err := s.Store.CompleteSweep(ctx, no, req.Actor, cases.SweepDone{Found: found, Note: note, Now: now}, source(req.Msg))
			if err != nil {
				return "", err
			}
			reply := fmt.Sprintf("已登记：区域排查 %s 完成，发现 %d 户", sw.Case.No, found)
			switch {
			case found == 0:
				reply += "。"
			case len(sw.Linked) >= found:
				reply += fmt.Sprintf("，已用“走访”上报并关联 %d 户。", len(sw.Linked))
			default:
				reply += fmt.Sprintf("；已关联走访上报 %d 户，其余 %d 户请用“走访 <身份证号> <姓名> <类别> <情况>”逐户上报。", len(sw.Linked), found-len(sw.Linked))
			}
			return reply, nil
		},
	}
}

// sweepStats is 统计's line on 区域排查 tasks, counted apart from households (docs/registry.md).
func sweepStats(a cases.Assessment) string {
	if len(a.Sweeps) == 0 {
		return ""
	}
	var done, overdue, found, linked int
	for _, t := range a.AreaSweeps {
		done += t.Done
		overdue += t.Overdue
		found += t.Found
		linked += t.Linked
	}
	s := fmt.Sprintf("\n区域排查（灾情、疫情，不计入户数）：%d 项，已完成 %d 项", len(a.Sweeps), done)
	if overdue > 0 {
		s += fmt.Sprintf("，逾期 %d 项", overdue)
	}
	return s + fmt.Sprintf("；排查发现 %d 户，已走访上报关联 %d 户。", found, linked)
}
