package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// openCases is the open case of every household of a round, and which households had a
// case at all, read in one query: a county round has thousands of households, and a query
// each cost seconds.
type openCases struct {
	open map[string]string // household_key → case_no
	had  map[string]bool
}

func loadOpenCases(ctx context.Context, tx *sqlx.Tx, hs []cases.Household) (openCases, error) {
	keys := make([]string, len(hs))
	for i, h := range hs {
		keys[i] = h.Key
	}
	var rows []struct {
		Key    string `db:"household_key"`
		No     string `db:"case_no"`
		Status string `db:"status"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT household_key, case_no, status FROM cases WHERE household_key = ANY($1)`, pq.Array(keys)); err != nil {
		return openCases{}, fmt.Errorf("cases of the round's households: %w", err)
	}
	o := openCases{open: map[string]string{}, had: map[string]bool{}}
	for _, r := range rows {
		o.had[r.Key] = true
		if cases.Status(r.Status) != cases.StatusClosed {
			o.open[r.Key] = r.No
		}
	}
	return o, nil
}

// hadCase reports whether the household ever had a case (only then can its warnings be held).
func (o openCases) hadCase(key string) bool { return o.had[key] }

// of answers like the single-row query it replaces: the case number, or sql.ErrNoRows.
func (o openCases) of(key string) (string, error) {
	if no, ok := o.open[key]; ok {
		return no, nil
	}
	return "", sql.ErrNoRows
}

// createCases opens a case for each household planned for one (cases.PlanCreate) in a few
// statements whatever their number (numbers in plan order, warnings linked, creation events).
// The caller runs the case hooks on each (runCreated) once it has its department tasks, as
// InsertCase's callers do.
func (db *DB) createCases(ctx context.Context, tx *sqlx.Tx, hs []cases.PlannedHousehold, opt cases.DispatchOptions, at time.Time) ([]cases.Case, error) {
	if len(hs) == 0 {
		return nil, nil
	}
	var last int
	if err := tx.GetContext(ctx, &last, `UPDATE rounds SET last_seq = last_seq + $2 WHERE month = $1 RETURNING last_seq`, opt.Month, len(hs)); err != nil {
		return nil, fmt.Errorf("number %d cases in round %s: %w", len(hs), opt.Month, err)
	}
	n := len(hs)
	nos, kinds, keys, hnos, heads, headIDs, villages, towns, depts := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	details, sources, dues, headSealed := make([]string, n), make([]string, n), make([]cases.Date, n), make([]string, n)
	known, err := knownDepartments(ctx, tx)
	if err != nil {
		return nil, err
	}
	var linkCase []string
	var linkWarning []int64
	for i := range hs {
		h := &hs[i].Household
		nos[i] = cases.CaseNumber(opt.Month, last-n+1+i)
		kinds[i], keys[i], hnos[i] = string(hs[i].Kind), h.Key, h.HouseholdNo
		heads[i], headIDs[i], headSealed[i] = db.Keys.Seal(h.HeadName), db.Keys.IDHash(h.HeadIDNumber), db.Keys.Seal(cases.NormalizeIDNumber(h.HeadIDNumber))
		villages[i], towns[i], sources[i], dues[i] = h.Village, h.Township, string(hs[i].Source), hs[i].DueOn
		if depts[i], err = cases.CaseDepartment(*h, known); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(map[string]any{"kind": hs[i].Kind, "due_on": hs[i].DueOn.String(), "warnings": len(h.WarningIDs()), "source": hs[i].Source})
		details[i] = string(b)
		for _, w := range h.WarningIDs() {
			linkCase, linkWarning = append(linkCase, nos[i]), append(linkWarning, w)
		}
	}
	var rows []struct {
		ID   int64          `db:"id"`
		No   string         `db:"case_no"`
		Dept sql.NullString `db:"department"`
	}
	err = tx.SelectContext(ctx, &rows, `
		INSERT INTO cases (case_no, round, kind, household_key, household_no, head_name, head_id_number, head_id_sealed, village,
			township_id, department_id, status, dispatched_at, due_on, source)
		SELECT x.no, $1, x.kind, x.key, x.hno, x.head, x.head_id, x.head_sealed, x.village, t.id, d.id, 'dispatched', $2, x.due, x.source
		FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
			$3::date[], $13::text[], $14::text[])
			WITH ORDINALITY AS x(no, kind, key, hno, head, head_id, village, town, dept, due, source, head_sealed, i)
		JOIN townships t ON t.name = x.town LEFT JOIN departments d ON x.dept <> '' AND d.name = x.dept
		ORDER BY x.i
		RETURNING id, case_no, (SELECT name FROM departments WHERE id = department_id) AS department`,
		opt.Month, at, pq.Array(dueStrings(dues)), pq.Array(nos), pq.Array(kinds), pq.Array(keys), pq.Array(hnos), pq.Array(heads),
		pq.Array(headIDs), pq.Array(villages), pq.Array(towns), pq.Array(depts), pq.Array(sources), pq.Array(headSealed))
	if err != nil {
		return nil, fmt.Errorf("insert %d cases: %w", n, err)
	}
	if len(rows) != n {
		return nil, fmt.Errorf("insert %d cases: %d inserted (a township unknown?)", n, len(rows))
	}
	ids := map[string]int64{}
	deptOf := map[string]string{}
	for _, r := range rows {
		ids[r.No], deptOf[r.No] = r.ID, r.Dept.String
	}
	for i, no := range nos {
		if depts[i] != "" && deptOf[no] == "" { // an unknown 责任部门 is an error, never a NULL
			return nil, cases.Errorf(cases.ENotFound, "责任部门“%s”不在组织文件中，请核对部门名称。", depts[i])
		}
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE warnings w SET case_id = c.id FROM unnest($1::text[], $2::bigint[]) AS x(no, wid)
		JOIN cases c ON c.case_no = x.no
		WHERE w.id = x.wid AND w.case_id IS NULL`, pq.Array(linkCase), pq.Array(linkWarning))
	if err != nil {
		return nil, fmt.Errorf("link warnings of %d cases: %w", n, err)
	}
	caseIDs := make([]int64, n)
	for i := range nos {
		caseIDs[i] = ids[nos[i]]
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO case_events (case_id, action, from_status, to_status, actor, actor_role, source_msg, detail, at)
		SELECT x.id, $2, '', 'dispatched', $3, $4, $5, x.detail::jsonb, $6
		FROM unnest($1::bigint[], $7::text[]) WITH ORDINALITY AS x(id, detail, i) ORDER BY x.i`,
		pq.Array(caseIDs), string(cases.ActDispatch), opt.Actor.UserID, string(opt.Actor.Role), string(opt.Source), at, pq.Array(details))
	if err != nil {
		return nil, fmt.Errorf("creation events of %d cases: %w", n, err)
	}
	out := make([]cases.Case, n)
	for i := range hs {
		h := &hs[i].Household
		c := cases.Case{ID: caseIDs[i], No: nos[i], Round: opt.Month, Kind: hs[i].Kind, HouseholdKey: h.Key,
			HouseholdNo: h.HouseholdNo, HeadName: h.HeadName, HeadIDNumber: h.HeadIDNumber, Village: h.Village,
			Township: h.Township, Department: deptOf[nos[i]], Status: cases.StatusDispatched,
			Source: hs[i].Source, DispatchedAt: at, DueOn: hs[i].DueOn, Categories: sortedCategories(h.Warnings), Members: sortedMembers(h.Warnings)}
		out[i] = c
	}
	return out, nil
}

func dueStrings(ds []cases.Date) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// sortedCategories and sortedMembers give a new case what caseSelect reads back.
func sortedCategories(ws []cases.WarningFact) []cases.Category {
	seen := map[cases.Category]bool{}
	var out []cases.Category
	for _, w := range ws {
		if !seen[w.Category] {
			seen[w.Category] = true
			out = append(out, w.Category)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedMembers(ws []cases.WarningFact) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		if w.IDNumber != "" && !seen[w.IDNumber] {
			seen[w.IDNumber] = true
			out = append(out, w.IDNumber)
		}
	}
	sort.Strings(out)
	return out
}

// runCreated runs the case hooks on a case just created (before is the zero case).
func (db *DB) runCreated(ctx context.Context, tx *sqlx.Tx, c cases.Case) error {
	if err := db.RunCaseHooks(ctx, tx, cases.Case{}, c); err != nil {
		return fmt.Errorf("after dispatch of %s: %w", c.No, err)
	}
	return nil
}
