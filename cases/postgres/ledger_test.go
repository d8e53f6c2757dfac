package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

const testOrg = `
county: 测试县
townships:
  - name: 城关镇
    aliases: [城关]
    chat: {appchat: wrCG0001}
  - name: 河口乡
    chat: {webhook_key: hekou-key}
departments:
  - name: 住建局
    categories: [assurance]
users:
  - {userid: zhangsan, name: 张三, role: cadre, township: 城关}
  - {userid: lisi, name: 李四, role: cadre, township: 河口乡}
  - {userid: zjj, name: 住小建, role: liaison, department: 住建局}
  - {userid: zhaoliu, name: 赵六, role: office}
  - {userid: sunqi, name: 孙七, role: supervisor}
`

func setup(t *testing.T) *postgres.DB {
	t.Helper()
	db := pgtest.New(t)
	org, err := orgfile.Parse([]byte(testOrg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	return db
}

func openCase(t *testing.T, db *postgres.DB, key, township, dept string) string {
	t.Helper()
	ctx := context.Background()
	var no string
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := postgres.EnsureRound(ctx, tx, "2026-11", cases.MustDate("2026-11-10")); err != nil {
			return err
		}
		var err error
		_, no, err = postgres.InsertCase(ctx, tx, db.Keys, postgres.NewCase{
			Round: "2026-11", Kind: cases.KindNew, HouseholdKey: key, HeadName: "王试一",
			Township: township, Department: dept, DispatchedAt: cases.MustDate("2026-11-10").At(10, 0),
			DueOn: cases.MustDate("2026-12-08"),
		}, cases.System, "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return no
}

func TestApplyOrgIsIdempotent(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	org, _ := orgfile.Parse([]byte(testOrg))
	s, err := db.ApplyOrg(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if s != (postgres.OrgSummary{Townships: 2, Departments: 1, Users: 5}) {
		t.Fatalf("summary after second apply: %+v", s)
	}
	a, err := db.Actor(ctx, "zhangsan")
	if err != nil || a.Township != "城关镇" || a.Role != cases.RoleCadre {
		t.Fatalf("cadre via alias: %+v %v", a, err)
	}
	if _, err := db.Actor(ctx, "stranger"); cases.ErrorCode(err) != cases.ENotFound {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestCaseNumbersAndLifecycleWithAudit(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	db.Now = func() time.Time { return cases.MustDate("2026-11-20").At(15, 0) }
	no1 := openCase(t, db, "H1", "城关镇", "")
	no2 := openCase(t, db, "H2", "城关镇", "")
	if no1 != "YJ202611-0001" || no2 != "YJ202611-0002" {
		t.Fatalf("case numbers %s, %s", no1, no2)
	}
	cadre, _ := db.Actor(ctx, "zhangsan")
	other, _ := db.Actor(ctx, "lisi")
	sup, _ := db.Actor(ctx, "sunqi")

	if _, err := db.Transition(ctx, no1, other, cases.Command{Action: cases.ActVerify, Result: cases.ResultInclude}, "msg-0"); cases.ErrorCode(err) != cases.EForbidden {
		t.Fatalf("other township: %v", err)
	}
	// Lower case and full-width input find the case.
	c, err := db.Transition(ctx, "yj202611-０００1", cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultInclude, Reason: "符合监测条件"}, "msg-1")
	if err != nil || c.Status != cases.StatusVerified {
		t.Fatalf("verify: %+v %v", c.Status, err)
	}
	c, err = db.Transition(ctx, no1, cadre, cases.Command{Action: cases.ActEnter, Date: cases.MustDate("2026-11-19")}, "msg-2")
	if err != nil || c.Status != cases.StatusClosed || c.EnteredOn.String() != "2026-11-19" {
		t.Fatalf("enter: %+v %v", c, err)
	}
	c, err = db.Transition(ctx, no1, sup, cases.Command{Action: cases.ActSpotFail, Reason: "未实际入户"}, "msg-3")
	if err != nil || c.Status != cases.StatusReturned || c.DueOn.String() != "2026-12-04" {
		t.Fatalf("spot fail: %+v %v", c, err)
	}
	if _, err := db.Transition(ctx, no1, cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude}, "msg-4"); cases.ErrorCode(err) != cases.EInvalid {
		t.Fatalf("不纳入 without reason: %v", err)
	}
	if _, err := db.Transition(ctx, no1, cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: "复核后家庭收入稳定"}, "msg-5"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.CaseByNo(ctx, no1)
	events, err := db.Events(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, e := range events {
		trail = append(trail, e.Action+":"+e.From+">"+e.To+"@"+e.Actor+"#"+e.Source)
	}
	want := []string{
		"dispatch:>dispatched@system#test",
		"verify:dispatched>verified@zhangsan#msg-1",
		"enter:verified>closed@zhangsan#msg-2",
		"spotcheck_fail:closed>returned@sunqi#msg-3",
		"verify:returned>closed@zhangsan#msg-5",
	}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit trail:\n%s\nwant:\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
}

func TestHookFailureRollsBackTheTransition(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	no := openCase(t, db, "H1", "城关镇", "")
	cadre, _ := db.Actor(ctx, "zhangsan")
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{func(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
		return context.DeadlineExceeded
	}}})
	if _, err := db.Transition(ctx, no, cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultInclude}, "m"); err == nil {
		t.Fatal("transition succeeded although its hook failed")
	}
	c, _ := db.CaseByNo(ctx, no)
	events, _ := db.Events(ctx, c.ID)
	if c.Status != cases.StatusDispatched || len(events) != 1 {
		t.Fatalf("after a failed hook: status %s, %d events; want dispatched and only the dispatch event", c.Status, len(events))
	}
}

func TestConcurrentTransitionsSerialize(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	no := openCase(t, db, "H1", "城关镇", "")
	cadre, _ := db.Actor(ctx, "zhangsan")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Transition(ctx, no, cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: "家庭收入稳定无风险"}, "same-msg")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 8 concurrent closings succeeded, want exactly 1", ok)
	}
}

func TestOneOpenCasePerHousehold(t *testing.T) {
	t.Parallel()
	db := setup(t)
	openCase(t, db, "H1", "城关镇", "")
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		_, _, err := postgres.InsertCase(ctx, tx, db.Keys, postgres.NewCase{Round: "2026-11", Kind: cases.KindNew, HouseholdKey: "H1",
			Township: "城关镇", DispatchedAt: time.Now(), DueOn: cases.MustDate("2026-12-08")}, cases.System, "test")
		return err
	})
	if err == nil {
		t.Fatal("a second open case for the same household was accepted")
	}
}

func TestLiaisonActsOnDepartmentCase(t *testing.T) {
	t.Parallel()
	db := setup(t)
	ctx := context.Background()
	no := openCase(t, db, "H9", "河口乡", "住建局")
	l, _ := db.Actor(ctx, "zjj")
	c, err := db.Transition(ctx, no, l, cases.Command{Action: cases.ActVerify, Result: cases.ResultMonitored, Reason: "已安排危房改造"}, "m")
	if err != nil || c.Department != "住建局" {
		t.Fatalf("liaison verify: %+v %v", c, err)
	}
	list, err := db.ListCases(ctx, cases.CaseFilter{Department: "住建局", OpenOnly: true})
	if err != nil || len(list) != 1 || list[0].No != no {
		t.Fatalf("ListCases by department: %v %v", list, err)
	}
}
