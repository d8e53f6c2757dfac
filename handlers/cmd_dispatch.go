package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

// dispatchCommand is 交办 [YYYY-MM]: the office runs the round now (spec §5).
func (h *Cases) dispatchCommand() *Command {
	return &Command{
		Name: "交办", Roles: []cases.Role{cases.RoleOffice}, Public: 1, Usage: "交办 [YYYY-MM]", Example: "交办 2026-11",
		Summary: "比对初筛并集中交办本月（或指定月份）的预警",
		Run: func(ctx context.Context, req Request) (string, error) {
			opt := postgres.DispatchOptions{Date: cases.DateOf(h.now()), Actor: req.Actor, Source: source(req.Msg)}
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
			return DispatchSummary(res), nil
		},
	}
}

// DispatchSummary says what a round did, per township.
func DispatchSummary(res postgres.DispatchResult) string {
	if res.CasesCreated == 0 && res.Merged == 0 {
		return fmt.Sprintf("%s 批次：没有待交办的预警，本次未新建案件。", res.Round)
	}
	var b strings.Builder
	verb := "已交办"
	if res.DryRun {
		verb = "试算（未实际交办）"
	}
	fmt.Fprintf(&b, "%s 批次%s：新建案件 %d 件，补充预警到在办案件 %d 件。", res.Round, verb, res.CasesCreated, res.Merged)
	towns := make([]string, 0, len(res.ByTownship))
	for t := range res.ByTownship {
		towns = append(towns, t)
	}
	sort.Strings(towns)
	for _, t := range towns {
		fmt.Fprintf(&b, "\n• %s：%d 件", t, res.ByTownship[t])
	}
	if !res.DryRun {
		b.WriteString("\n各乡镇群消息和责任干部私信已排队发送。")
	}
	return b.String()
}
