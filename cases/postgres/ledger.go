package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// caseRow is a cases row joined with its township and department names.
type caseRow struct {
	ID           int64          `db:"id"`
	No           string         `db:"case_no"`
	Round        string         `db:"round"`
	Kind         string         `db:"kind"`
	HouseholdKey string         `db:"household_key"`
	HouseholdNo  string         `db:"household_no"`
	HeadName     string         `db:"head_name"`
	HeadID       string         `db:"head_id_number"` // the keyed hash (a number stored before sealing)
	HeadSealed   string         `db:"head_id_sealed"`
	Village      string         `db:"village"`
	Township     string         `db:"township"`
	Department   sql.NullString `db:"department"`
	Responsible  string         `db:"responsible"`
	Status       string         `db:"status"`
	Result       string         `db:"result"`
	Reason       string         `db:"reason"`
	DispatchedAt time.Time      `db:"dispatched_at"`
	DueOn        cases.Date     `db:"due_on"`
	VerifiedAt   *time.Time     `db:"verified_at"`
	EnteredOn    *cases.Date    `db:"entered_on"`
	ClosedAt     *time.Time     `db:"closed_at"`
	Returns      int            `db:"returns"`
	Categories   pq.StringArray `db:"categories"`
	Members      pq.StringArray `db:"members"`
	Source       string         `db:"source"`
	TaskDepts    pq.StringArray `db:"task_departments"`

	OriginalDueOn *cases.Date `db:"original_due_on"`
}

// caseSelect reads cases with the names and the categories and members of their warnings.
const caseSelect = `
	SELECT c.id, c.case_no, c.round, c.kind, c.household_key, c.household_no, c.head_name, c.head_id_number, c.head_id_sealed,
		c.village, t.name AS township, d.name AS department, c.status, c.result, c.reason, c.dispatched_at,
		c.due_on, c.verified_at, c.entered_on, c.closed_at, c.returns, c.original_due_on, c.responsible,
		COALESCE((SELECT array_agg(DISTINCT w.category ORDER BY w.category) FROM warnings w WHERE w.case_id = c.id), '{}') AS categories,
		COALESCE((SELECT array_agg(DISTINCT ` + sealedIDOf + `) FROM warnings w WHERE w.case_id = c.id AND w.id_number <> ''), '{}') AS members,
		c.source,
		COALESCE((SELECT array_agg(DISTINCT dt.department ORDER BY dt.department) FROM department_tasks dt WHERE dt.case_id = c.id), '{}') AS task_departments
	FROM cases c JOIN townships t ON t.id = c.township_id LEFT JOIN departments d ON d.id = c.department_id`

// toCase opens the row's person (docs/encryption.md).
func (r caseRow) toCase(k *seal.Keyring) (cases.Case, error) {
	headID, err := openID(k, r.HeadSealed, r.HeadID)
	if err != nil {
		return cases.Case{}, err
	}
	if r.HeadName, err = k.Open(r.HeadName); err != nil {
		return cases.Case{}, openErr("户主姓名", err)
	}
	members, err := openMembers(k, r.Members)
	if err != nil {
		return cases.Case{}, err
	}
	if r.Reason, err = openText(k, r.Reason, "核查说明"); err != nil {
		return cases.Case{}, err
	}
	c := cases.Case{
		ID: r.ID, No: r.No, Round: r.Round, Kind: cases.Kind(r.Kind), HouseholdKey: r.HouseholdKey,
		HouseholdNo: r.HouseholdNo, HeadName: r.HeadName, HeadIDNumber: headID, Village: r.Village,
		Township: r.Township, Department: r.Department.String, Status: cases.Status(r.Status),
		Result: cases.Result(r.Result), Reason: r.Reason, DispatchedAt: r.DispatchedAt, DueOn: r.DueOn,
		VerifiedAt: r.VerifiedAt, EnteredOn: r.EnteredOn, ClosedAt: r.ClosedAt, Returns: r.Returns,
		Members: members, OriginalDueOn: r.OriginalDueOn, Responsible: r.Responsible,
		Source: cases.CaseSource(r.Source), TaskDepartments: []string(r.TaskDepts),
	}
	for _, cat := range r.Categories {
		c.Categories = append(c.Categories, cases.Category(cat))
	}
	return c, nil
}

// openMembers opens a case's warnings' ID numbers, sorted, without repeats. An anonymized
// warning (retention) keeps only the hash, which stands for the person.
func openMembers(k *seal.Keyring, sealed []string) ([]string, error) {
	out := make([]string, 0, len(sealed))
	seen := make(map[string]bool, len(sealed))
	for _, s := range sealed {
		id, err := k.Open(s)
		if err != nil {
			return nil, openErr("身份证号", err)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

// CaseByNo loads one case; an unknown number is ENotFound with a Chinese message.
func (db *DB) CaseByNo(ctx context.Context, no string) (cases.Case, error) {
	return caseByNo(ctx, db.DB, db.Keys, cases.NormalizeCaseNo(no), false)
}

func caseByNo(ctx context.Context, q sqlx.QueryerContext, k *seal.Keyring, no string, forUpdate bool) (cases.Case, error) {
	query := caseSelect + ` WHERE c.case_no = $1`
	if forUpdate {
		query += ` FOR UPDATE OF c`
	}
	var r caseRow
	err := sqlx.GetContext(ctx, q, &r, query, no)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Case{}, cases.Errorf(cases.ENotFound, "没有找到编号为 %s 的案件，请核对编号（形如 YJ202611-0001）。", no)
	}
	if err != nil {
		return cases.Case{}, fmt.Errorf("load case %s: %w", no, err)
	}
	return r.toCase(k)
}

// ListCases returns cases nearest due first, then by number.
func (db *DB) ListCases(ctx context.Context, f cases.CaseFilter) ([]cases.Case, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Round != "" {
		where = append(where, "c.round = "+arg(f.Round))
	}
	if f.Township != "" {
		// a name, an alias or a former name (docs/registry.md) finds the township
		a := arg(f.Township)
		where = append(where, "(t.name = "+a+" OR "+a+" = ANY(t.aliases) OR "+a+" = ANY(t.formerly))")
	}
	if f.Department != "" {
		where = append(where, "d.name = "+arg(f.Department))
	}
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ss[i] = string(s)
		}
		where = append(where, "c.status = ANY("+arg(pq.Array(ss))+")")
	}
	if f.OpenOnly {
		where = append(where, "c.status <> 'closed'")
	}
	if f.DueBefore != nil {
		where = append(where, "c.due_on < "+arg(*f.DueBefore))
	}
	q := caseSelect
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY c.due_on, c.case_no"
	var rows []caseRow
	if err := db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out := make([]cases.Case, len(rows))
	for i, r := range rows {
		c, err := r.toCase(db.Keys)
		if err != nil {
			return nil, fmt.Errorf("list cases: %w", err)
		}
		out[i] = c
	}
	return out, nil
}

// Transition applies one command to a case under a row lock: the domain decides, and the
// new state, its audit event and every hook's work commit together or not at all.
func (db *DB) Transition(ctx context.Context, no string, actor cases.Actor, cmd cases.Command, src cases.Source) (cases.Case, error) {
	return db.transition(ctx, no, actor, cmd, src)
}

// transition is Transition with the caller's own hooks for this change (extra).
func (db *DB) transition(ctx context.Context, no string, actor cases.Actor, cmd cases.Command, src cases.Source, extra ...cases.CaseHook) (cases.Case, error) {
	if cmd.Now.IsZero() {
		cmd.Now = db.Now()
	}
	var after cases.Case
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		after, err = db.transitionTx(ctx, tx, no, actor, cmd, src, extra...)
		return err
	})
	if err != nil {
		return cases.Case{}, err
	}
	return after, nil
}

// reopenable refuses to reopen a closed case (抽查不合格) while its household has another
// open case: a household has one open case at a time (cases_open_household), and the
// update would fail on it.
func reopenable(ctx context.Context, tx *sqlx.Tx, c cases.Case) error {
	var other string
	err := tx.GetContext(ctx, &other, `SELECT case_no FROM cases WHERE household_key = $1 AND status <> 'closed' AND id <> $2 LIMIT 1`,
		c.HouseholdKey, c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open case of %s: %w", c.HouseholdKey, err)
	}
	return cases.Errorf(cases.EConflict, "案件 %s 暂不能退回重办：该户已有在办案件 %s，同一户同时只能有一件在办。"+
		"请乡镇在 %s 中一并重新核查；%s 办结后，可再对 %s 登记抽查不合格。", c.No, other, other, other, c.No)
}

// TransitionTx is Transition on a transaction the caller owns (a dispatch round adds
// warnings to open cases inside its own transaction). cmd.Now must be set.
func (db *DB) TransitionTx(ctx context.Context, tx *sqlx.Tx, no string, actor cases.Actor, cmd cases.Command, src cases.Source) (cases.Case, error) {
	return db.transitionTx(ctx, tx, no, actor, cmd, src)
}

// transitionTx is TransitionTx with the caller's own hooks for this change (extra), run
// after the store's.
func (db *DB) transitionTx(ctx context.Context, tx *sqlx.Tx, no string, actor cases.Actor, cmd cases.Command, src cases.Source, extra ...cases.CaseHook) (cases.Case, error) {
	before, err := caseByNo(ctx, tx, db.Keys, cases.NormalizeCaseNo(no), true)
	if err != nil {
		return cases.Case{}, err
	}
	after, err := cases.Apply(before, actor, cmd, db.Cal)
	if err != nil {
		return cases.Case{}, err
	}
	if before.Status == cases.StatusClosed && after.Status != cases.StatusClosed {
		if err := reopenable(ctx, tx, before); err != nil {
			return cases.Case{}, err
		}
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE cases SET status = $2, result = $3, reason = $4, due_on = $5, verified_at = $6,
			entered_on = $7, closed_at = $8, returns = $9, original_due_on = $10, version = version + 1
		WHERE id = $1`,
		after.ID, string(after.Status), string(after.Result), sealText(db.Keys, after.Reason), after.DueOn,
		after.VerifiedAt, after.EnteredOn, after.ClosedAt, after.Returns, after.OriginalDueOn)
	if err != nil {
		return cases.Case{}, fmt.Errorf("update case %s: %w", after.No, err)
	}
	detail := map[string]any{}
	if cmd.Result != "" {
		detail["result"] = cmd.Result
	}
	if cmd.Reason != "" {
		detail["reason"] = cmd.Reason
	}
	if after.EnteredOn != nil && cmd.Action == cases.ActEnter {
		detail["entered_on"] = after.EnteredOn.String()
	}
	if after.DueOn != before.DueOn { // returned by a spot check, or a new problem merged
		detail["due_on"] = after.DueOn.String()
	}
	if err := InsertEvent(ctx, tx, db.Keys, after.ID, cmd.Action, before.Status, after.Status, actor, src, cmd.Now, detail); err != nil {
		return cases.Case{}, err
	}
	if err := db.RunCaseHooks(ctx, tx, before, after, extra...); err != nil {
		return cases.Case{}, fmt.Errorf("after %s of %s: %w", cmd.Action, after.No, err)
	}
	return after, nil
}

// InsertEvent writes one audit event.
func InsertEvent(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, caseID int64, action cases.Action, from, to cases.Status, actor cases.Actor, src cases.Source, at time.Time, detail map[string]any) error {
	b, err := sealEventDetail(k, detail)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO case_events (case_id, action, from_status, to_status, actor, actor_role, source_msg, detail, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		caseID, string(action), string(from), string(to), actor.UserID, string(actor.Role), string(src), b, at)
	if err != nil {
		return fmt.Errorf("audit event: %w", err)
	}
	return nil
}

// Events returns a case's audit trail, oldest first.
func (db *DB) Events(ctx context.Context, caseID int64) ([]cases.Event, error) {
	var es []cases.Event
	err := db.SelectContext(ctx, &es, `
		SELECT id, action, from_status, to_status, actor, actor_role, source_msg, detail, at
		FROM case_events WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("events of case %d: %w", caseID, err)
	}
	for i := range es {
		if es[i].Detail, err = openEventDetail(db.Keys, es[i].Detail); err != nil {
			return nil, fmt.Errorf("events of case %d: %w", caseID, err)
		}
	}
	return es, nil
}

// NewCase is what a dispatch round needs to open a case.
type NewCase struct {
	Round        string
	Kind         cases.Kind
	HouseholdKey string
	HouseholdNo  string
	HeadName     string
	HeadIDNumber string
	Village      string
	Township     string
	Department   string // '' unless routed to a 责任部门
	DispatchedAt time.Time
	DueOn        cases.Date
	WarningIDs   []int64
	Source       cases.CaseSource // '' is 部门筛查
}

// InsertCase numbers and creates a case inside a dispatch round's transaction, links its
// warnings and writes the creation event. The round row must exist (EnsureRound).
func InsertCase(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, n NewCase, actor cases.Actor, src cases.Source) (id int64, no string, err error) {
	var seq int
	if err = tx.QueryRowxContext(ctx, `UPDATE rounds SET last_seq = last_seq + 1 WHERE month = $1 RETURNING last_seq`, n.Round).Scan(&seq); err != nil {
		return 0, "", fmt.Errorf("number case in round %s: %w", n.Round, err)
	}
	no = cases.CaseNumber(n.Round, seq)
	var dept any
	if n.Department != "" {
		// an unknown 责任部门 is an error, never a case without its department
		var id int
		if err = tx.GetContext(ctx, &id, `SELECT id FROM departments WHERE name = $1`, n.Department); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, "", cases.Errorf(cases.ENotFound, "责任部门“%s”不在组织文件中，请核对部门名称。", n.Department)
			}
			return 0, "", fmt.Errorf("department %s of case %s: %w", n.Department, no, err)
		}
		dept = id
	}
	if n.Source == "" {
		n.Source = cases.SourceScreening
	}
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO cases (case_no, round, kind, household_key, household_no, head_name, head_id_number, head_id_sealed, village,
			township_id, department_id, status, dispatched_at, due_on, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT id FROM townships WHERE name = $10),
			$11, 'dispatched', $12, $13, $14)
		RETURNING id`,
		no, n.Round, string(n.Kind), n.HouseholdKey, n.HouseholdNo, k.Seal(n.HeadName), k.IDHash(n.HeadIDNumber),
		k.Seal(cases.NormalizeIDNumber(n.HeadIDNumber)), n.Village,
		n.Township, dept, n.DispatchedAt, n.DueOn, string(n.Source)).Scan(&id)
	if err != nil {
		return 0, "", fmt.Errorf("insert case %s: %w", no, err)
	}
	if err = LinkWarnings(ctx, tx, id, n.WarningIDs); err != nil {
		return 0, "", err
	}
	err = InsertEvent(ctx, tx, k, id, cases.ActDispatch, "", cases.StatusDispatched, actor, src, n.DispatchedAt,
		map[string]any{"kind": n.Kind, "due_on": n.DueOn.String(), "warnings": len(n.WarningIDs), "source": n.Source})
	return id, no, err
}

// LinkWarnings attaches warnings to a case (补充预警 uses it for an open case too).
func LinkWarnings(ctx context.Context, tx *sqlx.Tx, caseID int64, warningIDs []int64) error {
	if len(warningIDs) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE warnings SET case_id = $1 WHERE id = ANY($2) AND case_id IS NULL`, caseID, pq.Array(warningIDs))
	if err != nil {
		return fmt.Errorf("link warnings to case %d: %w", caseID, err)
	}
	return nil
}

// EnsureRound creates the month's round with its dispatch day, or returns the existing one.
// A round that so far only numbered a township's own cases (EnsureNumbering) becomes
// dispatched on day on.
func EnsureRound(ctx context.Context, tx *sqlx.Tx, month string, on cases.Date) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO rounds (month, dispatched_on) VALUES ($1, $2)
		ON CONFLICT (month) DO UPDATE SET dispatched_on = EXCLUDED.dispatched_on, dispatched = true
		WHERE NOT rounds.dispatched`, month, on)
	if err != nil {
		return fmt.Errorf("round %s: %w", month, err)
	}
	return nil
}

// EnsureNumbering makes the month's round row exist for numbering a case the township found
// itself (申报/走访) without marking the office's round as dispatched.
func EnsureNumbering(ctx context.Context, tx *sqlx.Tx, month string, on cases.Date) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO rounds (month, dispatched_on, dispatched) VALUES ($1, $2, false) ON CONFLICT (month) DO NOTHING`, month, on)
	if err != nil {
		return fmt.Errorf("numbering of %s: %w", month, err)
	}
	return nil
}

// unfinishedQuery reads earlier months' cases that were still open when month $1 ended
// (closed after its last day, or not closed at all): the ledger's 往月未办结. A case is
// taken as it is now; one closed before the month's end and returned by a spot check after
// it counts as open.
const unfinishedQuery = factSelect + `
	WHERE c.round < $1 AND c.kind <> 'sweep' AND (c.closed_at IS NULL OR c.closed_at >= $2)
	ORDER BY c.round, c.case_no`

// MonthLedger reads what the month's ledger prints: the month's assessment (Assess) and the
// earlier months' cases still open at its end, with how many working days each was overdue
// then (or today, while the month is in progress).
func (db *DB) MonthLedger(ctx context.Context, month string) (cases.MonthLedger, error) {
	a, err := db.Assess(ctx, month)
	if err != nil {
		return cases.MonthLedger{}, err
	}
	l := cases.MonthLedger{Assessment: a}
	first, _ := cases.ParseMonth(a.Month)
	next := first.LastOfMonth().AddDays(1)
	var rows []factRow
	if err := db.SelectContext(ctx, &rows, unfinishedQuery, a.Month, next.At(0, 0)); err != nil {
		return l, fmt.Errorf("ledger %s: earlier months' open cases: %w", a.Month, err)
	}
	if len(rows) == 0 {
		return l, nil
	}
	nos := make([]string, len(rows))
	for i, r := range rows {
		nos[i] = r.No
	}
	tasks, err := db.tasksWhere(ctx, `c.case_no = ANY($1)`, pq.Array(nos))
	if err != nil {
		return l, fmt.Errorf("ledger %s: tasks of earlier months' cases: %w", a.Month, err)
	}
	today := cases.DateOf(a.AsOf)
	asOf := first.LastOfMonth()
	if today.Before(asOf) {
		asOf = today
	}
	for _, r := range rows {
		if err := r.open(db.Keys); err != nil {
			return l, fmt.Errorf("ledger %s: %w", a.Month, err)
		}
		f := r.fact(today)
		f.Tasks = tasks[f.No]
		u := cases.UnfinishedCase{CaseFact: f}
		if n := cases.DaysOverdue(f.Case(), asOf, db.Cal); n > 0 {
			u.DaysOverdue = n
		}
		l.Unfinished = append(l.Unfinished, u)
	}
	return l, nil
}
