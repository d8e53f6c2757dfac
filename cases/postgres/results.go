package postgres

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// DepartmentResults is 结果运用 for round (docs/office.md): for each department (or only
// dept), per rule, the warnings it pushed that the round took (made or joined a case, or
// held as 比对已核), what the cases' verification found, its tasks on them and the
// commonest words of the 不纳入 reasons. Counts only.
func (db *DB) DepartmentResults(ctx context.Context, round, dept string) ([]cases.DepartmentResults, error) {
	var rows []struct {
		Dept        string `db:"dept"`
		Rule        string `db:"rule"`
		Pushed      int    `db:"pushed"`
		Cases       int    `db:"cases"`
		Held        int    `db:"held"`
		Included    int    `db:"included"`
		Monitored   int    `db:"monitored"`
		NotIncluded int    `db:"not_included"`
		Open        int    `db:"open"`
	}
	err := db.SelectContext(ctx, &rows, `
		SELECT d.name AS dept, w.rule, count(*) AS pushed,
			count(DISTINCT c.id) FILTER (WHERE w.held_round = '') AS cases,
			count(*) FILTER (WHERE w.held_round <> '') AS held,
			count(DISTINCT c.id) FILTER (WHERE w.held_round = '' AND c.result = 'include') AS included,
			count(DISTINCT c.id) FILTER (WHERE w.held_round = '' AND c.result = 'monitored') AS monitored,
			count(DISTINCT c.id) FILTER (WHERE w.held_round = '' AND c.result = 'exclude') AS not_included,
			count(DISTINCT c.id) FILTER (WHERE w.held_round = '' AND c.result = '') AS open
		FROM warnings w JOIN batches b ON b.id = w.batch_id JOIN departments d ON d.id = b.department_id
		JOIN cases c ON c.id = w.case_id
		WHERE w.rule <> '' AND ($2 = '' OR d.name = $2)
			AND ((w.held_round = '' AND c.round = $1) OR w.held_round = $1)
		GROUP BY d.name, w.rule ORDER BY d.name, w.rule`, round, dept)
	if err != nil {
		return nil, fmt.Errorf("results of %s: %w", round, err)
	}
	var names []string
	if dept != "" {
		names = []string{dept}
	} else if err := db.SelectContext(ctx, &names, `SELECT name FROM departments ORDER BY id`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	out := make([]cases.DepartmentResults, len(names))
	at := map[string]int{}
	for i, n := range names {
		out[i] = cases.DepartmentResults{Department: n, Round: round}
		at[n] = i
	}
	for _, r := range rows {
		i, ok := at[r.Dept]
		if !ok {
			continue
		}
		out[i].Rules = append(out[i].Rules, cases.RuleResult{Rule: r.Rule, Pushed: r.Pushed, Cases: r.Cases, Held: r.Held,
			Included: r.Included, Monitored: r.Monitored, NotIncluded: r.NotIncluded, Open: r.Open})
	}
	var tasks []struct {
		Dept string `db:"dept"`
		Due  int    `db:"due"`
		Done int    `db:"done"`
	}
	if err := db.SelectContext(ctx, &tasks, `
		SELECT t.department AS dept, count(*) AS due, count(*) FILTER (WHERE t.status = 'done') AS done
		FROM department_tasks t JOIN cases c ON c.id = t.case_id
		WHERE c.round = $1 AND t.department = ANY($2) GROUP BY t.department`, round, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", round, err)
	}
	for _, t := range tasks {
		out[at[t.Dept]].TasksDue, out[at[t.Dept]].TasksDone = t.Due, t.Done
	}
	var reasons []struct {
		Dept   string `db:"dept"`
		ID     int64  `db:"id"`
		Reason string `db:"reason"`
	}
	if err := db.SelectContext(ctx, &reasons, `
		SELECT DISTINCT d.name AS dept, c.id, c.reason
		FROM warnings w JOIN batches b ON b.id = w.batch_id JOIN departments d ON d.id = b.department_id
		JOIN cases c ON c.id = w.case_id
		WHERE w.rule <> '' AND w.held_round = '' AND c.round = $1 AND c.result = 'exclude' AND d.name = ANY($2)`,
		round, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("reasons of %s: %w", round, err)
	}
	by := map[string][]string{}
	for _, r := range reasons {
		reason, err := openText(db.Keys, r.Reason, "核查说明")
		if err != nil {
			return nil, err
		}
		by[r.Dept] = append(by[r.Dept], reason)
	}
	for d, rs := range by {
		out[at[d]].Reasons = cases.ReasonWords(rs, 3)
	}
	return out, nil
}
