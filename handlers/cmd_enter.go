package handlers

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/cases"
)

// enterCommand is 录入 <编号> [日期]: entry into the national system closes the case.
func (h *Cases) enterCommand() *Command {
	const usage = "录入 <编号> [日期]"
	return &Command{
		Name: "录入", Roles: []cases.Role{cases.RoleCadre}, Public: 2, Usage: usage, Example: "录入 YJ202611-0001 2026-11-20",
		Summary: "登记已录入全国系统（日期默认今天），案件办结",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			var d cases.Date
			if len(req.Args) > 1 {
				if d, err = cases.ParseDate(req.Args[1]); err != nil {
					return "", cases.Errorf(cases.EInvalid, "日期“%s”看不懂，请写成 2026-11-20 这样的格式，或不写日期表示今天。", req.Args[1])
				}
			}
			c, err := h.Ledger.Transition(ctx, no, req.Actor, cases.Command{Action: cases.ActEnter, Date: d, Now: h.now()}, source(req.Msg))
			if err != nil {
				return "", err
			}
			s := fmt.Sprintf("已登记：案件 %s 于 %s 录入全国系统，案件已办结", c.No, c.EnteredOn)
			if ot := cases.OnTime(c); ot != nil && *ot {
				return s + "（按时）。", nil
			}
			return s + fmt.Sprintf("（录入日期晚于办理时限 %s）。", c.DueOn), nil
		},
	}
}
