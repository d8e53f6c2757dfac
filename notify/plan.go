// Package notify plans and sends the reminders of spec §10. Postgres holds every reminder
// (what is due, to whom, and what became of it); Redis holds the schedule, a sorted set that
// workers claim from atomically and that can always be rebuilt from Postgres. Messages leave
// through the Sender interface, in the transaction that marks the reminder sent.
package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

// insertReminders stores planned reminders; a key already stored is left as it is, so
// planning twice is harmless. New rows wait (scheduled = false) for a worker to put them
// into Redis after this transaction commits.
func insertReminders(ctx context.Context, q sqlx.ExtContext, rs []cases.Reminder) error {
	// one statement for all of them: a county round plans tens of thousands
	rs = cases.WithDigests(rs)
	if len(rs) == 0 {
		return nil
	}
	keys, kinds, depts, towns, targets := make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs))
	caseIDs, taskIDs, ats, periods := make([]int64, len(rs)), make([]int64, len(rs)), make([]string, len(rs)), make([]string, len(rs))
	for i, r := range rs {
		keys[i], kinds[i], depts[i], towns[i], targets[i] = r.Key, string(r.Kind), r.Department, r.Township, r.Target
		caseIDs[i], taskIDs[i], ats[i], periods[i] = r.CaseID, r.TaskID, r.At.Format(time.RFC3339Nano), r.Period
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO reminders (key, kind, case_id, department_id, township_id, target, due_at, task_id, period)
		SELECT x.key, x.kind, NULLIF(x.case_id, 0), d.id, t.id, x.target, x.due_at, NULLIF(x.task_id, 0), x.period
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::bigint[], $9::text[])
			AS x(key, kind, case_id, dept, town, target, due_at, task_id, period)
		LEFT JOIN departments d ON x.dept <> '' AND d.name = x.dept
		LEFT JOIN townships t ON x.town <> '' AND t.name = x.town
		ORDER BY x.due_at, x.key
		ON CONFLICT (key) DO NOTHING`,
		pq.Array(keys), pq.Array(kinds), pq.Array(caseIDs), pq.Array(depts), pq.Array(towns), pq.Array(targets), pq.Array(ats), pq.Array(taskIDs), pq.Array(periods))
	if err != nil {
		return fmt.Errorf("plan %d reminders (first %s): %w", len(rs), rs[0].Key, err)
	}
	return nil
}

// cancelCaseReminders cancels every pending reminder of a case; its department tasks' stay:
// they are open until the department has done its part (spec §5).
func cancelCaseReminders(ctx context.Context, q sqlx.ExecerContext, caseID int64, note string) error {
	_, err := q.ExecContext(ctx, `UPDATE reminders SET state = 'cancelled', note = $2 WHERE case_id = $1 AND task_id IS NULL AND state = 'pending'`, caseID, note)
	if err != nil {
		return fmt.Errorf("cancel reminders of case %d: %w", caseID, err)
	}
	return nil
}

// CaseHook plans, cancels and renews a case's reminders inside the transaction of its change
// (register it in db.CaseHooks). On creation (before.ID == 0) it plans them; when the case
// closes it cancels them; when a spot check returns it (new due_on) it cancels the old ones
// and plans new ones. It reads db.Now and db.Cal when it runs, so a test's clock applies.
func CaseHook(db *postgres.DB) postgres.CaseHook {
	return func(ctx context.Context, u cases.Tx, before, after cases.Case) error {
		tx, now := postgres.SQLTx(u), db.Now()
		switch {
		case before.ID == 0:
			return insertReminders(ctx, tx, cases.CaseReminders(after, db.Cal, now))
		case after.Status == cases.StatusClosed && before.Status != cases.StatusClosed:
			return cancelCaseReminders(ctx, tx, after.ID, "案件已办结")
		case after.Status == cases.StatusReturned && (before.Status != cases.StatusReturned || before.DueOn != after.DueOn):
			if err := cancelCaseReminders(ctx, tx, after.ID, "案件被退回重办，按新时限提醒"); err != nil {
				return err
			}
			return insertReminders(ctx, tx, cases.CaseReminders(after, db.Cal, now))
		case after.Status.Open() && before.DueOn != after.DueOn:
			// 补充预警 of a new problem moved due_on: remind by the new date. A reminder of the
			// same day and kind is the same reminder: it comes back if it was cancelled.
			if err := cancelCaseReminders(ctx, tx, after.ID, "办理时限已变更，按新时限提醒"); err != nil {
				return err
			}
			rs := cases.CaseReminders(after, db.Cal, now)
			if err := reviveReminders(ctx, tx, rs); err != nil {
				return err
			}
			return insertReminders(ctx, tx, rs)
		}
		return nil
	}
}

// reviveReminders makes cancelled reminders with these keys pending again.
func reviveReminders(ctx context.Context, q sqlx.ExecerContext, rs []cases.Reminder) error {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	_, err := q.ExecContext(ctx, `UPDATE reminders SET state = 'pending', note = '', scheduled = false
		WHERE key = ANY($1) AND state = 'cancelled'`, pq.Array(keys))
	if err != nil {
		return fmt.Errorf("renew %d reminders: %w", len(keys), err)
	}
	return nil
}

// TaskHook plans a department task's reminders inside the transaction that adds it
// (register it in db.TaskHooks).
func TaskHook(db *postgres.DB) postgres.TaskHook {
	return func(ctx context.Context, u cases.Tx, t cases.Task) error {
		return insertReminders(ctx, postgres.SQLTx(u), cases.TaskReminders(t, db.Cal, db.Now()))
	}
}

// PlanMonth plans the month's department, dispatch and month-end reminders (spec §10) for
// the departments and townships of the org; idempotent.
func PlanMonth(ctx context.Context, db *postgres.DB, month cases.Date) (int, error) {
	var depts []struct {
		Name       string         `db:"name"`
		Categories pq.StringArray `db:"categories"`
	}
	if err := db.SelectContext(ctx, &depts, `SELECT name, categories FROM departments ORDER BY id`); err != nil {
		return 0, fmt.Errorf("plan month %s: departments: %w", month.MonthKey(), err)
	}
	var towns []string
	if err := db.SelectContext(ctx, &towns, `SELECT name FROM townships ORDER BY id`); err != nil {
		return 0, fmt.Errorf("plan month %s: townships: %w", month.MonthKey(), err)
	}
	od := make([]cases.OrgDepartment, len(depts))
	for i, d := range depts {
		od[i].Name = d.Name
		for _, c := range d.Categories {
			od[i].Categories = append(od[i].Categories, cases.Category(c))
		}
	}
	rs := cases.MonthReminders(month, od, towns, db.Cal)
	err := db.InTx(ctx, func(tx *sqlx.Tx) error { return insertReminders(ctx, tx, rs) })
	if err != nil {
		return 0, fmt.Errorf("plan month %s: %w", month.MonthKey(), err)
	}
	return len(rs), nil
}

// Row is one stored reminder, as `fangpin reminders --json` prints it.
type Row struct {
	ID     int64      `db:"id" json:"-"`
	Kind   string     `db:"kind" json:"kind"`
	CaseNo string     `db:"case_no" json:"case_no"`
	Target string     `db:"target" json:"target"`
	DueAt  time.Time  `db:"due_at" json:"due_at"`
	State  string     `db:"state" json:"state"`
	Late   bool       `db:"late" json:"late"`
	SentAt *time.Time `db:"sent_at" json:"sent_at,omitempty"`
	Note   string     `db:"note" json:"note,omitempty"`
}

// ListMonth plans month's cycle on demand (idempotent, also for months ahead) and returns its
// reminders by due moment: push nudges and late notices, the dispatch reminder, the
// month-end and feedback reminders (spec §10, §11 `fangpin reminders --month`).
func ListMonth(ctx context.Context, db *postgres.DB, month cases.Date) ([]Row, error) {
	if _, err := PlanMonth(ctx, db, month); err != nil {
		return nil, err
	}
	var rows []Row
	err := db.SelectContext(ctx, &rows, `SELECT r.id, r.kind, '' AS case_no, r.target, r.due_at, r.state, r.late, r.sent_at, r.note
		FROM reminders r WHERE r.key LIKE $1 ORDER BY r.due_at, r.id`, "month:"+month.MonthKey()+":%")
	if err != nil {
		return nil, fmt.Errorf("list reminders of %s: %w", month.MonthKey(), err)
	}
	for i := range rows {
		rows[i].DueAt = rows[i].DueAt.In(cases.Shanghai)
		if rows[i].SentAt != nil {
			t := rows[i].SentAt.In(cases.Shanghai)
			rows[i].SentAt = &t
		}
	}
	return rows, nil
}

// SentByKind counts the reminders sent, by kind (the demo's closing line).
func SentByKind(ctx context.Context, db *postgres.DB) (map[string]int, error) {
	var rows []struct {
		Kind string `db:"kind"`
		N    int    `db:"n"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT kind, count(*) AS n FROM reminders WHERE state = 'sent' GROUP BY kind`); err != nil {
		return nil, fmt.Errorf("count sent reminders: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Kind] = r.N
	}
	return out, nil
}

// List returns reminders by due moment, all of them or one case's (caseNo != "").
func List(ctx context.Context, db *postgres.DB, caseNo string) ([]Row, error) {
	q := `SELECT r.id, r.kind, COALESCE(c.case_no, '') AS case_no, r.target, r.due_at, r.state, r.late, r.sent_at, r.note
		FROM reminders r LEFT JOIN cases c ON c.id = r.case_id`
	var args []any
	if caseNo != "" {
		q += ` WHERE c.case_no = $1`
		args = append(args, postgres.NormalizeCaseNo(caseNo))
	}
	q += ` ORDER BY r.due_at, r.id`
	var rows []Row
	if err := db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list reminders: %w", err)
	}
	for i := range rows {
		rows[i].DueAt = rows[i].DueAt.In(cases.Shanghai)
		if rows[i].SentAt != nil {
			t := rows[i].SentAt.In(cases.Shanghai)
			rows[i].SentAt = &t
		}
	}
	return rows, nil
}
