package handlers

import (
	"context"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// taskDoneCommand is 办理 <编号> <措施>: a liaison records what the department did on its task.
// The reply never repeats the 措施 (the router may answer in a group).
func (h *Cases) taskDoneCommand() *Command {
	const usage = "办理 <编号> <措施>"
	return &Command{
		Name: "办理", Roles: []cases.Role{cases.RoleLiaison}, Usage: usage,
		Example: "办理 YJ202611-0001 已落实危房改造补助，列入本年度改造计划",
		Summary: "本部门交办任务已办理，写明采取的措施",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			measure := req.Text(1)
			if measure == "" {
				return "", cases.Errorf(cases.EInvalid, "请写明本部门采取的措施，格式：%s，例如：办理 %s 已落实危房改造补助", usage, no)
			}
			t, err := h.Ledger.CompleteTask(ctx, no, req.Actor, measure, source(req.Msg))
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("已记录：案件 %s 交办给%s的任务已办理（%s），办理措施已登记。", t.CaseNo, t.Department, t.DoneOn), nil
		},
	}
}

// referCommand is 转办 <编号> <部门> <说明>: the office adds a department task by hand; the
// department's liaisons are told privately.
func (h *Cases) referCommand() *Command {
	const usage = "转办 <编号> <部门> <说明>"
	return &Command{
		Name: "转办", Roles: []cases.Role{cases.RoleOffice}, Public: 2, Usage: usage,
		Example: "转办 YJ202611-0001 住建局 请核实房屋安全情况",
		Summary: "把案件交给相关部门办理（增加一项部门任务）",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			if len(req.Args) < 3 {
				return "", cases.Errorf(cases.EInvalid, "请写上部门和需要办理的事项，格式：%s，例如：转办 %s 住建局 请核实房屋安全情况", usage, no)
			}
			dept := req.Args[1]
			t, err := h.Ledger.ReferTask(ctx, no, dept, req.Text(2), req.Actor, source(req.Msg))
			if err != nil {
				return "", err
			}
			c, err := h.Ledger.CaseByNo(ctx, no)
			if err != nil {
				return "", err
			}
			ws, err := h.Ledger.CaseWarnings(ctx, c.ID)
			if err != nil {
				return "", err
			}
			liaisons, err := h.Ledger.UsersOf(ctx, cases.RoleLiaison, "", t.Department)
			if err != nil {
				return "", err
			}
			var msgs []bot.Outgoing
			for _, u := range liaisons {
				msgtype, body := bot.Text(announce.TaskNotice(c, t, ws))
				msgs = append(msgs, bot.Outgoing{Key: fmt.Sprintf("task:%d:%s", t.ID, u), Channel: bot.ToUsers, Target: u, MsgType: msgtype, Body: body})
			}
			told := "，已私信通知该部门联络员"
			if len(msgs) == 0 {
				told = "。该部门在组织文件中还没有联络员，请尽快补充"
			} else if err := h.Out.Enqueue(ctx, msgs...); err != nil {
				h.log().ErrorContext(ctx, "queue task notice", "case", c.No, "err", err)
				told = "，但通知联络员的消息暂未发出，请稍后再试或电话告知"
			}
			return fmt.Sprintf("已记录：案件 %s 已转办给%s，办理时限 %s%s。", c.No, t.Department, t.DueOn, told), nil
		},
	}
}

// taskLines lists a department's open tasks for 待办, nearest due first.
func taskLines(ts []cases.Task, today cases.Date, cal *cases.Calendar, max int) []string {
	var out []string
	for i, t := range ts {
		if i == max {
			out = append(out, fmt.Sprintf("……另有 %d 项，请发送“查看 <编号>”逐件查看。", len(ts)-max))
			break
		}
		s := fmt.Sprintf("%d. %s（%s）期限 %s", i+1, t.CaseNo, t.Township, t.DueOn)
		if t.Overdue(today) {
			s += "，" + cal.DueText(t.DueOn, today)
		}
		out = append(out, s)
	}
	return out
}

// taskSummary is how 查看 shows a case's department tasks (private chat only).
func taskSummary(ts []cases.Task) string {
	var b strings.Builder
	for _, t := range ts {
		if t.Status == cases.TaskDone {
			fmt.Fprintf(&b, "\n• %s：已办理（%s）%s", t.Department, t.DoneOn, t.Measure)
		} else {
			fmt.Fprintf(&b, "\n• %s：办理中，期限 %s", t.Department, t.DueOn)
		}
	}
	return b.String()
}
