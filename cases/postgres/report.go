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

// The assessment (考核) of one month. Everything that reports on a month — `fangpin report`,
// the office's 进度 and 统计, the ledger's sheets and the month-end feedback summary — is
// derived from Assess, so the figures can never disagree with each other. The rules
// themselves are pure functions of package cases (cases.OnTime, cases.Late, cases.FedBack,
// cases.PushDeadline, cases.RoundDue, cases.ScoreTownship, cases.ScoreDepartment); this file
// only gathers the facts. docs/assessment.md explains them for the office.
//
// Definitions (all "as of" the store's clock, db.Now):
//   - the month's cases are the cases of round M (dispatched in the month's 集中交办);
//   - closed: status closed now;
//   - on_time / overdue: cases.OnTime and cases.Late — by the 录入 date typed, or the day a
//     不纳入 was recorded; a returned case by its new due date. Every case is exactly one of
//     on_time, overdue, or pending (open, not yet due);
//   - on_time_rate: on_time / (on_time + overdue); null when no deadline has been decided;
//   - spot_checked: cases with a spot-check result (合格 or 不合格) recorded for the month,
//     open or closed; spot_failed: those found 不合格 at least once (even if passed later);
//   - feedback_rate: share of the month's cases whose 核查结论 was first recorded by the
//     month's last day (cases.FedBack); null when the month has no cases;
//   - owing_result: cases without a 核查结论 (dispatched or returned) — each still owes a
//     result, and a 不纳入 would owe its written reason (a 不纳入 without reason cannot be stored);
//   - owing_entry: 纳入/已在监测 cases not yet entered into the national system.

// factRow is the assessment query's row.
type factRow struct {
	No            string         `db:"case_no"`
	Round         string         `db:"round"`
	Kind          string         `db:"kind"`
	Source        string         `db:"source"`
	Township      string         `db:"township"`
	Village       string         `db:"village"`
	HeadName      string         `db:"head_name"`
	HouseholdNo   string         `db:"household_no"`
	HeadID        string         `db:"head_id_number"`
	HeadSealed    string         `db:"head_id_sealed"`
	HouseholdKind string         `db:"household_kind"`
	Department    sql.NullString `db:"department"`
	Status        string         `db:"status"`
	Result        string         `db:"result"`
	Reason        string         `db:"reason"`
	DispatchedAt  time.Time      `db:"dispatched_at"`
	DueOn         cases.Date     `db:"due_on"`
	OriginalDueOn *cases.Date    `db:"original_due_on"`
	VerifiedAt    *time.Time     `db:"verified_at"`
	FirstResultAt *time.Time     `db:"first_result_at"`
	EnteredOn     *cases.Date    `db:"entered_on"`
	ClosedAt      *time.Time     `db:"closed_at"`
	Returns       int            `db:"returns"`
	Categories    pq.StringArray `db:"categories"`
	Sources       pq.StringArray `db:"sources"`
	SpotResult    sql.NullString `db:"spot_result"`
	SpotFailures  sql.NullInt64  `db:"spot_failures"`
	SpotBy        sql.NullString `db:"spot_by"`
	SpotAt        *time.Time     `db:"spot_at"`
}

// factSelect reads cases with their categories, source departments, the household's 户类型
// in the registry (by its 户编号, else by the head's ID number), the first recorded result
// and the spot check of the case's own month.
const factSelect = `
	SELECT c.case_no, c.round, c.kind, c.source, t.name AS township,
		c.village, c.head_name, c.household_no, c.head_id_number, c.head_id_sealed, d.name AS department, c.status, c.result,
		COALESCE((SELECT h.kind FROM registry_households h WHERE h.household_no = c.household_no),
			(SELECT h.kind FROM registry_members m JOIN registry_households h ON h.household_no = m.household_no
				WHERE c.head_id_number <> '' AND m.id_number = c.head_id_number LIMIT 1), '') AS household_kind,
		c.reason, c.dispatched_at, c.due_on, c.original_due_on, c.verified_at, c.entered_on, c.closed_at, c.returns,
		(SELECT min(e.at) FROM case_events e WHERE e.case_id = c.id AND e.action = 'verify') AS first_result_at,
		COALESCE((SELECT array_agg(DISTINCT w.category ORDER BY w.category) FROM warnings w WHERE w.case_id = c.id), '{}') AS categories,
		COALESCE((SELECT array_agg(DISTINCT sd.name ORDER BY sd.name) FROM warnings w
			JOIN batches b ON b.id = w.batch_id JOIN departments sd ON sd.id = b.department_id
			WHERE w.case_id = c.id), '{}') AS sources,
		s.result AS spot_result, s.failures AS spot_failures, COALESCE(u.name, '') AS spot_by, s.decided_at AS spot_at
	FROM cases c
	JOIN townships t ON t.id = c.township_id
	LEFT JOIN departments d ON d.id = c.department_id
	LEFT JOIN spot_checks s ON s.case_id = c.id AND s.month = c.round
	LEFT JOIN users u ON u.userid = s.supervisor`

// assessQuery reads the month's cases. It is the one query every report is built on.
const assessQuery = factSelect + `
	WHERE c.round = $1 AND c.kind <> 'sweep'
	ORDER BY c.case_no`

// Assess computes the month's assessment as of the store's clock.
func (db *DB) Assess(ctx context.Context, month string) (cases.Assessment, error) {
	first, err := cases.ParseMonth(month)
	if err != nil {
		return cases.Assessment{}, cases.Errorf(cases.EInvalid, "%v", err)
	}
	month = first.MonthKey()
	now := db.Now()
	today := cases.DateOf(now)
	a := cases.Assessment{Month: month, AsOf: now}
	if a.County, err = db.County(ctx); err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}

	var rows []factRow
	if err := db.SelectContext(ctx, &rows, assessQuery, month); err != nil {
		return a, fmt.Errorf("assess %s: cases: %w", month, err)
	}
	tasks, err := db.monthTasks(ctx, month)
	if err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	towns, err := db.Townships(ctx)
	if err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	names := make([]string, len(towns))
	for i, t := range towns {
		names[i] = t.Name
	}
	for _, r := range rows {
		if err := r.open(db.Keys); err != nil {
			return a, fmt.Errorf("assess %s: %w", month, err)
		}
		f := r.fact(today)
		f.Tasks = tasks[f.No]
		a.Cases = append(a.Cases, f)
	}
	a.ScoreCases(names, first, today)
	if a.Departments, err = db.pushScores(ctx, first); err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	cases.ScoreDepartments(a.Departments, tasks, today)
	if a.Office, err = db.officeScore(ctx, first, today); err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	if a.Sweeps, a.AreaSweeps, err = db.sweepFacts(ctx, month, today); err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	return a, nil
}

// open opens the row's head (docs/encryption.md) in place.
func (r *factRow) open(k *seal.Keyring) error {
	id, err := openID(k, r.HeadSealed, r.HeadID)
	if err != nil {
		return err
	}
	r.HeadID = id
	if r.HeadName, err = k.Open(r.HeadName); err != nil {
		return openErr("户主姓名", err)
	}
	r.Reason, err = openText(k, r.Reason, "核查说明")
	return err
}

func (r factRow) fact(today cases.Date) cases.CaseFact {
	f := cases.CaseFact{
		No: r.No, Round: r.Round, Kind: cases.Kind(r.Kind), Source: cases.CaseSource(r.Source), Township: r.Township, Village: r.Village,
		HeadName: r.HeadName, HouseholdNo: r.HouseholdNo, HeadIDNumber: r.HeadID, HouseholdKind: r.HouseholdKind,
		Department: r.Department.String, Status: cases.Status(r.Status), Result: cases.Result(r.Result),
		Reason: r.Reason, DispatchedAt: r.DispatchedAt, DueOn: r.DueOn, OriginalDueOn: r.OriginalDueOn,
		VerifiedAt: r.VerifiedAt, FirstResultAt: r.FirstResultAt, EnteredOn: r.EnteredOn,
		ClosedAt: r.ClosedAt, Returns: r.Returns, SourceDepartments: []string(r.Sources),
		SpotResult: cases.SpotResult(r.SpotResult.String), SpotPicked: r.SpotResult.Valid, SpotFailures: int(r.SpotFailures.Int64),
		SpotBy: r.SpotBy.String,
	}
	if r.SpotAt != nil {
		d := cases.DateOf(*r.SpotAt)
		f.SpotOn = &d
	}
	// In the seed's order (因病 before 两不愁三保障), as the office reads them.
	for _, k := range cases.Categories {
		for _, c := range r.Categories {
			if cases.Category(c) == k {
				f.Categories = append(f.Categories, k)
			}
		}
	}
	for _, c := range r.Categories {
		if !cases.Category(c).Valid() {
			f.Categories = append(f.Categories, cases.Category(c))
		}
	}
	c := f.Case()
	f.Judged = cases.OnTime(c)
	f.OnTime = f.Judged != nil && *f.Judged
	f.Overdue = cases.Late(c, today)
	f.FedBack = cases.FedBack(r.Round, f.FirstResultAt)
	return f
}

// Push deadlines (docs/rules.md and docs/reminders.md), as scored in the report of month M. The deadlines are the
// domain's (cases.PushDeadline), the same the reminders use:
//   - monthly categories (medical, serious_illness, employment, assistance, population): the
//     data of period P is due by the 5th of P+1, moved to the next working day. Month M's
//     report scores the pushes due in M, i.e. period M−1 — the data month M's round is built on;
//   - education: once a year by 30 April (moved likewise); scored in April's report (the 学年
//     ending that summer, or any YYYY-MM of that year);
//   - epidemic: every push received in M is due within 3 days of its events; a push marked
//     late at import counts as due and not on time;
//   - the other "promptly" categories (disaster, industry, assurance) follow events the
//     system cannot know before the push arrives; they are not scored.
//
// A push counts once per department, category and period however many batches came, and for
// the period it names, never for the day it arrived; it is on time when its first batch
// arrived by the deadline. Before its deadline a push not yet received is not counted: there
// is nothing to measure yet. A department is only scored for the categories the org file
// gives it.
func (db *DB) pushScores(ctx context.Context, first cases.Date) ([]cases.DepartmentScore, error) {
	var depts []struct {
		Name       string         `db:"name"`
		Categories pq.StringArray `db:"categories"`
	}
	if err := db.SelectContext(ctx, &depts, `SELECT name, categories FROM departments ORDER BY id`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	today := cases.DateOf(db.Now())
	out := make([]cases.DepartmentScore, 0, len(depts))
	for _, d := range depts {
		pushes, err := DepartmentPushes(ctx, db, d.Name)
		if err != nil {
			return nil, err
		}
		cats := make([]cases.Category, len(d.Categories))
		for i, c := range d.Categories {
			cats[i] = cases.Category(c)
		}
		ds := cases.DepartmentScore{Name: d.Name, Pushes: cases.PushesDue(db.Cal, cats, pushes, first, today)}
		for _, p := range ds.Pushes {
			ds.PushesDue++
			if p.OnTime {
				ds.PushesOnTime++
			}
		}
		out = append(out, ds)
	}
	return out, nil
}

// DepartmentPushes lists a department's batches as pushes (category, period, arrival, late),
// for cases.Pushed: the reminders and the assessment read them the same way.
func DepartmentPushes(ctx context.Context, q sqlx.QueryerContext, dept string) ([]cases.Push, error) {
	var rows []struct {
		Category   string    `db:"category"`
		Period     string    `db:"period"`
		ReceivedAt time.Time `db:"received_at"`
		Late       bool      `db:"late"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT b.category, b.period, b.received_at, b.late
		FROM batches b JOIN departments d ON d.id = b.department_id WHERE d.name = $1 ORDER BY b.received_at`, dept)
	if err != nil {
		return nil, fmt.Errorf("pushes of %s: %w", dept, err)
	}
	out := make([]cases.Push, len(rows))
	for i, r := range rows {
		out[i] = cases.Push{Category: cases.Category(r.Category), Period: r.Period, ReceivedAt: r.ReceivedAt, Late: r.Late}
	}
	return out, nil
}

// monthTasks reads the department tasks (交办给相关部门, docs/dispatch.md) of the month's cases, by case
// number. A department with no task due has its task part left out of its score.
func (db *DB) monthTasks(ctx context.Context, month string) (map[string][]cases.Task, error) {
	ts, err := db.tasksWhere(ctx, `c.round = $1`, month)
	if err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", month, err)
	}
	return ts, nil
}

// tasksWhere reads the department tasks of the cases matching cond (on cases c, with $1 as
// arg), by case number.
func (db *DB) tasksWhere(ctx context.Context, cond string, arg any) (map[string][]cases.Task, error) {
	var rows []struct {
		CaseNo     string      `db:"case_no"`
		Department string      `db:"department"`
		DueOn      cases.Date  `db:"due_on"`
		DoneOn     *cases.Date `db:"done_on"`
		Measure    string      `db:"measure"`
	}
	err := db.SelectContext(ctx, &rows, `
		SELECT c.case_no, k.department, k.due_on, k.done_on, k.measure
		FROM department_tasks k JOIN cases c ON c.id = k.case_id
		WHERE `+cond+` ORDER BY c.case_no, k.department, k.id`, arg)
	if err != nil {
		return nil, err
	}
	out := map[string][]cases.Task{}
	for _, r := range rows {
		measure, err := openText(db.Keys, r.Measure, "办理措施")
		if err != nil {
			return nil, err
		}
		out[r.CaseNo] = append(out[r.CaseNo], cases.Task{CaseNo: r.CaseNo, Department: r.Department,
			DueOn: r.DueOn, DoneOn: r.DoneOn, Measure: measure})
	}
	return out, nil
}

// officeScore is the month's round against its deadline, the 10th (cases.RoundDue). A round
// row that only numbers a township's own cases (rounds.dispatched false, issue 12) is not a
// dispatch; the column is read through to_jsonb so the query works before it exists.
func (db *DB) officeScore(ctx context.Context, first, today cases.Date) (cases.OfficeScore, error) {
	o := cases.OfficeScore{Deadline: cases.DispatchDeadlineOf(first)}
	var on []cases.Date
	err := db.SelectContext(ctx, &on, `
		SELECT r.dispatched_on FROM rounds r
		WHERE r.month = $1 AND COALESCE((to_jsonb(r)->>'dispatched')::boolean, true)`, first.MonthKey())
	if err != nil {
		return o, fmt.Errorf("round %s: %w", first.MonthKey(), err)
	}
	if len(on) > 0 {
		o.DispatchedOn = &on[0]
	}
	due, onTime := cases.RoundDue(first, o.DispatchedOn, today)
	if due {
		o.RoundsDue = 1
	}
	if onTime {
		o.RoundsOnTime = 1
	}
	return o, nil
}
