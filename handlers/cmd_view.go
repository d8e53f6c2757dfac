package handlers

import (
	"context"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// viewCommand is 查看 <编号>. In private chat it shows everything the actor may see; in a
// group only what docs/privacy.md allows, and it says where the details are.
func (h *Cases) viewCommand() *Command {
	const usage = "查看 <编号>"
	return &Command{
		Name: "查看", Roles: allRoles, Public: 1, Usage: usage, Example: "查看 YJ202611-0001",
		Summary: "一件案件的户情、风险、状态、期限和办理记录",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			c, err := h.viewable(ctx, no, req.Actor)
			if err != nil {
				return "", err
			}
			today := cases.DateOf(h.now())
			if req.Msg.InGroup() {
				s := fmt.Sprintf("%s\n状态：%s；办结时限：%s", announce.GroupLine(c, c.HeadName == ""), statusLine(c, today, h.cal()), c.DueOn)
				if c.Result != "" {
					s += "；核查结论：" + c.Result.Label()
				}
				return s + "\n详细信息请私聊我发送“查看 " + c.No + "”。", nil
			}
			ws, err := h.Ledger.CaseWarnings(ctx, c.ID)
			if err != nil {
				return "", err
			}
			if err := recordAccess(ctx, h.Access, cases.AccessEvent{User: req.Actor.UserID, Action: cases.AccessView,
				CaseNo: c.No, Channel: chatChannel(req.Msg), Detail: "查看"}); err != nil {
				return "", err
			}
			ws = departmentShare(c, req.Actor, ws)
			evs, err := h.Ledger.Events(ctx, c.ID)
			if err != nil {
				return "", err
			}
			var b strings.Builder
			b.WriteString(announce.CaseDetails(c, ws))
			if who := h.personName(ctx, c.Responsible); who != "" {
				b.WriteString("\n责任干部：" + who)
			}
			if c.Status.Open() && !c.DueOn.IsZero() {
				b.WriteString("\n" + h.cal().DueText(c.DueOn, today))
			}
			if c.Source != "" && c.Source != cases.SourceScreening {
				fmt.Fprintf(&b, "\n预警来源：%s", c.Source)
			}
			ts, err := h.Ledger.TasksOf(ctx, []int64{c.ID})
			if err != nil {
				return "", err
			}
			if len(ts[c.ID]) > 0 {
				b.WriteString("\n部门任务：" + taskSummary(ts[c.ID]))
			}
			if len(evs) > 0 {
				b.WriteString("\n办理记录：")
			}
			for _, l := range h.history(ctx, evs) {
				b.WriteString("\n• " + l)
			}
			return b.String(), nil
		},
	}
}

func actionLabel(a string) string {
	switch a {
	case "dispatch":
		return "交办"
	case "task_added":
		return "交办部门任务"
	case "task_done":
		return "部门任务办理"
	case "held":
		return "比对已核（新预警未再交办）"
	}
	return cases.Action(a).Label()
}

// departmentShare is what a liaison may read of a case that is not routed to the department
// but has a task of it: the warnings that name the department, not the household's others
// (a 人社局 liaison has no need of a diagnosis).
func departmentShare(c cases.Case, a cases.Actor, ws []cases.WarningFact) []cases.WarningFact {
	if a.Role != cases.RoleLiaison || c.Department == a.Department {
		return ws
	}
	var out []cases.WarningFact
	for _, w := range ws {
		if cases.TaskDepartment(w) == a.Department {
			out = append(out, w)
		}
	}
	return out
}
