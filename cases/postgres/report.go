package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// The assessment (考核) of one month. Everything that reports on a month — `fangpin report`,
// the office's 进度 and 统计, the ledger's 汇总 sheet and the month-end feedback summary — is
// derived from Assess, so the figures can never disagree with each other.
//
// Definitions (all "as of" the store's clock, db.Now):
//   - the month's cases are the cases of round M (dispatched in the month's 集中交办);
//   - closed: status closed now;
//   - on_time: closed on or before due_on (Asia/Shanghai dates);
//   - overdue: missed due_on — closed after it, or still open after it. So every case is
//     exactly one of on_time, overdue, or pending (open, not yet due);
//   - on_time_rate: on_time / (on_time + overdue), the share of cases whose deadline has been
//     decided that met it (按时办结率); 0 when no case has been decided yet;
//   - spot_checked: cases with a spot-check result (合格 or 不合格) recorded for the month;
//   - spot_failed: cases found 不合格 at least once for the month (even if they passed later);
//   - owing_result: cases without a 核查结论 (dispatched or returned) — each still owes a
//     result, and a 不纳入 would owe its written reason (a 不纳入 without reason cannot be stored);
//   - owing_entry: 纳入/已在监测 cases not yet entered into the national system.

// CaseFact is one case of the month with everything the assessment and the ledger need.
type CaseFact struct {
	No                string
	Township          string
	Village           string
	HeadName          string
	Department        string // 责任部门, for assurance cases
	Status            cases.Status
	Result            cases.Result
	Reason            string
	DispatchedAt      time.Time
	DueOn             cases.Date
	EnteredOn         *cases.Date
	ClosedAt          *time.Time
	Returns           int
	Categories        []cases.Category
	SourceDepartments []string // departments whose pushes raised the case's warnings
	SpotResult        string   // '', 合格, 不合格 (latest)
	SpotPicked        bool     // a spot_checks row exists for the month
	SpotFailures      int
	OnTime            bool
	Overdue           bool
}

// TownshipScore is one township's figures. The JSON is exactly spec §11's; the other
// fields are for the chat replies and the month-end summary.
type TownshipScore struct {
	Name        string  `json:"name"`
	Dispatched  int     `json:"dispatched"`
	Closed      int     `json:"closed"`
	OnTime      int     `json:"on_time"`
	Overdue     int     `json:"overdue"`
	OnTimeRate  float64 `json:"on_time_rate"`
	SpotChecked int     `json:"spot_checked"`
	SpotFailed  int     `json:"spot_failed"`

	Verified    int `json:"-"` // status verified now (result recorded, awaiting 录入)
	Returned    int `json:"-"` // status returned now
	OwingResult int `json:"-"`
	OwingEntry  int `json:"-"`
	Excluded    int `json:"-"` // 不纳入, each with its reason
}

// Decided is the on-time rate's denominator.
func (t TownshipScore) Decided() int { return t.OnTime + t.Overdue }

// DepartmentScore is one department's push timeliness for the month (spec §11).
type DepartmentScore struct {
	Name         string `json:"name"`
	PushesDue    int    `json:"pushes_due"`
	PushesOnTime int    `json:"pushes_on_time"`

	Pushes []PushDue `json:"-"`
}

// PushDue is one push a department owed with a deadline in the month.
type PushDue struct {
	Category cases.Category
	Period   string // the data's YYYY-MM (education: the year's April)
	Deadline cases.Date
	Received *time.Time // first batch for it, if any
	OnTime   bool
}

// CategoryCount is one line of 统计: the month's cases of a category by result.
type CategoryCount struct {
	Category  cases.Category
	Cases     int
	Include   int // 纳入
	Monitored int // 已在监测
	Exclude   int // 不纳入
	Pending   int // no result yet
}

// Assessment is a month's assessment.
type Assessment struct {
	Month       string            `json:"-"`
	AsOf        time.Time         `json:"-"`
	Townships   []TownshipScore   `json:"townships"`
	Departments []DepartmentScore `json:"departments"`
	Categories  []CategoryCount   `json:"-"` // only categories with cases, in spec order
	Total       CategoryCount     `json:"-"` // every case once (Category empty)
	Cases       []CaseFact        `json:"-"` // by case number
	// 区域排查 tasks (§5c), counted apart from households: never dispatched households, never 纳入.
	AreaSweeps []SweepTownship `json:"area_sweeps,omitempty"`
	Sweeps     []SweepFact     `json:"-"`
}

// Township returns the named township's score.
func (a *Assessment) Township(name string) (TownshipScore, bool) {
	for _, t := range a.Townships {
		if t.Name == name {
			return t, true
		}
	}
	return TownshipScore{}, false
}

// factRow is the assessment query's row.
type factRow struct {
	No           string         `db:"case_no"`
	Township     string         `db:"township"`
	Village      string         `db:"village"`
	HeadName     string         `db:"head_name"`
	Department   sql.NullString `db:"department"`
	Status       string         `db:"status"`
	Result       string         `db:"result"`
	Reason       string         `db:"reason"`
	DispatchedAt time.Time      `db:"dispatched_at"`
	DueOn        cases.Date     `db:"due_on"`
	EnteredOn    *cases.Date    `db:"entered_on"`
	ClosedAt     *time.Time     `db:"closed_at"`
	Returns      int            `db:"returns"`
	Categories   pq.StringArray `db:"categories"`
	Sources      pq.StringArray `db:"sources"`
	SpotResult   sql.NullString `db:"spot_result"`
	SpotFailures sql.NullInt64  `db:"spot_failures"`
}

// assessQuery reads the month's cases with their categories, source departments and the
// month's spot check. It is the one query every report is built on.
const assessQuery = `
	SELECT c.case_no, t.name AS township, c.village, c.head_name, d.name AS department, c.status, c.result,
		c.reason, c.dispatched_at, c.due_on, c.entered_on, c.closed_at, c.returns,
		COALESCE((SELECT array_agg(DISTINCT w.category ORDER BY w.category) FROM warnings w WHERE w.case_id = c.id), '{}') AS categories,
		COALESCE((SELECT array_agg(DISTINCT sd.name ORDER BY sd.name) FROM warnings w
			JOIN batches b ON b.id = w.batch_id JOIN departments sd ON sd.id = b.department_id
			WHERE w.case_id = c.id), '{}') AS sources,
		s.result AS spot_result, s.failures AS spot_failures
	FROM cases c
	JOIN townships t ON t.id = c.township_id
	LEFT JOIN departments d ON d.id = c.department_id
	LEFT JOIN spot_checks s ON s.case_id = c.id AND s.month = c.round
	WHERE c.round = $1 AND c.kind <> '区域排查'
	ORDER BY c.case_no`

// Assess computes the month's assessment as of the store's clock.
func (db *DB) Assess(ctx context.Context, month string) (Assessment, error) {
	first, err := cases.ParseMonth(month)
	if err != nil {
		return Assessment{}, cases.Errorf(cases.EInvalid, "%v", err)
	}
	month = first.MonthKey()
	now := db.Now()
	today := cases.DateOf(now)
	a := Assessment{Month: month, AsOf: now}

	var rows []factRow
	if err := db.SelectContext(ctx, &rows, assessQuery, month); err != nil {
		return a, fmt.Errorf("assess %s: cases: %w", month, err)
	}
	towns, err := db.Townships(ctx)
	if err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	idx := map[string]int{}
	for _, t := range towns {
		idx[t.Name] = len(a.Townships)
		a.Townships = append(a.Townships, TownshipScore{Name: t.Name})
	}
	byCat := map[cases.Category]*CategoryCount{}
	for _, r := range rows {
		f := r.fact(today)
		a.Cases = append(a.Cases, f)
		i, ok := idx[f.Township]
		if !ok {
			idx[f.Township] = len(a.Townships)
			i = len(a.Townships)
			a.Townships = append(a.Townships, TownshipScore{Name: f.Township})
		}
		ts := &a.Townships[i]
		ts.Dispatched++
		switch f.Status {
		case cases.StatusClosed:
			ts.Closed++
		case cases.StatusVerified:
			ts.Verified++
			ts.OwingEntry++
		case cases.StatusReturned:
			ts.Returned++
			ts.OwingResult++
		case cases.StatusDispatched:
			ts.OwingResult++
		}
		if f.Result == cases.ResultExclude {
			ts.Excluded++
		}
		if f.OnTime {
			ts.OnTime++
		}
		if f.Overdue {
			ts.Overdue++
		}
		if f.SpotResult != "" {
			ts.SpotChecked++
		}
		if f.SpotFailures > 0 {
			ts.SpotFailed++
		}
		countResult(&a.Total, f.Result)
		for _, c := range f.Categories {
			cc := byCat[c]
			if cc == nil {
				cc = &CategoryCount{Category: c}
				byCat[c] = cc
			}
			countResult(cc, f.Result)
		}
	}
	for i := range a.Townships {
		a.Townships[i].OnTimeRate = Rate(a.Townships[i].OnTime, a.Townships[i].Decided())
	}
	for _, c := range cases.Categories {
		if cc := byCat[c]; cc != nil {
			a.Categories = append(a.Categories, *cc)
			delete(byCat, c)
		}
	}
	for _, cc := range byCat { // categories the domain does not know; keep them visible
		a.Categories = append(a.Categories, *cc)
	}
	if a.Departments, err = db.pushScores(ctx, first); err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	if a.Sweeps, a.AreaSweeps, err = db.sweepFacts(ctx, month, today); err != nil {
		return a, fmt.Errorf("assess %s: %w", month, err)
	}
	return a, nil
}

func countResult(cc *CategoryCount, r cases.Result) {
	cc.Cases++
	switch r {
	case cases.ResultInclude:
		cc.Include++
	case cases.ResultMonitored:
		cc.Monitored++
	case cases.ResultExclude:
		cc.Exclude++
	default:
		cc.Pending++
	}
}

func (r factRow) fact(today cases.Date) CaseFact {
	f := CaseFact{
		No: r.No, Township: r.Township, Village: r.Village, HeadName: r.HeadName,
		Department: r.Department.String, Status: cases.Status(r.Status), Result: cases.Result(r.Result),
		Reason: r.Reason, DispatchedAt: r.DispatchedAt, DueOn: r.DueOn, EnteredOn: r.EnteredOn,
		ClosedAt: r.ClosedAt, Returns: r.Returns, SourceDepartments: []string(r.Sources),
		SpotResult: r.SpotResult.String, SpotPicked: r.SpotResult.Valid, SpotFailures: int(r.SpotFailures.Int64),
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
	c := cases.Case{Status: f.Status, DueOn: f.DueOn, ClosedAt: f.ClosedAt}
	f.OnTime = f.Status == cases.StatusClosed && c.OnTime()
	f.Overdue = (f.Status == cases.StatusClosed && !f.OnTime) || c.Overdue(today)
	return f
}

// Rate is part/whole rounded to four decimals, 0 when whole is 0.
func Rate(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(float64(part)/float64(whole)*10000) / 10000
}

// Push deadlines (spec §2), as scored in the report of month M:
//   - monthly categories (medical, serious_illness, employment, assistance, population): the
//     data of period P is due by the 5th of P+1 (end of that day, Asia/Shanghai). Month M's
//     report scores the pushes due in M, i.e. period M−1 — the data month M's round is built on;
//   - education: once a year by 30 April; scored in April's report (period: any YYYY-MM of
//     that year received by the deadline);
//   - "promptly" categories (disaster, epidemic, industry, assurance) follow events the
//     system cannot know before the push arrives, so there is no due push to miss; they are
//     not scored. (Epidemic's "within 3 days" would need the event date the department itself
//     sends; the office judges those by hand.)
//
// A push counts once per department and category however many batches came; it is on time
// when its first batch was received by the deadline. A department is only scored for the
// categories the org file gives it.
func PushDeadline(c cases.Category, period string) (cases.Date, bool) {
	p, err := cases.ParseMonth(period)
	if err != nil {
		return cases.Date{}, false
	}
	switch {
	case c.Monthly():
		return cases.NewDate(p.Year, p.Month+1, 5), true
	case c == cases.CatEducation:
		return cases.NewDate(p.Year, time.April, 30), true
	}
	return cases.Date{}, false
}

func (db *DB) pushScores(ctx context.Context, first cases.Date) ([]DepartmentScore, error) {
	var depts []struct {
		Name       string         `db:"name"`
		Categories pq.StringArray `db:"categories"`
	}
	if err := db.SelectContext(ctx, &depts, `SELECT name, categories FROM departments ORDER BY id`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	prev := cases.NewDate(first.Year, first.Month-1, 1).MonthKey()
	out := make([]DepartmentScore, 0, len(depts))
	for _, d := range depts {
		ds := DepartmentScore{Name: d.Name}
		for _, raw := range d.Categories {
			c := cases.Category(raw)
			var due PushDue
			switch {
			case c.Monthly():
				deadline, _ := PushDeadline(c, prev)
				due = PushDue{Category: c, Period: prev, Deadline: deadline}
			case c == cases.CatEducation && first.Month == time.April:
				due = PushDue{Category: c, Period: fmt.Sprintf("%04d-04", first.Year),
					Deadline: cases.NewDate(first.Year, time.April, 30)}
			default:
				continue
			}
			var received sql.NullTime
			q := `SELECT min(b.received_at) FROM batches b JOIN departments d ON d.id = b.department_id
				WHERE d.name = $1 AND b.category = $2 AND b.period = $3`
			arg := due.Period
			if c == cases.CatEducation {
				q = `SELECT min(b.received_at) FROM batches b JOIN departments d ON d.id = b.department_id
					WHERE d.name = $1 AND b.category = $2 AND b.period LIKE $3`
				arg = fmt.Sprintf("%04d-%%", first.Year)
			}
			if err := db.QueryRowxContext(ctx, q, d.Name, string(c), arg).Scan(&received); err != nil {
				return nil, fmt.Errorf("pushes of %s: %w", d.Name, err)
			}
			if received.Valid {
				t := received.Time
				due.Received = &t
				due.OnTime = !cases.DateOf(t).After(due.Deadline)
			}
			ds.PushesDue++
			if due.OnTime {
				ds.PushesOnTime++
			}
			ds.Pushes = append(ds.Pushes, due)
		}
		sort.Slice(ds.Pushes, func(i, j int) bool { return ds.Pushes[i].Category < ds.Pushes[j].Category })
		out = append(out, ds)
	}
	return out, nil
}

// CategoryLabels joins the categories' Chinese names with 、.
func CategoryLabels(cs []cases.Category) string {
	ls := make([]string, len(cs))
	for i, c := range cs {
		ls[i] = c.Label()
	}
	return strings.Join(ls, "、")
}
