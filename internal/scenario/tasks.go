package scenario

import (
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
)

// Privately has a user type a command in the private chat with the app and prints the
// answer. who names the user for the console; shown is the command as the console may show
// it (no full ID number).
func (p *Play) Privately(ctx context.Context, day cases.Date, user, who, text, shown string) error {
	before := len(p.Sim.SentTo(user))
	if _, err := p.Sim.SayPrivately(ctx, user, text); err != nil {
		return err
	}
	// The reply, not the notices (【…】) the command queued for the same user.
	reply := func() string {
		sent := p.Sim.SentTo(user)
		for i := len(sent) - 1; i >= before; i-- {
			if !strings.HasPrefix(sent[i].Content, "【") {
				return sent[i].Content
			}
		}
		return ""
	}
	wctx, cancel := context.WithTimeout(ctx, replyWait)
	defer cancel()
	if err := p.Sim.Wait(wctx, func([]wecomtest.Sent) bool { return reply() != "" }); err != nil {
		return fmt.Errorf("%s 没有收到回复：%w", who, err)
	}
	p.say("  %s %s：%s\n    → %s", day, who, shown, indent(reply()))
	return nil
}

// Visit: 城关镇's 张三 found a household on a visit that no department reported (docs/held-and-tasks.md).
func Visit(ctx context.Context, p *Play, day cases.Date) error {
	id := p.gen.IDNumber(1968)
	text := "走访 %s 孟繁星 住房 房屋墙体开裂，雨季漏雨，家中无力修缮"
	return p.Privately(ctx, day, "zhangsan", "乡村干部张三（私聊）", fmt.Sprintf(text, id), fmt.Sprintf(text, cases.MaskIDNumber(id)))
}

// DepartmentTasks: two liaisons look at their department's tasks and record one each (docs/dispatch.md).
func DepartmentTasks(ctx context.Context, p *Play, day cases.Date) error {
	for _, l := range []struct{ user, who, dept, measure string }{
		{"liaison_zjj", "住建局联络员住小建", "住建局", "已入户鉴定房屋等级，列入本年度危房改造计划，补助资金已下达"},
		{"liaison_rsj", "人社局联络员人小社", "人社局", "已推荐到县内扶贫车间就业，并落实一次性交通补贴"},
	} {
		ts, err := p.Store.OpenTasks(ctx, l.dept)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			p.say("  %s %s没有待办理的部门任务", day, l.dept)
			continue
		}
		if err := p.Privately(ctx, day, l.user, l.who, "待办", "待办"); err != nil {
			return err
		}
		text := "办理 " + ts[0].CaseNo + " " + l.measure
		if err := p.Privately(ctx, day, l.user, l.who, text, text); err != nil {
			return err
		}
	}
	return nil
}
