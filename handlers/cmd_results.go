package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// ResultsStore gives 结果运用's figures (cases/postgres DepartmentResults).
type ResultsStore interface {
	DepartmentResults(ctx context.Context, round, dept string) ([]cases.DepartmentResults, error)
	Today() cases.Date
}

// Results holds 结果 (docs/office.md). Register its Commands on the Router.
type Results struct {
	Store ResultsStore
	Rules cases.Rules // rule names; nil: the defaults
}

// Commands returns 结果 (liaisons: their department; the office: every department).
func (r *Results) Commands() []*Command {
	return []*Command{{Name: "结果", Roles: []cases.Role{cases.RoleLiaison, cases.RoleOffice}, Public: 1, Usage: "结果 [YYYY-MM]",
		Example: "结果 2026-11", Summary: "本部门推送的预警在该月交办中的去向：按规则的预警数、案件数、比对已核、核查结论和常见不纳入理由、部门任务办理（仅数字）",
		Run: r.results}}
}

func (r *Results) results(ctx context.Context, req Request) (string, error) {
	if len(req.Args) > 1 {
		return "", cases.Errorf(cases.EInvalid, "请这样写：结果 [YYYY-MM]，例如：结果 2026-11")
	}
	round := r.Store.Today().MonthKey()
	if len(req.Args) == 1 {
		d, err := cases.ParseMonth(strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "").Replace(req.Args[0]))
		if err != nil {
			return "", cases.Errorf(cases.EInvalid, "月份“%s”看不懂，请写成 YYYY-MM，例如：结果 2026-11", req.Args[0])
		}
		round = d.MonthKey()
	}
	dept := ""
	if req.Actor.Role == cases.RoleLiaison {
		dept = req.Actor.Department
	}
	all, err := r.Store.DepartmentResults(ctx, round, dept)
	if err != nil {
		return "", err
	}
	if dept != "" && len(all) == 1 {
		return ResultsText(all[0], r.rules()), nil
	}
	return ResultsTable(round, all), nil
}

func (r *Results) rules() cases.Rules {
	if r.Rules != nil {
		return r.Rules
	}
	return cases.DefaultRules()
}

// ResultsText is one department's 结果: per rule, then the totals, reasons' words and tasks.
// It names no household.
func ResultsText(d cases.DepartmentResults, rules cases.Rules) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【%s预警结果反馈 · %s交办】", d.Department, monthTitle(d.Round))
	if len(d.Rules) == 0 {
		b.WriteString("\n本轮交办没有本部门推送的预警。")
	}
	for _, x := range d.Rules {
		name := x.Rule
		if rl, ok := rules.Rule(x.Rule); ok {
			name = rl.Name
		}
		fmt.Fprintf(&b, "\n• %s：预警 %d 条，形成案件 %d 件，比对已核 %d 条；纳入 %d，已在监测 %d，不纳入 %d，尚未核查 %d",
			name, x.Pushed, x.Cases, x.Held, x.Included, x.Monitored, x.NotIncluded, x.Open)
	}
	if len(d.Rules) > 1 {
		t := d.Total()
		fmt.Fprintf(&b, "\n合计：预警 %d 条，案件 %d 件，比对已核 %d 条；纳入 %d，已在监测 %d，不纳入 %d，尚未核查 %d",
			t.Pushed, t.Cases, t.Held, t.Included, t.Monitored, t.NotIncluded, t.Open)
	}
	if len(d.Reasons) > 0 {
		fmt.Fprintf(&b, "\n不纳入的常见理由：%s", strings.Join(d.Reasons, "、"))
	}
	if d.TasksDue > 0 {
		fmt.Fprintf(&b, "\n部门任务：%d 项，已办理 %d 项", d.TasksDue, d.TasksDone)
	}
	b.WriteString("\n（仅统计数字，不含农户信息；供优化筛查条件参考）")
	return b.String()
}

// ResultsTable is the county-wide table for the office: one line a department.
func ResultsTable(round string, all []cases.DepartmentResults) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【各部门预警结果反馈 · %s交办】", monthTitle(round))
	for _, d := range all {
		t := d.Total()
		fmt.Fprintf(&b, "\n%s：预警 %d，案件 %d，比对已核 %d，纳入 %d，已在监测 %d，不纳入 %d，未核查 %d，任务 %d/%d",
			d.Department, t.Pushed, t.Cases, t.Held, t.Included, t.Monitored, t.NotIncluded, t.Open, d.TasksDone, d.TasksDue)
		if len(d.Reasons) > 0 {
			fmt.Fprintf(&b, "；不纳入常见理由：%s", strings.Join(d.Reasons, "、"))
		}
	}
	return b.String()
}
