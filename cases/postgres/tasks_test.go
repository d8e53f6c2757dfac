package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/notify"
)

// taskOrg is the dispatch test's county with 水利局 and liaisons of 人社局 and 水利局.
func taskOrg(t *testing.T, db *postgres.DB) {
	t.Helper()
	y := strings.Replace(dispatchtest.Org, "departments:\n", "departments:\n  - {name: 水利局, categories: [assurance]}\n", 1) +
		"  - {userid: rsj, name: 人小社, role: liaison, department: 人社局}\n" +
		"  - {userid: slj, name: 水小利, role: liaison, department: 水利局}\n"
	org, err := orgfile.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
}

func actor(t *testing.T, db *postgres.DB, userid string) cases.Actor {
	t.Helper()
	a, err := db.Actor(context.Background(), userid)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func round(t *testing.T, db *postgres.DB, day string) cases.DispatchResult {
	t.Helper()
	d := cases.MustDate(day)
	db.Now = func() time.Time { return d.At(9, 30) }
	res, err := db.Dispatch(context.Background(), cases.DispatchOptions{Date: d})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tasksOf(t *testing.T, db *postgres.DB, c cases.Case) []cases.Task {
	t.Helper()
	ts, err := db.TasksOf(context.Background(), []int64{c.ID})
	if err != nil {
		t.Fatal(err)
	}
	return ts[c.ID]
}

func caseOf(t *testing.T, db *postgres.DB, key string, openOnly bool) cases.Case {
	t.Helper()
	if id, ok := strings.CutPrefix(key, "head:"); ok && len(id) != 64 {
		key = "head:" + db.Keys.IDHash(id) // household keys name a person by their hash
	}
	cs, err := db.ListCases(context.Background(), cases.CaseFilter{OpenOnly: openOnly})
	if err != nil {
		t.Fatal(err)
	}
	var found cases.Case
	for _, c := range cs {
		if c.HouseholdKey == key && c.ID > found.ID {
			found = c
		}
	}
	if found.ID == 0 {
		t.Fatalf("no case of %s", key)
	}
	return found
}

// Three months of one county (docs/dispatch.md): a household verified 不纳入 comes back with a
// cumulative medical figure and is held, then released when the figure has grown by 50 %;
// two 问题类型 of one person are two tasks on one case, closed by two liaisons; a merged
// warning of a new problem adds a department and moves the due date, a repeat does not.
func TestThreeMonthsOfHeldWarningsAndDepartmentTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	taskOrg(t, db)
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{notify.CaseHook(db)}, Task: []cases.TaskHook{notify.TaskHook(db)}})
	// Each round's warnings name the month before it, as departments' pushes do: a
	// warning of the same person, category and period twice is a duplicate (docs/dispatch.md).
	period := "2026-10"
	w := func(x pgtest.Warning) { x.Period = period; pgtest.InsertWarning(t, db, x) }
	medical := func(amount string) {
		w(pgtest.Warning{Department: "医保局", Category: "medical", Rule: "inpatient_other", Amount: amount, IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇", Village: "东村"})
	}

	// November: B's medical spending; G's house and water (blank 责任部门: by the 问题类型); C unemployed.
	medical("10000.00")
	w(pgtest.Warning{Department: "住建局", Category: "assurance", IDNumber: p.G.ID, Name: p.G.Name, Township: "城关镇", Village: "北村",
		Detail: map[string]any{"问题类型": "住房安全", "问题描述": "墙体开裂", "责任部门": ""}})
	w(pgtest.Warning{Department: "住建局", Category: "assurance", IDNumber: p.G.ID, Name: p.G.Name, Township: "城关镇", Village: "北村",
		Detail: map[string]any{"问题类型": "饮水安全", "问题描述": "水质不达标", "责任部门": "水利局"}})
	w(pgtest.Warning{Department: "人社局", Category: "employment", IDNumber: p.C.ID, Name: p.C.Name, Township: "河口乡", Village: "西村"})
	nov := round(t, db, "2026-11-10")
	if nov.CasesCreated != 3 || nov.DepartmentTasks != 3 || nov.Held != 0 {
		t.Fatalf("November: %+v, want 3 cases with 3 department tasks", nov)
	}
	x1, x2, x3 := caseOf(t, db, "hh:H0001", true), caseOf(t, db, "head:"+p.G.ID, true), caseOf(t, db, "hh:H0002", true)
	g := tasksOf(t, db, x2)
	if len(g) != 2 || g[0].Department != "住建局" || g[1].Department != "水利局" || g[0].DueOn != cases.MustDate("2026-12-08") || g[0].Status != cases.TaskOpen {
		t.Fatalf("two 问题类型 of G: tasks %+v, want 住建局 and 水利局 open, due 2026-12-08", g)
	}
	if len(x2.TaskDepartments) != 2 || !cases.CanView(x2, actor(t, db, "slj")) || cases.CanView(x3, actor(t, db, "slj")) {
		t.Errorf("liaisons see the cases of their department's tasks only: %+v", x2.TaskDepartments)
	}
	var planned int
	planned = pgtest.Count(t, db, `SELECT count(*) FROM reminders WHERE task_id IS NOT NULL AND state = 'pending'`)
	if planned != 9 {
		t.Errorf("task reminders planned = %d, want 3 per task (due soon, overdue, escalation)", planned)
	}

	// Two liaisons close their department's task; a third may not touch another's.
	db.Now = func() time.Time { return cases.MustDate("2026-11-20").At(10, 0) }
	if _, err := db.CompleteTask(ctx, x2.No, actor(t, db, "rsj"), "已安排就业帮扶", "test"); cases.ErrorCode(err) != cases.EForbidden ||
		!strings.Contains(cases.ErrorMessage(err), "住建局、水利局") {
		t.Errorf("人社局 closing 住建局's task: %v, want a refusal naming the departments", err)
	}
	if _, err := db.CompleteTask(ctx, x2.No, actor(t, db, "zjj"), "好", "test"); cases.ErrorCode(err) != cases.EInvalid {
		t.Errorf("a measure of one word: %v, want it refused", err)
	}
	for _, u := range []string{"zjj", "slj"} {
		task, err := db.CompleteTask(ctx, strings.ToLower(x2.No), actor(t, db, u), "已落实改造和改水资金", "test")
		if err != nil || task.Status != cases.TaskDone || task.DoneOn == nil || *task.DoneOn != cases.MustDate("2026-11-20") {
			t.Fatalf("%s closing its task: %+v %v", u, task, err)
		}
	}
	if _, err := db.CompleteTask(ctx, x2.No, actor(t, db, "zjj"), "再次登记办理", "test"); cases.ErrorCode(err) != cases.EIllegal {
		t.Errorf("closing a done task again: %v", err)
	}
	planned = pgtest.Count(t, db, `SELECT count(*) FROM reminders WHERE task_id IS NOT NULL AND state = 'pending'`)
	if planned != 3 {
		t.Errorf("pending task reminders after two tasks closed = %d, want 3", planned)
	}
	// The township verifies B's household: not taken.
	if _, err := db.Transition(ctx, x1.No, actor(t, db, "zhangsan"), cases.Command{Action: cases.ActVerify,
		Result: cases.ResultExclude, Reason: "家庭收入稳定，医疗费用已报销大部分"}, "test"); err != nil {
		t.Fatal(err)
	}

	period = "2026-11"
	// December: B's cumulative figure grew by 40 %: held. C has a housing problem too: merged
	// into C's open case with a new 住建局 task, and the due date moves.
	medical("14000.00")
	w(pgtest.Warning{Department: "住建局", Category: "assurance", IDNumber: p.C.ID, Name: p.C.Name, Township: "河口乡", Village: "西村",
		Detail: map[string]any{"问题类型": "住房安全", "问题描述": "房屋漏雨"}})
	dec := round(t, db, "2026-12-10")
	b, _ := json.Marshal(dec)
	want := `{"round":"2026-12","cases_created":0,"merged":1,"held":1,"department_tasks":1,"by_township":{},"held_list":[{"id_number":"` + p.B.ID + `","category":"medical","earlier_case":"` + x1.No + `"}]}`
	if string(b) != want {
		t.Errorf("December JSON\n got %s\nwant %s", b, want)
	}
	var heldCase int64
	if err := db.Get(&heldCase, `SELECT case_id FROM warnings WHERE held_round = '2026-12'`); err != nil {
		t.Fatal(err)
	}
	if heldCase != x1.ID {
		t.Errorf("held warning linked to case %d, want %d", heldCase, x1.ID)
	}
	x3 = caseOf(t, db, "hh:H0002", true)
	if x3.DueOn != db.Cal.AddWorkingDays(cases.MustDate("2026-12-10"), 20) {
		t.Errorf("a new 问题类型 merged: due %s, want 20 working days after 2026-12-10", x3.DueOn)
	}
	var renewed int
	renewed = pgtest.Count(t, db, `SELECT count(*) FROM reminders WHERE case_id = $1 AND task_id IS NULL AND kind = 'case_due'
		AND state = 'pending' AND due_at = $2`, x3.ID, x3.DueOn.At(9, 0))
	if renewed != 1 {
		t.Errorf("the moved due date got %d pending due-day reminders, want 1", renewed)
	}
	if ts := tasksOf(t, db, x3); len(ts) != 2 || ts[1].Department != "住建局" || ts[1].DueOn != x3.DueOn {
		t.Errorf("merged assurance warning lost its department: tasks %+v", ts)
	}

	period = "2026-12"
	// January: B's figure is now 50 % above what was verified: a new case. C's unemployment
	// again: a repeat, so the due date stays and no task is added (人社局's is still open).
	medical("15000.00")
	w(pgtest.Warning{Department: "人社局", Category: "employment", IDNumber: p.C.ID, Name: p.C.Name, Township: "河口乡", Village: "西村"})
	jan := round(t, db, "2027-01-11")
	if jan.CasesCreated != 1 || jan.Merged != 1 || jan.Held != 0 || jan.DepartmentTasks != 0 {
		t.Errorf("January: %+v, want B released as a new case and C's repeat merged without a task", jan)
	}
	if again := caseOf(t, db, "hh:H0001", true); again.ID == x1.ID || again.Round != "2027-01" {
		t.Errorf("released household: %+v", again)
	}
	if c := caseOf(t, db, "hh:H0002", true); c.DueOn != x3.DueOn {
		t.Errorf("a repeat moved the due date %s → %s", x3.DueOn, c.DueOn)
	}
	// Closing C's case leaves its department tasks and their reminders open.
	db.Now = func() time.Time { return cases.MustDate("2027-01-12").At(10, 0) }
	if _, err := db.Transition(ctx, x3.No, actor(t, db, "lisi"), cases.Command{Action: cases.ActVerify,
		Result: cases.ResultExclude, Reason: "已稳定就业，住房已修缮完毕"}, "test"); err != nil {
		t.Fatal(err)
	}
	if ts := tasksOf(t, db, x3); ts[0].Status != cases.TaskOpen {
		t.Errorf("closing the case closed its department task: %+v", ts)
	}
	planned = pgtest.Count(t, db, `SELECT count(*) FROM reminders WHERE task_id IS NOT NULL AND state = 'pending' AND case_id = $1`, x3.ID)
	if planned == 0 {
		t.Errorf("closing the case cancelled its department tasks' reminders")
	}
}

// The office's 转办 adds a task of a department; an unknown department is refused with the
// list of departments, and nothing is stored.
func TestReferTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	dispatchtest.Warn(t, db, p)
	round(t, db, "2026-11-10")
	c := caseOf(t, db, "head:"+p.F.ID, true)
	office := actor(t, db, "zhaoliu")
	if _, err := db.ReferTask(ctx, c.No, "不存在局", "请核实", office, "test"); cases.ErrorCode(err) != cases.EInvalid ||
		!strings.Contains(cases.ErrorMessage(err), "住建局") {
		t.Errorf("unknown department: %v", err)
	}
	if _, err := db.ReferTask(ctx, c.No, "住建局", "请核实", actor(t, db, "zjj"), "test"); cases.ErrorCode(err) != cases.EForbidden {
		t.Errorf("a liaison's 转办: %v", err)
	}
	task, err := db.ReferTask(ctx, c.No, "住建局", "请核实危房情况", office, "test")
	if err != nil || task.Department != "住建局" || task.DueOn != cases.MustDate("2026-12-08") || task.Note != "请核实危房情况" {
		t.Fatalf("转办: %+v %v", task, err)
	}
	if _, err := db.ReferTask(ctx, c.No, "住建局", "请核实危房情况", office, "test"); cases.ErrorCode(err) != cases.EIllegal {
		t.Errorf("a second open task of one department: %v", err)
	}
	if ts := tasksOf(t, db, c); len(ts) != 1 {
		t.Errorf("tasks after refusals: %+v", ts)
	}
}

// A township's own finding (申报) of a monitored household is a case of kind 更新 at once; it
// numbers the month without marking the office's round dispatched, which the round then does.
func TestSelfFoundKindAndRound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	db.Now = func() time.Time { return cases.MustDate("2026-11-04").At(10, 0) }
	res, err := db.ReportSelfFound(ctx, cases.SelfFound{Source: cases.SourceApplied, IDNumber: p.C.ID, Name: p.C.Name,
		Category: cases.CatMedical, Situation: "住院费用较高", Actor: actor(t, db, "lisi"), Src: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Case
	if res.Merged || c.Kind != cases.KindUpdate || c.Township != "河口乡" || c.Source != cases.SourceApplied ||
		c.No != "YJ202611-0001" || c.DueOn != db.Cal.AddWorkingDays(cases.MustDate("2026-11-04"), 20) || c.HouseholdKey != "hh:H0002" {
		t.Fatalf("申报 of a monitored household: %+v", c)
	}
	var dispatched bool
	if err := db.Get(&dispatched, `SELECT dispatched FROM rounds WHERE month = '2026-11'`); err != nil {
		t.Fatal(err)
	}
	if dispatched {
		t.Errorf("a township's own case marked the month's round dispatched")
	}
	if _, err := db.ReportSelfFound(ctx, cases.SelfFound{Source: cases.SourceVisit, IDNumber: p.C.ID, Name: p.C.Name,
		Category: cases.CatMedical, Situation: "住院费用较高", Actor: actor(t, db, "zhangsan"), Src: "test"}); cases.ErrorCode(err) != cases.EForbidden {
		t.Errorf("another township's cadre reporting the household: %v", err)
	}
	round(t, db, "2026-11-10")
	var on cases.Date
	if err := db.Get(&dispatched, `SELECT dispatched FROM rounds WHERE month = '2026-11'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&on, `SELECT dispatched_on FROM rounds WHERE month = '2026-11'`); err != nil {
		t.Fatal(err)
	}
	if !dispatched || on != cases.MustDate("2026-11-10") {
		t.Errorf("the round after a township's own case: dispatched %v on %s", dispatched, on)
	}
}
