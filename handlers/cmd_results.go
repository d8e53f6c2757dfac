package handlers

import (
	"context"
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
		return cases.ResultsText(all[0], r.rules()), nil
	}
	return cases.ResultsTable(round, all), nil
}

func (r *Results) rules() cases.Rules {
	if r.Rules != nil {
		return r.Rules
	}
	return cases.DefaultRules()
}
