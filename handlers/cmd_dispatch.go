package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// dispatchCommand is 交办 [YYYY-MM]: the office runs the round now (docs/dispatch.md).
func (h *Cases) dispatchCommand() *Command {
	return &Command{
		Name: "交办", Roles: []cases.Role{cases.RoleOffice}, Public: 1, Usage: "交办 [YYYY-MM]", Example: "交办 2026-11",
		Summary: "比对初筛并集中交办本月（或指定月份）的预警",
		Run: func(ctx context.Context, req Request) (string, error) {
			opt := cases.DispatchOptions{Date: cases.DateOf(h.now()), Actor: req.Actor, Source: source(req.Msg)}
			if len(req.Args) > 0 {
				if _, err := cases.ParseMonth(req.Args[0]); err != nil {
					return "", cases.Errorf(cases.EInvalid, "月份“%s”的格式不对，请写成 交办 2026-11，或只写“交办”表示本月。", req.Args[0])
				}
				opt.Month = req.Args[0]
			}
			if h.Announce != nil {
				opt.Announce = h.Announce.Announce
			}
			res, err := h.Ledger.Dispatch(ctx, opt)
			if err != nil {
				return "", err
			}
			return dispatchSummary(res, req.Msg.InGroup()), nil
		},
	}
}

// DispatchSummary says what a round did, per township, and lists the held warnings with
// masked ID numbers (the office reads it privately; names stay whole).
func DispatchSummary(res cases.DispatchResult) string { return dispatchSummary(res, false) }

// dispatchSummary masks names too when the reply could reach a group.
func dispatchSummary(res cases.DispatchResult, group bool) string {
	if res.CasesCreated == 0 && res.Merged == 0 && res.Held == 0 && res.Duplicates == 0 {
		return fmt.Sprintf("%s 批次：没有待交办的预警，本次未新建案件。", res.Round)
	}
	var held strings.Builder
	if res.Duplicates > 0 {
		fmt.Fprintf(&held, "\n重复预警 %d 条（同一人、同一类别和问题类型、同一期次，在办案件已有），已并入原案件，未再通知乡镇。", res.Duplicates)
	}
	if res.Held > 0 {
		fmt.Fprintf(&held, "\n比对已核 %d 条（近 6 个月已核查办结、情况无明显变化，未再交办）：", res.Held)
		for i, hw := range res.HeldList {
			if i == 30 {
				fmt.Fprintf(&held, "\n……另有 %d 条", len(res.HeldList)-30)
				break
			}
			name := hw.Name
			if group {
				name = cases.MaskName(name)
			}
			why := hw.Reason
			if why == "" {
				why = "原案件 " + hw.EarlierCase
			}
			fmt.Fprintf(&held, "\n• %s %s（%s）%s：%s", name, cases.MaskIDNumber(hw.IDNumber), hw.Township, hw.Category.GroupLabel(), why)
		}
	}
	if res.CasesCreated == 0 && res.Merged == 0 {
		return fmt.Sprintf("%s 批次：本次未新建案件。", res.Round) + held.String()
	}
	var b strings.Builder
	verb := "已交办"
	if res.DryRun {
		verb = "试算（未实际交办）"
	}
	fmt.Fprintf(&b, "%s 批次%s：新建案件 %d 件，补充预警到在办案件 %d 件，交办部门任务 %d 项。", res.Round, verb, res.CasesCreated, res.Merged, res.DepartmentTasks)
	towns := make([]string, 0, len(res.ByTownship))
	for t := range res.ByTownship {
		towns = append(towns, t)
	}
	sort.Strings(towns)
	for _, t := range towns {
		fmt.Fprintf(&b, "\n• %s：%d 件", t, res.ByTownship[t])
	}
	b.WriteString(held.String())
	if !res.DryRun {
		b.WriteString("\n各乡镇群消息和责任干部私信已排队发送。")
	}
	return b.String()
}
