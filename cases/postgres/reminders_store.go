package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// The reminders' storage (notify schedules and sends them; docs/reminders.md). Postgres holds every
// reminder: what is due, to whom, and what became of it.

// int64Array passes ids as a Postgres array; never NULL, so "= ANY" is false, not unknown.
func int64Array(ids []int64) any {
	if ids == nil {
		ids = []int64{}
	}
	return pq.Array(ids)
}

func stringArray(s []string) any {
	if s == nil {
		s = []string{}
	}
	return pq.Array(s)
}

// Clock is the store's clock (DB.Now), for those that see the store through an interface.
func (db *DB) Clock() time.Time { return db.Now() }

// Calendar is the store's working-day calendar.
func (db *DB) Calendar() *cases.Calendar { return db.Cal }

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

// PlanReminders stores planned reminders in a transaction of their own (see insertReminders).
func (db *DB) PlanReminders(ctx context.Context, rs []cases.Reminder) error {
	return db.InTx(ctx, func(tx *sqlx.Tx) error { return insertReminders(ctx, tx, rs) })
}

func (u unit) PlanReminders(ctx context.Context, rs []cases.Reminder) error {
	return insertReminders(ctx, u.tx, rs)
}

// CancelCaseReminders cancels every pending reminder of a case; its department tasks' stay:
// they are open until the department has done its part (docs/dispatch.md).
func (u unit) CancelCaseReminders(ctx context.Context, caseID int64, note string) error {
	_, err := u.tx.ExecContext(ctx, `UPDATE reminders SET state = 'cancelled', note = $2 WHERE case_id = $1 AND task_id IS NULL AND state = 'pending'`, caseID, note)
	if err != nil {
		return fmt.Errorf("cancel reminders of case %d: %w", caseID, err)
	}
	return nil
}

// CancelTaskReminders cancels every pending reminder of a department task.
func (u unit) CancelTaskReminders(ctx context.Context, taskID int64, note string) error {
	_, err := u.tx.ExecContext(ctx, `UPDATE reminders SET state = 'cancelled', note = $2 WHERE task_id = $1 AND state = 'pending'`, taskID, note)
	if err != nil {
		return fmt.Errorf("cancel reminders of task %d: %w", taskID, err)
	}
	return nil
}

// ReviveReminders makes cancelled reminders with these keys pending again.
func (u unit) ReviveReminders(ctx context.Context, rs []cases.Reminder) error {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	_, err := u.tx.ExecContext(ctx, `UPDATE reminders SET state = 'pending', note = '', scheduled = false
		WHERE key = ANY($1) AND state = 'cancelled'`, pq.Array(keys))
	if err != nil {
		return fmt.Errorf("renew %d reminders: %w", len(keys), err)
	}
	return nil
}

// ReminderOrg is what planning a month's reminders needs of the org: the departments with
// their categories and the townships' names, in org order.
func (db *DB) ReminderOrg(ctx context.Context) ([]cases.OrgDepartment, []string, error) {
	var depts []struct {
		Name       string         `db:"name"`
		Categories pq.StringArray `db:"categories"`
	}
	if err := db.SelectContext(ctx, &depts, `SELECT name, categories FROM departments ORDER BY id`); err != nil {
		return nil, nil, fmt.Errorf("departments: %w", err)
	}
	var towns []string
	if err := db.SelectContext(ctx, &towns, `SELECT name FROM townships ORDER BY id`); err != nil {
		return nil, nil, fmt.Errorf("townships: %w", err)
	}
	od := make([]cases.OrgDepartment, len(depts))
	for i, d := range depts {
		od[i].Name = d.Name
		for _, c := range d.Categories {
			od[i].Categories = append(od[i].Categories, cases.Category(c))
		}
	}
	return od, towns, nil
}

// PendingReminders lists pending reminders by id: all of them, or only the first limit of
// those not yet in the schedule.
func (db *DB) PendingReminders(ctx context.Context, unscheduledOnly bool, limit int) ([]cases.DueReminder, error) {
	var es []struct {
		ID    int64     `db:"id"`
		DueAt time.Time `db:"due_at"`
	}
	var err error
	if unscheduledOnly {
		err = db.SelectContext(ctx, &es, `SELECT id, due_at FROM reminders WHERE state = 'pending' AND NOT scheduled ORDER BY id LIMIT $1`, limit)
	} else {
		err = db.SelectContext(ctx, &es, `SELECT id, due_at FROM reminders WHERE state = 'pending' ORDER BY id`)
	}
	if err != nil {
		return nil, err
	}
	out := make([]cases.DueReminder, len(es))
	for i, e := range es {
		out[i] = cases.DueReminder{ID: e.ID, DueAt: e.DueAt}
	}
	return out, nil
}

// MarkRemindersScheduled notes that the schedule has these reminders. Rows are locked in id
// order, as FireReminders locks them, so that two workers never deadlock.
func (db *DB) MarkRemindersScheduled(ctx context.Context, ids []int64) error {
	_, err := db.ExecContext(ctx, `UPDATE reminders r SET scheduled = true
		FROM (SELECT id FROM reminders WHERE id = ANY($1) ORDER BY id FOR UPDATE) x WHERE r.id = x.id`, int64Array(ids))
	return err
}

// ReminderKinds gives the kinds of these reminders; ids not stored are left out.
func (db *DB) ReminderKinds(ctx context.Context, ids []int64) (map[int64]cases.ReminderKind, error) {
	var rows []struct {
		ID   int64  `db:"id"`
		Kind string `db:"kind"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT id, kind FROM reminders WHERE id = ANY($1)`, int64Array(ids)); err != nil {
		return nil, fmt.Errorf("kinds of %d reminders: %w", len(ids), err)
	}
	out := make(map[int64]cases.ReminderKind, len(rows))
	for _, r := range rows {
		out[r.ID] = cases.ReminderKind(r.Kind)
	}
	return out, nil
}

type reminderRow struct {
	ID         int64          `db:"id"`
	Key        string         `db:"key"`
	Kind       string         `db:"kind"`
	CaseID     sql.NullInt64  `db:"case_id"`
	Department sql.NullString `db:"department"`
	Township   sql.NullString `db:"township"`
	Target     string         `db:"target"`
	DueAt      time.Time      `db:"due_at"`
	State      string         `db:"state"`
	TaskID     sql.NullInt64  `db:"task_id"`
	Period     string         `db:"period"`
}

func (r reminderRow) stored() cases.StoredReminder {
	return cases.StoredReminder{ID: r.ID, Kind: cases.ReminderKind(r.Kind), CaseID: r.CaseID.Int64, Department: r.Department.String,
		Township: r.Township.String, Target: r.Target, DueAt: r.DueAt, State: r.State, TaskID: r.TaskID.Int64, Period: r.Period}
}

func storedReminders(rows []reminderRow) []cases.StoredReminder {
	out := make([]cases.StoredReminder, len(rows))
	for i, r := range rows {
		out[i] = r.stored()
	}
	return out
}

const reminderSelect = `SELECT r.id, r.key, r.kind, r.case_id, d.name AS department, t.name AS township, r.target, r.due_at, r.state, r.task_id, r.period
	FROM reminders r LEFT JOIN departments d ON d.id = r.department_id LEFT JOIN townships t ON t.id = r.township_id
	WHERE r.id = ANY($1)`

// digestedKinds lists the kinds a digest carries, for "kind = ANY($n)".
func digestedKinds() any {
	var ks []string
	for _, k := range cases.DigestedKinds() {
		ks = append(ks, string(k))
	}
	return stringArray(ks)
}

// FireReminders is the claim→fire transaction of claimed reminders. It locks case → reminder,
// as a case transition does, so that the two never deadlock: first the cases of the pending
// reminders and of the reminders their digests carry, share-locked in id order; then every
// one of those reminders still pending, in one statement in id order (two workers locking in
// the same order never deadlock). Then fire decides each one's fate through tx — messages
// queued, reminders marked sent or cancelled, the next ones planned — and all of it commits
// together, or none of it when fire fails.
//
// A claimed reminder waiting for its township's digest, pending and not claimed here, is the
// digest's to send: it is neither locked nor handed to fire (fire would only let it wait), so
// that at 09:00 the many claims of digested reminders cost one look, not a lock each.
func (db *DB) FireReminders(ctx context.Context, ids []int64, now time.Time, fire cases.FireFunc) error {
	return db.InTx(ctx, func(tx *sqlx.Tx) error {
		var peek []reminderRow
		if err := tx.SelectContext(ctx, &peek, reminderSelect, int64Array(ids)); err != nil {
			return fmt.Errorf("claimed reminders: %w", err)
		}
		waiting, err := waitingForDigest(ctx, tx, peek)
		if err != nil {
			return err
		}
		var caseIDs, lockIDs []int64
		for _, r := range peek {
			if r.State != "pending" || waiting[r.ID] {
				continue
			}
			lockIDs = append(lockIDs, r.ID)
			if r.CaseID.Valid {
				caseIDs = append(caseIDs, r.CaseID.Int64)
			}
			if cases.ReminderKind(r.Kind) == cases.RemindDigest {
				carried, cs, err := digestCarries(ctx, tx, r, now)
				if err != nil {
					return err
				}
				caseIDs = append(caseIDs, cs...)
				lockIDs = append(lockIDs, carried...)
			}
		}
		// Lock order case → reminder, as in a case transition, so the two never deadlock: a case
		// closing now either cancels its reminders first or waits until they are sent.
		byCase, err := loadReminderCases(ctx, tx, db.Keys, caseIDs)
		if err != nil {
			return err
		}
		var locked []reminderRow
		if len(lockIDs) > 0 {
			if err := tx.SelectContext(ctx, &locked, reminderSelect+` AND r.state = 'pending' ORDER BY r.id FOR UPDATE OF r`, int64Array(lockIDs)); err != nil {
				return fmt.Errorf("lock reminders: %w", err)
			}
		}
		return fire(ctx, reminderTx{unit{tx, db.Keys}}, storedReminders(locked), byCase)
	})
}

// waitingForDigest picks, of claimed reminders, the pending digested ones whose digest is
// pending and not among them: one look for the whole batch. The look takes no lock: a
// digest that commits meanwhile has carried them (they were pending and due), and one that
// fails stays pending and carries them later.
func waitingForDigest(ctx context.Context, tx *sqlx.Tx, rs []reminderRow) (map[int64]bool, error) {
	claimed := map[string]bool{}
	for _, r := range rs {
		if cases.ReminderKind(r.Kind) == cases.RemindDigest && r.State == "pending" {
			claimed[r.Key] = true
		}
	}
	var keys []string
	for _, r := range rs {
		if k := digestKeyOf(r); k != "" && !claimed[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	pending, err := pendingKeys(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, r := range rs {
		if k := digestKeyOf(r); k != "" && pending[k] {
			out[r.ID] = true
		}
	}
	return out, nil
}

// digestKeyOf is the key of the digest a pending digested reminder travels in; "" for the others.
func digestKeyOf(r reminderRow) string {
	if r.State != "pending" || !cases.ReminderKind(r.Kind).Digested() || !r.Township.Valid {
		return ""
	}
	return cases.DigestKey(r.Target, cases.DateOf(r.DueAt))
}

// digestCarries lists the reminders a digest would carry and their cases, so that
// FireReminders can lock the cases and then every reminder it touches in one statement, in
// id order.
func digestCarries(ctx context.Context, tx *sqlx.Tx, d reminderRow, now time.Time) (ids, caseIDs []int64, err error) {
	day := cases.DateOf(d.DueAt)
	var rows []struct {
		ID     int64         `db:"id"`
		CaseID sql.NullInt64 `db:"case_id"`
	}
	err = tx.SelectContext(ctx, &rows, `SELECT id, case_id FROM reminders
		WHERE target = $1 AND kind = ANY($2) AND state = 'pending' AND due_at >= $3 AND due_at < $4 AND due_at <= $5`,
		d.Target, digestedKinds(), day.At(0, 0), day.AddDays(1).At(0, 0), now)
	if err != nil {
		return nil, nil, fmt.Errorf("digest %s: reminders: %w", d.Target, err)
	}
	for _, r := range rows {
		ids = append(ids, r.ID)
		if r.CaseID.Valid {
			caseIDs = append(caseIDs, r.CaseID.Int64)
		}
	}
	return ids, caseIDs, nil
}

// loadReminderCases reads and share-locks the cases of claimed reminders, in id order. The
// cases carry what a reminder says of them, never an ID number, a diagnosis or an amount.
func loadReminderCases(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, ids []int64) (map[int64]cases.Case, error) {
	out := map[int64]cases.Case{}
	if len(ids) == 0 {
		return out, nil
	}
	var rs []struct {
		ID       int64      `db:"id"`
		No       string     `db:"case_no"`
		HeadName string     `db:"head_name"`
		Village  string     `db:"village"`
		Township string     `db:"township"`
		Status   string     `db:"status"`
		Result   string     `db:"result"`
		DueOn    cases.Date `db:"due_on"`
		Returns  int        `db:"returns"`
		Round    string     `db:"round"`
		Resp     string     `db:"responsible"`
	}
	err := tx.SelectContext(ctx, &rs, `
		SELECT c.id, c.case_no, c.head_name, c.village, t.name AS township, c.status, c.result, c.due_on, c.returns, c.round, c.responsible
		FROM cases c JOIN townships t ON t.id = c.township_id WHERE c.id = ANY($1) ORDER BY c.id FOR SHARE OF c`, int64Array(ids))
	if err != nil {
		return nil, fmt.Errorf("cases of reminders: %w", err)
	}
	for _, r := range rs {
		if r.HeadName, err = k.Open(r.HeadName); err != nil {
			return nil, openErr("户主姓名", err)
		}
		out[r.ID] = cases.Case{ID: r.ID, No: r.No, HeadName: r.HeadName, Village: r.Village, Township: r.Township,
			Status: cases.Status(r.Status), Result: cases.Result(r.Result), DueOn: r.DueOn, Returns: r.Returns, Round: r.Round, Responsible: r.Resp}
	}
	return out, nil
}

// reminderTx is the claim→fire transaction as notify sees it (cases.ReminderTx).
type reminderTx struct{ unit }

var _ cases.ReminderTx = reminderTx{}

func (t reminderTx) DigestReminders(ctx context.Context, target string, day cases.Date, now time.Time) ([]cases.StoredReminder, error) {
	var rows []reminderRow
	err := t.tx.SelectContext(ctx, &rows, `SELECT r.id, r.key, r.kind, r.case_id, d.name AS department, t.name AS township, r.target, r.due_at, r.state, r.task_id, r.period
		FROM reminders r LEFT JOIN departments d ON d.id = r.department_id LEFT JOIN townships t ON t.id = r.township_id
		WHERE r.target = $1 AND r.kind = ANY($2) AND r.state = 'pending' AND r.due_at >= $3 AND r.due_at < $4 AND r.due_at <= $5
		ORDER BY r.id FOR UPDATE OF r`,
		target, digestedKinds(), day.At(0, 0), day.AddDays(1).At(0, 0), now)
	if err != nil {
		return nil, fmt.Errorf("digest %s: lock reminders: %w", target, err)
	}
	return storedReminders(rows), nil
}

func (t reminderTx) KeyStates(ctx context.Context, keys []string) (map[string]string, error) {
	return keyStates(ctx, t.tx, keys)
}

// pendingKeys reports which of the reminder keys are pending.
func pendingKeys(ctx context.Context, tx *sqlx.Tx, keys []string) (map[string]bool, error) {
	states, err := keyStates(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for k, s := range states {
		out[k] = s == "pending"
	}
	return out, nil
}

// keyStates gives the state of those of the reminder keys that exist.
func keyStates(ctx context.Context, tx *sqlx.Tx, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	var rows []struct {
		Key   string `db:"key"`
		State string `db:"state"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT key, state FROM reminders WHERE key = ANY($1)`, stringArray(keys)); err != nil {
		return nil, fmt.Errorf("reminders among %d keys: %w", len(keys), err)
	}
	for _, r := range rows {
		out[r.Key] = r.State
	}
	return out, nil
}

func (t reminderTx) DepartmentCategories(ctx context.Context, dept string) ([]cases.Category, error) {
	var cats pq.StringArray
	if err := t.tx.GetContext(ctx, &cats, `SELECT categories FROM departments WHERE name = $1`, dept); err != nil {
		return nil, fmt.Errorf("categories of %s: %w", dept, err)
	}
	out := make([]cases.Category, len(cats))
	for i, c := range cats {
		out[i] = cases.Category(c)
	}
	return out, nil
}

func (t reminderTx) DepartmentPushes(ctx context.Context, dept string) ([]cases.Push, error) {
	return DepartmentPushes(ctx, t.tx, dept)
}

func (t reminderTx) RoundDispatched(ctx context.Context, month string) (bool, error) {
	var n int
	if err := t.tx.GetContext(ctx, &n, `SELECT count(*) FROM rounds WHERE month = $1 AND dispatched`, month); err != nil {
		return false, fmt.Errorf("round %s: %w", month, err)
	}
	return n > 0, nil
}

func (t reminderTx) CarryOver(ctx context.Context, month, township string, today cases.Date) ([]cases.CarryOverCase, error) {
	return CarryOver(ctx, t.tx, t.keys, month, township, today)
}

func (t reminderTx) TaskByID(ctx context.Context, id int64) (cases.Task, error) {
	var r struct {
		Department string     `db:"department"`
		Status     string     `db:"status"`
		DueOn      cases.Date `db:"due_on"`
	}
	if err := t.tx.GetContext(ctx, &r, `SELECT department, status, due_on FROM department_tasks WHERE id = $1`, id); err != nil {
		return cases.Task{}, err
	}
	return cases.Task{ID: id, Department: r.Department, Status: cases.TaskStatus(r.Status), DueOn: r.DueOn}, nil
}

func (t reminderTx) GroupRecipients(ctx context.Context, names []string) (map[string]cases.Township, map[string][]string, error) {
	var ts []townshipRow
	if err := t.tx.SelectContext(ctx, &ts, `SELECT id, name, aliases, formerly, appchat_id, webhook_key FROM townships WHERE name = ANY($1)`, stringArray(names)); err != nil {
		return nil, nil, fmt.Errorf("townships of %d groups: %w", len(names), err)
	}
	// the cadres as usersOf lists them, for many townships at once
	var us []struct {
		UserID   string `db:"userid"`
		Township string `db:"township"`
	}
	err := t.tx.SelectContext(ctx, &us, `SELECT u.userid, t.name AS township FROM users u JOIN townships t ON t.id = u.township_id
		WHERE u.role = $1 AND t.name = ANY($2) ORDER BY u.userid`, string(cases.RoleCadre), stringArray(names))
	if err != nil {
		return nil, nil, fmt.Errorf("cadres of %d groups: %w", len(names), err)
	}
	chats := make(map[string]cases.Township, len(ts))
	for _, r := range ts {
		chats[r.Name] = r.township()
	}
	cadres := map[string][]string{}
	for _, u := range us {
		cadres[u.Township] = append(cadres[u.Township], u.UserID)
	}
	return chats, cadres, nil
}

func (t reminderTx) UserNames(ctx context.Context, ids []string) (map[string]string, error) {
	var rows []struct {
		UserID string `db:"userid"`
		Name   string `db:"name"`
	}
	if err := t.tx.SelectContext(ctx, &rows, `SELECT userid, name FROM users WHERE userid = ANY($1)`, stringArray(ids)); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.UserID] = r.Name
	}
	return out, nil
}

func (t reminderTx) MarkRemindersSent(ctx context.Context, ids, late []int64, at time.Time) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE reminders SET state = 'sent', sent_at = $2, late = (id = ANY($3)) WHERE id = ANY($1)`,
		int64Array(ids), at, int64Array(late))
	if err != nil {
		return fmt.Errorf("mark %d reminders sent: %w", len(ids), err)
	}
	return nil
}

func (t reminderTx) CancelReminders(ctx context.Context, ids []int64, notes []string) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE reminders r SET state = 'cancelled', note = x.note
		FROM unnest($1::bigint[], $2::text[]) AS x(id, note) WHERE r.id = x.id`, int64Array(ids), pq.Array(notes))
	if err != nil {
		return fmt.Errorf("cancel %d reminders: %w", len(ids), err)
	}
	return nil
}

// ListReminders returns reminders by due moment: all of them, one case's (caseNo != ""), or
// those whose key starts with keyPrefix (keyPrefix != "", e.g. a month's cycle "month:2026-11:").
func (db *DB) ListReminders(ctx context.Context, caseNo, keyPrefix string) ([]cases.ReminderListing, error) {
	var rows []struct {
		ID     int64      `db:"id"`
		Kind   string     `db:"kind"`
		CaseNo string     `db:"case_no"`
		Target string     `db:"target"`
		DueAt  time.Time  `db:"due_at"`
		State  string     `db:"state"`
		Late   bool       `db:"late"`
		SentAt *time.Time `db:"sent_at"`
		Note   string     `db:"note"`
	}
	var err error
	if keyPrefix != "" {
		err = db.SelectContext(ctx, &rows, `SELECT r.id, r.kind, '' AS case_no, r.target, r.due_at, r.state, r.late, r.sent_at, r.note
			FROM reminders r WHERE r.key LIKE $1 ORDER BY r.due_at, r.id`, keyPrefix+"%")
	} else {
		q := `SELECT r.id, r.kind, COALESCE(c.case_no, '') AS case_no, r.target, r.due_at, r.state, r.late, r.sent_at, r.note
			FROM reminders r LEFT JOIN cases c ON c.id = r.case_id`
		var args []any
		if caseNo != "" {
			q += ` WHERE c.case_no = $1`
			args = append(args, cases.NormalizeCaseNo(caseNo))
		}
		q += ` ORDER BY r.due_at, r.id`
		err = db.SelectContext(ctx, &rows, q, args...)
	}
	if err != nil {
		return nil, err
	}
	out := make([]cases.ReminderListing, len(rows))
	for i, r := range rows {
		out[i] = cases.ReminderListing{ID: r.ID, Kind: r.Kind, CaseNo: r.CaseNo, Target: r.Target, DueAt: r.DueAt.In(cases.Shanghai),
			State: r.State, Late: r.Late, Note: r.Note}
		if r.SentAt != nil {
			t := r.SentAt.In(cases.Shanghai)
			out[i].SentAt = &t
		}
	}
	return out, nil
}

// SentRemindersByKind counts the reminders sent, by kind.
func (db *DB) SentRemindersByKind(ctx context.Context) (map[string]int, error) {
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
