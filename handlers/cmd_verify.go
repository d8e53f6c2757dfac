package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// verifyCommand is 核查 <编号> 纳入|已在监测|不纳入 <说明>.
func (h *Cases) verifyCommand() *Command {
	const usage = "核查 <编号> 纳入|已在监测|不纳入 <说明>"
	return &Command{
		Name: "核查", Roles: []cases.Role{cases.RoleCadre, cases.RoleLiaison}, Public: 2, Usage: usage,
		Example: "核查 YJ202611-0001 不纳入 家庭年人均收入高于监测标准，无返贫风险",
		Summary: "登记入户核查结论（不纳入必须写明理由）",
		Run: func(ctx context.Context, req Request) (string, error) {
			no, err := caseArg(req, usage)
			if err != nil {
				return "", err
			}
			if len(req.Args) < 2 {
				return "", cases.Errorf(cases.EInvalid, "请写上核查结论（纳入、已在监测或不纳入），例如：核查 %s 纳入 家中有大病患者，医疗支出大", no)
			}
			result, ok := cases.ParseResult(req.Args[1])
			if !ok {
				return "", cases.Errorf(cases.EInvalid, "编号后面应当是核查结论，只能是“纳入”“已在监测”或“不纳入”。格式：%s", usage)
			}
			reason := req.Text(2)
			before, err := h.Ledger.CaseByNo(ctx, no)
			if err != nil {
				return "", err
			}
			c, err := h.Ledger.Transition(ctx, no, req.Actor, cases.Command{
				Action: cases.ActVerify, Result: result, Reason: reason, Now: h.now(),
			}, source(req.Msg))
			if err != nil {
				return "", err
			}
			reply := verifiedReply(c, req.Actor)
			if before.Result != "" {
				// a second 核查 corrects the first: say so, so that nobody thinks both stand
				reply += fmt.Sprintf("（此前登记的核查结论“%s”已被本次更正。）", before.Result)
			}
			return reply, nil
		},
	}
}

// reasonClause is "，说明：<说明>" of a recorded result, without the 说明's own closing stop:
// the reply's sentence ends right after it ("……负担较重。。" otherwise).
func reasonClause(reason string) string {
	if reason == "" {
		return ""
	}
	return "，说明：" + strings.TrimRight(reason, "。.！!；; ")
}

// verifiedReply says what was recorded and what comes next: 录入 is the township cadres'
// (a department's liaison who recorded the result of its case cannot send it).
func verifiedReply(c cases.Case, by cases.Actor) string {
	s := fmt.Sprintf("已登记：案件 %s 核查结论“%s”", c.No, c.Result) + reasonClause(c.Reason)
	if c.Status == cases.StatusClosed {
		return s + "。案件已办结。"
	}
	if by.Role != cases.RoleCadre {
		return s + fmt.Sprintf("。下一步由%s的乡村干部录入全国系统并发送“录入 %s”，录入后案件办结。", c.Township, c.No)
	}
	return s + fmt.Sprintf("。录入全国系统后请发送：录入 %s [日期]（日期不写即今天），录入后案件办结。", c.No)
}
