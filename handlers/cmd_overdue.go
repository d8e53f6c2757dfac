package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// overdueCommand is 逾期: the office's list of open cases past due, by township.
func (h *Cases) overdueCommand() *Command {
	return &Command{
		Name: "逾期", Roles: []cases.Role{cases.RoleOffice, cases.RoleLeader}, Usage: "逾期",
		Summary: "各乡镇已逾期未办结的案件",
		Run: func(ctx context.Context, req Request) (string, error) {
			today, cal := cases.DateOf(h.now()), h.cal()
			// a group answers only for its own township (docs/privacy.md)
			cs, err := h.Ledger.ListCases(ctx, cases.CaseFilter{OpenOnly: true, DueBefore: &today, Township: req.GroupTownship})
			if err != nil {
				return "", err
			}
			ts, err := h.Ledger.OverdueTasks(ctx, today)
			if err != nil {
				return "", err
			}
			if req.GroupTownship != "" {
				var mine []cases.Task
				for _, t := range ts {
					if t.Township == req.GroupTownship {
						mine = append(mine, t)
					}
				}
				ts = mine
			}
			if len(cs) == 0 {
				return fmt.Sprintf("截至 %s，没有逾期未办结的案件。", today) + overdueTasks(ts, today, h.cal()), nil
			}
			by := map[string][]cases.Case{}
			for _, c := range cs {
				by[c.Township] = append(by[c.Township], c)
			}
			towns := make([]string, 0, len(by))
			for t := range by {
				towns = append(towns, t)
			}
			sort.Strings(towns)
			var b strings.Builder
			fmt.Fprintf(&b, "截至 %s，逾期未办结 %d 件：", today, len(cs))
			for _, t := range towns {
				fmt.Fprintf(&b, "\n%s %d 件：", t, len(by[t]))
				for _, c := range by[t] {
					who := c.HeadName
					// leaders see masked names only, even privately (docs/office.md)
					if req.Msg.InGroup() || req.Actor.Role == cases.RoleLeader {
						who = cases.MaskName(c.HeadName)
					}
					if who == "" {
						who = "区域排查"
					}
					fmt.Fprintf(&b, "\n  %s %s 期限 %s，%s，%s", c.No, who, c.DueOn, cal.DueText(c.DueOn, today), c.Status.Label())
				}
			}
			return b.String() + overdueTasks(ts, today, h.cal()), nil
		},
	}
}

// overdueTasks lists the departments' overdue tasks for 逾期 (no names: numbers only).
func overdueTasks(ts []cases.Task, today cases.Date, cal *cases.Calendar) string {
	if len(ts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n部门任务逾期未办理 %d 项：", len(ts))
	for i, t := range ts {
		if i == 0 || ts[i-1].Department != t.Department {
			fmt.Fprintf(&b, "\n%s：", t.Department)
		}
		fmt.Fprintf(&b, "\n  %s（%s）期限 %s，%s", t.CaseNo, t.Township, t.DueOn, cal.DueText(t.DueOn, today))
	}
	return b.String()
}
