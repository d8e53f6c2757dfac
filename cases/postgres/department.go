package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// knownDepartments is the set of departments in the org file.
func knownDepartments(ctx context.Context, q sqlx.QueryerContext) (map[string]bool, error) {
	var names []string
	if err := sqlx.SelectContext(ctx, q, &names, `SELECT name FROM departments`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	return known, nil
}

// caseDepartment is the 责任部门 a household's new case is routed to, empty for none. A
// department a row names in its 责任部门 column must be in the org file: an unknown one is an
// error, never a case without its department. One that only the 问题类型 implies (饮水安全 →
// 水利局, docs/dispatch.md) is none when the county's org file lacks it, as its task is (addTask).
func caseDepartment(h cases.Household, known map[string]bool) (string, error) {
	if h.Department == "" || known[h.Department] {
		return h.Department, nil
	}
	for _, w := range h.Warnings {
		if w.Category == cases.CatAssurance && strings.TrimSpace(w.Detail["责任部门"]) == h.Department {
			return "", cases.Errorf(cases.ENotFound, "责任部门“%s”不在组织文件中，请核对部门名称。", h.Department)
		}
	}
	return "", nil
}
