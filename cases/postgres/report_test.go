package postgres_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
)

// expectedCase is what the test itself concludes about a planned case by replaying its steps
// with the spec's plain rules (not through cases.Apply or the store).
type expectedCase struct {
	township            string
	status              cases.Status
	result              cases.Result
	due                 cases.Date
	closedOn            *cases.Date
	spot                string
	failures            int
	picked              bool
	onTime, overdue     bool
	fedBack             bool
	categories          []cases.Category
	owingRes, owingEntr bool
}

func replay(p monthtest.Case, cal *cases.Calendar, asOf cases.Date) expectedCase {
	e := expectedCase{township: p.Township, status: cases.StatusDispatched, due: cases.MustDate(p.DueOn),
		categories: p.Categories, picked: p.Picked}
	for _, s := range p.Steps {
		on := cases.MustDate(s.On)
		switch s.Action {
		case cases.ActVerify:
			if !on.After(cases.MustDate(p.Round + "-01").LastOfMonth()) {
				e.fedBack = true // a result recorded by the month's last day
			}
			e.result = s.Result
			if s.Result == cases.ResultExclude {
				e.status, e.closedOn = cases.StatusClosed, &on
			} else {
				e.status = cases.StatusVerified
			}
		case cases.ActEnter:
			e.status, e.closedOn = cases.StatusClosed, &on
		case cases.ActSpotPass:
			e.spot = "合格"
		case cases.ActSpotFail:
			e.spot, e.failures = "不合格", e.failures+1
			e.status, e.result, e.closedOn = cases.StatusReturned, "", nil
			e.due = cal.AddWorkingDays(on, 10) // docs/dispatch.md: 10 working days later
		}
	}
	closed := e.status == cases.StatusClosed
	e.onTime = closed && !e.closedOn.After(e.due)
	e.overdue = (closed && !e.onTime) || (!closed && asOf.After(e.due))
	e.owingRes = e.status == cases.StatusDispatched || e.status == cases.StatusReturned
	e.owingEntr = e.status == cases.StatusVerified
	return e
}

func TestAssessmentMatchesTheHandBuiltMonth(t *testing.T) {
	t.Parallel()
	db, nos := monthtest.Setup(t)
	ctx := context.Background()
	a, err := db.Assess(ctx, monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}
	asOf := cases.DateOf(monthtest.AsOf)
	t.Logf("townships %+v\ndepartments %+v", a.Townships, a.Departments)

	// The test's own figures.
	want := map[string]*cases.TownshipScore{}
	order := []string{"城关镇", "河口乡", "青山镇"}
	for _, n := range order {
		want[n] = &cases.TownshipScore{Name: n}
	}
	type catWant struct{ cases, include, monitored, exclude, pending int }
	cats := map[cases.Category]*catWant{}
	var total catWant
	owing := map[string][]string{}
	var nMonth int
	for i, p := range monthtest.Plan {
		if p.Round != monthtest.Month {
			continue
		}
		nMonth++
		e := replay(p, db.Cal, asOf)
		w := want[p.Township]
		w.Dispatched++
		if e.status == cases.StatusClosed {
			w.Closed++
		}
		if e.status == cases.StatusVerified {
			w.Verified++
		}
		if e.status == cases.StatusReturned {
			w.Returned++
		}
		if e.onTime {
			w.OnTime++
		}
		if e.overdue {
			w.Overdue++
		}
		if e.fedBack {
			w.FedBack++
		}
		if e.spot != "" {
			w.SpotChecked++
		}
		if e.failures > 0 {
			w.SpotFailed++
		}
		if e.owingRes {
			w.OwingResult++
			owing[p.Township] = append(owing[p.Township], nos[i])
		}
		if e.owingEntr {
			w.OwingEntry++
		}
		if e.result == cases.ResultExclude {
			w.Excluded++
		}
		if e.status.Open() {
			w.Open++
		}
		bump := func(c *catWant) {
			c.cases++
			switch e.result {
			case cases.ResultInclude:
				c.include++
			case cases.ResultMonitored:
				c.monitored++
			case cases.ResultExclude:
				c.exclude++
			default:
				c.pending++
			}
		}
		bump(&total)
		for _, c := range p.Categories {
			if cats[c] == nil {
				cats[c] = &catWant{}
			}
			bump(cats[c])
		}
		// Per-case facts too.
		f := a.Cases[len(a.Cases)-1]
		for _, x := range a.Cases {
			if x.No == nos[i] {
				f = x
			}
		}
		if f.No != nos[i] || f.Status != e.status || f.Result != e.result || f.DueOn != e.due || f.OnTime != e.onTime ||
			f.Overdue != e.overdue || f.SpotResult.Label() != e.spot || f.SpotFailures != e.failures || f.SpotPicked != (e.picked || e.spot != "") {
			t.Errorf("case %s: got %+v\nwant %+v", nos[i], f, e)
		}
	}
	month, _ := cases.ParseMonth(monthtest.Month)
	for _, w := range want {
		w.FeedbackDue = asOf.After(month.LastOfMonth()) // the month is over: feedback is judged
		if d := w.OnTime + w.Overdue; d > 0 {
			r := float64(int(float64(w.OnTime)/float64(d)*10000+0.5)) / 10000
			w.OnTimeRate = &r
		}
		if w.Dispatched > 0 {
			r := float64(int(float64(w.FedBack)/float64(w.Dispatched)*10000+0.5)) / 10000
			w.FeedbackRate = &r
		}
		w.Score = cases.ScoreTownship(w.OnTime, w.Decided(), w.SpotPassed(), w.SpotChecked, w.FedBack, w.Dispatched)
	}
	if len(a.Cases) != nMonth {
		t.Fatalf("%d cases in the month, want %d (the October case must not count)", len(a.Cases), nMonth)
	}
	if len(a.Townships) != len(order) {
		t.Fatalf("townships %+v", a.Townships)
	}
	for i, got := range a.Townships {
		if got.Name != order[i] {
			t.Fatalf("township %d is %s, want %s (org order)", i, got.Name, order[i])
		}
		if !reflect.DeepEqual(got, *want[got.Name]) {
			t.Errorf("%s:\n got %+v\nwant %+v", got.Name, got, *want[got.Name])
		}
	}
	// A sanity anchor written out by hand, so a shared mistake in replay cannot hide:
	// 城关镇: 5 cases, closed #1 #3, on time #1, overdue #3 #4, rate 1/3.
	if g := a.Townships[0]; g.Dispatched != 5 || g.Closed != 2 || g.OnTime != 1 || g.Overdue != 2 || *g.OnTimeRate != 0.3333 || g.SpotChecked != 2 || g.SpotFailed != 1 {
		t.Errorf("城关镇 by hand: %+v", g)
	}

	if total.cases != a.Total.Cases || total.include != a.Total.Include || total.monitored != a.Total.Monitored ||
		total.exclude != a.Total.Exclude || total.pending != a.Total.Pending {
		t.Errorf("total %+v, want %+v", a.Total, total)
	}
	if len(a.Categories) != len(cats) {
		t.Errorf("categories %+v, want %d", a.Categories, len(cats))
	}
	for i, cc := range a.Categories {
		w := cats[cc.Category]
		if w == nil || cc.Cases != w.cases || cc.Include != w.include || cc.Monitored != w.monitored || cc.Exclude != w.exclude || cc.Pending != w.pending {
			t.Errorf("category %s: %+v, want %+v", cc.Category, cc, w)
		}
		if i > 0 && indexOf(a.Categories[i-1].Category) > indexOf(cc.Category) {
			t.Errorf("categories not in spec order: %v before %v", a.Categories[i-1].Category, cc.Category)
		}
	}

	// Departments: monthly pushes for period 2026-10, due 2026-11-05.
	wantDept := map[string][2]int{}
	deptCats := map[string][]cases.Category{"医保局": {cases.CatMedical, cases.CatAssurance}, "卫健委": {cases.CatSeriousIllness, cases.CatEpidemic},
		"教体局": {cases.CatEducation}, "人社局": {cases.CatEmployment}, "民政局": {cases.CatAssistance}, "公安局": {cases.CatPopulation}, "应急管理局": {cases.CatDisaster}}
	deadline := cases.MustDate("2026-11-05")
	for d, cs := range deptCats {
		var due, ok int
		for _, c := range cs {
			if !c.Monthly() {
				continue
			}
			due++
			var first *time.Time
			for _, b := range monthtest.Batches {
				if b.Department == d && b.Category == c && b.Period == "2026-10" && (first == nil || b.Received.Before(*first)) {
					r := b.Received
					first = &r
				}
			}
			if first != nil && !cases.DateOf(*first).After(deadline) {
				ok++
			}
		}
		wantDept[d] = [2]int{due, ok}
	}
	if len(a.Departments) != len(deptCats) {
		t.Fatalf("departments %+v", a.Departments)
	}
	for _, d := range a.Departments {
		if w := wantDept[d.Name]; d.PushesDue != w[0] || d.PushesOnTime != w[1] {
			t.Errorf("department %s: due %d on time %d, want %d %d", d.Name, d.PushesDue, d.PushesOnTime, w[0], w[1])
		}
	}

	// The JSON is exactly docs/assessment.md's shape.
	b, _ := json.Marshal(a)
	var generic struct {
		Townships   []map[string]any `json:"townships"`
		Departments []map[string]any `json:"departments"`
		Office      map[string]any   `json:"office"`
	}
	var top map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &top)
	if len(top) != 3 || !sameKeys(generic.Townships[0], "name", "dispatched", "closed", "on_time", "overdue", "on_time_rate", "spot_checked", "spot_failed", "feedback_rate", "score") ||
		!sameKeys(generic.Departments[0], "name", "pushes_due", "pushes_on_time", "tasks_due", "tasks_on_time", "score") ||
		!sameKeys(generic.Office, "rounds_due", "rounds_on_time") {
		t.Errorf("report JSON shape: %s", b)
	}

	// Month-end feedback summary: who still owes results.
	s := cases.FeedbackSummary(a)
	gotOwing := map[string][]string{}
	for _, o := range s.Owing {
		gotOwing[o.Township] = o.OwingResult
	}
	for town, nos := range owing {
		if strings.Join(gotOwing[town], ",") != strings.Join(nos, ",") {
			t.Errorf("%s owes %v, want %v", town, gotOwing[town], nos)
		}
	}
	text := s.Text()
	for _, frag := range []string{"城关镇", "河口乡", "未反馈核查结论", nos[3], "已核查待录入全国系统 1 户：" + nos[4]} {
		if !strings.Contains(text, frag) {
			t.Errorf("summary text lacks %q:\n%s", frag, text)
		}
	}
	if strings.Contains(text, "青山镇") || strings.Contains(text, "王试一") || strings.Contains(text, "9901011990") {
		t.Errorf("summary names a township that owes nothing, or a person:\n%s", text)
	}
}

func TestEducationPushIsScoredInApril(t *testing.T) {
	t.Parallel()
	db, _ := monthtest.Setup(t)
	ctx := context.Background()
	for _, b := range []struct {
		id, period string
		at         time.Time
	}{{"E1", "2027-04", cases.MustDate("2027-04-29").At(17, 0)}, {"E0", "2026-04", cases.MustDate("2026-05-03").At(9, 0)}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO batches (id, department_id, category, period, sha256, received_at)
			VALUES ($1, (SELECT id FROM departments WHERE name = '教体局'), 'education', $2, $1, $3)`, b.id, b.period, b.at); err != nil {
			t.Fatal(err)
		}
	}
	for month, want := range map[string][2]int{"2027-04": {1, 1}, "2026-04": {1, 0}, "2027-03": {0, 0}} {
		a, err := db.Assess(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range a.Departments {
			if d.Name == "教体局" && (d.PushesDue != want[0] || d.PushesOnTime != want[1]) {
				t.Errorf("%s 教体局: %+v, want %v", month, d, want)
			}
		}
	}
}

func TestAssessRejectsABadMonth(t *testing.T) {
	t.Parallel()
	db, _ := monthtest.Setup(t)
	if _, err := db.Assess(context.Background(), "2026-13"); cases.ErrorCode(err) != cases.EInvalid {
		t.Fatalf("bad month: %v", err)
	}
}

func indexOf(c cases.Category) int {
	for i, k := range cases.Categories {
		if k == c {
			return i
		}
	}
	return -1
}

func sameKeys(m map[string]any, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// A push counts for the period it names, never for the day it arrived (docs/reminders.md), and a late
// epidemic push counts against its department.
func TestPushesCountForThePeriodTheyName(t *testing.T) {
	t.Parallel()
	db, _ := monthtest.Setup(t)
	ctx := context.Background()
	for _, b := range []struct {
		id, category, period string
		at                   time.Time
		late                 bool
	}{
		// 人社局 sends September's data in November: it is not October's push.
		{"P1", "employment", "2026-09", cases.MustDate("2026-11-02").At(9, 0), true},
		// 卫健委's epidemic pushes of November: one on time, one more than 3 days after its event.
		{"P2", "epidemic", "2026-11", cases.MustDate("2026-11-12").At(9, 0), false},
		{"P3", "epidemic", "2026-11", cases.MustDate("2026-11-20").At(9, 0), true},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO batches (id, department_id, category, period, sha256, received_at, late)
			VALUES ($1, (SELECT d.id FROM departments d WHERE $2 = ANY(d.categories)), $2, $3, $1, $4, $5)`,
			b.id, b.category, b.period, b.at, b.late); err != nil {
			t.Fatal(err)
		}
	}
	a, err := db.Assess(ctx, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Departments {
		switch d.Name {
		case "人社局":
			if d.PushesDue != 1 || d.PushesOnTime != 0 || d.Pushes[0].Received != nil {
				t.Errorf("人社局 pushed only September's data; October's is missing: %+v", d)
			}
		case "卫健委":
			var epidemic, onTime int
			for _, p := range d.Pushes {
				if p.Category == cases.CatEpidemic {
					epidemic++
					if p.OnTime {
						onTime++
					}
				}
			}
			if epidemic != 2 || onTime != 1 {
				t.Errorf("卫健委 epidemic pushes: %d due, %d on time; want 2, 1 (%+v)", epidemic, onTime, d)
			}
		}
	}
}
