package handlers

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fangpin/fangpin/cases"
)

// reportCommand is 申报 / 走访 <身份证号> <姓名> <类别> <情况> (docs/held-and-tasks.md): a household the township
// found itself becomes a case at once. The reply repeats none of what was typed.
func (h *Cases) reportCommand(name string, src cases.CaseSource, summary, example string) *Command {
	usage := name + " <身份证号> <姓名> <类别> <情况>"
	return &Command{
		Name: name, Roles: []cases.Role{cases.RoleCadre}, Usage: usage, Example: example, Summary: summary,
		Run: func(ctx context.Context, req Request) (string, error) {
			if req.Msg.InGroup() {
				return "", cases.Errorf(cases.EInvalid, "为保护群众个人信息，%s请私聊我发送，不要在群里发身份证号和家庭情况。本条未登记。", name)
			}
			how := fmt.Sprintf("格式：%s，例如：%s", usage, example)
			if len(req.Args) == 0 && h.links() != nil {
				return fmt.Sprintf("%s需要写身份证号、姓名、类别和情况，中间用空格隔开。%s\n也可以打开表单填写：%s", name, how, h.links().ReportURL(req.Actor.UserID)), nil
			}
			if len(req.Args) < 4 {
				return "", cases.Errorf(cases.EInvalid, "%s需要写身份证号、姓名、类别和情况，中间用空格隔开。%s", name, how)
			}
			r, _, err := SelfFoundInput(src, req.Args[0], req.Args[1], req.Args[2], req.Text(3))
			if err != nil {
				return "", cases.Errorf(cases.EInvalid, "%s本条未登记。%s", cases.ErrorMessage(err), how)
			}
			r.Actor, r.Src = req.Actor, source(req.Msg)
			if h.Announce != nil {
				r.Announce = h.Announce.Announce
			}
			res, err := h.Ledger.ReportSelfFound(ctx, r)
			if err != nil {
				return "", err
			}
			c := res.Case
			var b strings.Builder
			if res.Merged {
				fmt.Fprintf(&b, "已记录：该户已有在办案件 %s，本次%s已作为补充预警加入，办结时限 %s。", c.No, src, c.DueOn)
			} else {
				fmt.Fprintf(&b, "已记录：已新建案件 %s（%s，%s），办结时限 %s。", c.No, src, c.Kind, c.DueOn)
			}
			if len(res.Tasks) > 0 {
				depts := make([]string, len(res.Tasks))
				for i, t := range res.Tasks {
					depts[i] = t.Department
				}
				fmt.Fprintf(&b, "已同时交办%s。", strings.Join(depts, "、"))
			}
			fmt.Fprintf(&b, "核查后请发送：核查 %s 纳入|已在监测|不纳入 <说明>", c.No)
			return b.String(), nil
		},
	}
}

// SelfFoundInput checks what a cadre typed or filled in for 申报/走访. The error names the
// field (id_number, name, category, situation) and says what is wrong, never repeating the ID.
func SelfFoundInput(src cases.CaseSource, rawID, name, word, situation string) (cases.SelfFound, string, error) {
	id := cases.NormalizeIDNumber(rawID)
	if err := cases.ValidateIDNumber(id); err != nil {
		return cases.SelfFound{}, "id_number", cases.Errorf(cases.EInvalid, "%s，请核对。", err.Error())
	}
	name = strings.TrimSpace(name)
	if !plausibleName(name) {
		return cases.SelfFound{}, "name", cases.Errorf(cases.EInvalid, "姓名应为 1 到 20 个字，不含数字。")
	}
	cat, problem, ok := cases.ParseReportWord(word)
	if !ok {
		return cases.SelfFound{}, "category", cases.Errorf(cases.EInvalid, "不认识的类别“%s”，类别只能是：%s。",
			clip(word, 8), strings.Join(cases.ReportWords, "、"))
	}
	situation = strings.TrimSpace(situation)
	if n := utf8.RuneCountInString(situation); n < 4 || n > 500 {
		return cases.SelfFound{}, "situation", cases.Errorf(cases.EInvalid, "请把情况写具体一些（4 到 500 个字）。")
	}
	return cases.SelfFound{Source: src, IDNumber: id, Name: name, Category: cat, Problem: problem, Situation: situation}, "", nil
}

func (h *Cases) applyCommand() *Command {
	return h.reportCommand("申报", cases.SourceApplied, "农户申报：登记主动申请的农户，立即建案",
		"申报 <18位身份证号> 王建国 住房 房屋墙体开裂，雨季漏雨")
}

func (h *Cases) visitCommand() *Command {
	return h.reportCommand("走访", cases.SourceVisit, "干部走访：登记走访中发现的风险户，立即建案",
		"走访 <18位身份证号> 王建国 因病 户主今年住院两次，家庭支出大")
}

// plausibleName accepts what a person's name can look like: 1–20 characters, no digits.
func plausibleName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n == 0 || n > 20 {
		return false
	}
	for _, r := range s {
		if unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// clip shortens what the user typed before a reply quotes it.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
