package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
)

// TestAssessmentPinsTheHandMadeMonth pins every figure of monthtest.AssessPlan, written out
// by hand from the plan (see its comment), as `fangpin report --json` prints it.
func TestAssessmentPinsTheHandMadeMonth(t *testing.T) {
	t.Parallel()
	db, nos, _ := monthtest.SetupWith(t, monthtest.AssessPlan, monthtest.AssessDispatch)
	a, err := db.Assess(context.Background(), monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}

	// Per case: on time (null while open), late, fed back by 11-30.
	type judged struct{ onTime, overdue, fedBack string }
	want := []judged{
		{"true", "false", "true"},  // 录入 dated 11-27 ≤ due 11-30, typed 12-09
		{"false", "true", "false"}, // 不纳入 recorded 12-02 > due 12-01
		{"null", "false", "false"}, // open, not yet due
		{"null", "false", "true"},  // verified 11-25, awaiting 录入
		{"true", "false", "true"},  // 不纳入 11-28 ≤ 12-08
		{"true", "false", "true"},  // returned: 录入 12-03 ≤ new due 12-04 (first result 11-15)
		{"null", "true", "false"},  // open past 12-08: the spot check did not move it
		{"null", "false", "false"}, // 区域排查, open
	}
	show := func(b *bool) string {
		if b == nil {
			return "null"
		}
		return map[bool]string{true: "true", false: "false"}[*b]
	}
	tf := func(b bool) string { return map[bool]string{true: "true", false: "false"}[b] }
	if len(a.Cases) != len(want) {
		t.Fatalf("%d cases, want %d", len(a.Cases), len(want))
	}
	for i, f := range a.Cases {
		got := judged{show(f.Judged), tf(f.Overdue), tf(f.FedBack)}
		if f.No != nos[i] || got != want[i] {
			t.Errorf("%s: on time %s overdue %s fed back %s, want %+v", f.No, got.onTime, got.overdue, got.fedBack, want[i])
		}
	}
	if f := a.Cases[5]; f.DueOn.String() != "2026-12-04" || f.OriginalDueOn == nil || f.OriginalDueOn.String() != "2026-12-08" {
		t.Errorf("returned case keeps both due dates: due %s original %v", f.DueOn, f.OriginalDueOn)
	}
	if f := a.Cases[6]; f.DueOn.String() != "2026-12-08" || f.OriginalDueOn != nil || f.SpotResult != cases.SpotFail {
		t.Errorf("open case found 不合格: due %s original %v spot %q", f.DueOn, f.OriginalDueOn, f.SpotResult)
	}
	if !a.Cases[7].Area() || a.Cases[0].Area() {
		t.Error("the 区域排查 case is told apart from households")
	}
	if a.Cases[0].SpotBy != "孙七" {
		t.Errorf("spot check by %q, want the supervisor's name", a.Cases[0].SpotBy)
	}

	// The report, exactly as docs/assessment.md shows it. By hand:
	//   城关镇: on time 0001 0005, overdue 0002 → 2/3; spot 1 checked 0 failed → 1;
	//           fed back 0001 0004 0005 of 5 → 0.6; 50×2/3 + 30×1 + 20×0.6 = 75.3
	//   河口乡: on time 0006, overdue 0007 → 1/2; spot 0006 0007 both failed → 0;
	//           fed back 0006 of 3 → 1/3; 50×0.5 + 30×0 + 20×1/3 = 31.7
	//   青山镇: nothing at all → null, never 0
	//   医保局 medical on time 11-04 → 1/1; 卫健委 late 11-06 → 0/1; 人社局 never → 0/1;
	//   民政局 11-05 23:30 and 公安局 11-05 → 1/1; 教体局 and 应急管理局 owe nothing → null.
	//   Tasks: none yet (issue 12) → that part is left out.
	//   Office: dispatched on the 12th → 0 of 1.
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"townships":[` +
		`{"name":"城关镇","dispatched":5,"closed":3,"on_time":2,"overdue":1,"on_time_rate":0.6667,"spot_checked":1,"spot_failed":0,"feedback_rate":0.6,"score":75.3},` +
		`{"name":"河口乡","dispatched":3,"closed":1,"on_time":1,"overdue":1,"on_time_rate":0.5,"spot_checked":2,"spot_failed":2,"feedback_rate":0.3333,"score":31.7},` +
		`{"name":"青山镇","dispatched":0,"closed":0,"on_time":0,"overdue":0,"on_time_rate":null,"spot_checked":0,"spot_failed":0,"feedback_rate":null,"score":null}],` +
		`"departments":[` +
		`{"name":"医保局","pushes_due":1,"pushes_on_time":1,"tasks_due":0,"tasks_on_time":0,"score":100},` +
		`{"name":"卫健委","pushes_due":1,"pushes_on_time":0,"tasks_due":0,"tasks_on_time":0,"score":0},` +
		`{"name":"教体局","pushes_due":0,"pushes_on_time":0,"tasks_due":0,"tasks_on_time":0,"score":null},` +
		`{"name":"人社局","pushes_due":1,"pushes_on_time":0,"tasks_due":0,"tasks_on_time":0,"score":0},` +
		`{"name":"民政局","pushes_due":1,"pushes_on_time":1,"tasks_due":0,"tasks_on_time":0,"score":100},` +
		`{"name":"公安局","pushes_due":1,"pushes_on_time":1,"tasks_due":0,"tasks_on_time":0,"score":100},` +
		`{"name":"应急管理局","pushes_due":0,"pushes_on_time":0,"tasks_due":0,"tasks_on_time":0,"score":null}],` +
		`"office":{"rounds_due":1,"rounds_on_time":0}}`
	if string(b) != wantJSON {
		t.Errorf("report JSON\n got %s\nwant %s", b, wantJSON)
	}
	if a.County != "测试县" {
		t.Errorf("county %q", a.County)
	}
}

// TestDepartmentTasksFeedTheScore: the tasks of the month's cases that are done or past due
// count, on time when done by their due date.
func TestDepartmentTasksFeedTheScore(t *testing.T) {
	t.Parallel()
	db, nos, _ := monthtest.SetupWith(t, monthtest.AssessPlan, monthtest.AssessDispatch)
	ctx := context.Background()
	for _, k := range []struct {
		no, dept, status, due string
		done                  any
		measure               string
	}{
		{nos[5], "医保局", "done", "2026-12-08", "2026-12-01", "已落实医疗救助"}, // on time
		{nos[0], "医保局", "done", "2026-11-30", "2026-12-02", "已核减自付费用"}, // late
		{nos[1], "医保局", "open", "2026-12-01", nil, ""},                 // open past due
		{nos[2], "医保局", "open", "2026-12-20", nil, ""},                 // not yet due: not counted
		{nos[3], "民政局", "open", "2026-12-20", nil, ""},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO department_tasks (case_id, department, status, due_on, done_on, measure)
			SELECT id, $2, $3, $4, $5, $6 FROM cases WHERE case_no = $1`, k.no, k.dept, k.status, k.due, k.done, k.measure); err != nil {
			t.Fatal(err)
		}
	}
	a, err := db.Assess(ctx, monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range a.Departments {
		switch d.Name {
		case "医保局": // pushes 1/1, tasks 1/3: 50 × 1 + 50 × 1/3
			if d.TasksDue != 3 || d.TasksOnTime != 1 || d.Score == nil || *d.Score != 66.7 {
				t.Errorf("医保局 tasks %d/%d score %v, want 1/3 and 66.7", d.TasksOnTime, d.TasksDue, d.Score)
			}
		case "民政局": // the open task is not due yet: pushes only
			if d.TasksDue != 0 || d.Score == nil || *d.Score != 100 {
				t.Errorf("民政局 tasks %d score %v", d.TasksDue, d.Score)
			}
		}
	}
	if ts := a.Cases[5].Tasks; len(ts) != 1 || ts[0].Department != "医保局" || ts[0].Measure != "已落实医疗救助" {
		t.Errorf("the case's tasks: %+v", ts)
	}
}

// A month not yet over is provisional, with the count of cases still open; a month over is
// not (its JSON keeps exactly the fields it had).
func TestAssessmentOfAMonthInProgressIsProvisional(t *testing.T) {
	t.Parallel()
	db, _, _ := monthtest.SetupWith(t, monthtest.AssessPlan, monthtest.AssessDispatch)
	over, err := db.Assess(context.Background(), monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(over)
	if over.Provisional || over.Open != nil || strings.Contains(string(b), "provisional") {
		t.Errorf("a month over is provisional: %s", b)
	}
	db.Now = func() time.Time { return cases.MustDate("2026-11-20").At(12, 0) }
	a, err := db.Assess(context.Background(), monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, f := range a.Cases {
		if f.Status.Open() {
			open++
		}
	}
	b, _ = json.Marshal(a)
	if !a.Provisional || a.Open == nil || *a.Open != open || open == 0 ||
		!strings.Contains(string(b), fmt.Sprintf(`"provisional":true,"open":%d`, open)) {
		t.Errorf("a month in progress: provisional %v open %v, want true and %d: %s", a.Provisional, a.Open, open, b)
	}
}
