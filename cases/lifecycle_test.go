package cases

import (
	"strings"
	"testing"
	"time"
)

func sampleCase(s Status) Case {
	c := Case{
		No: "YJ202611-0001", Township: "城关镇", Status: s,
		DispatchedAt: MustDate("2026-11-10").At(10, 0), DueOn: MustDate("2026-12-08"),
	}
	switch s {
	case StatusVerified:
		c.Result = ResultInclude
	case StatusClosed:
		c.Result = ResultExclude
		c.Reason = "家庭收入稳定，无返贫风险"
		closed := MustDate("2026-11-20").At(10, 0)
		c.ClosedAt = &closed
	}
	return c
}

var (
	cadre      = Actor{UserID: "zhangsan", Role: RoleCadre, Township: "城关镇"}
	otherCadre = Actor{UserID: "lisi", Role: RoleCadre, Township: "河口乡"}
	supervisor = Actor{UserID: "sunqi", Role: RoleSupervisor}
	office     = Actor{UserID: "zhaoliu", Role: RoleOffice}
)

// TestTransitionTable walks every state × action with an allowed actor and a valid command,
// and says which ones must be accepted and what they lead to.
func TestTransitionTable(t *testing.T) {
	cal := NewCalendar()
	now := MustDate("2026-11-25").At(15, 0)
	cmds := map[Action]struct {
		actor Actor
		cmd   Command
	}{
		ActVerify:      {cadre, Command{Action: ActVerify, Result: ResultInclude, Reason: "符合监测条件"}},
		ActEnter:       {cadre, Command{Action: ActEnter}},
		ActSpotPass:    {supervisor, Command{Action: ActSpotPass}},
		ActSpotFail:    {supervisor, Command{Action: ActSpotFail, Reason: "未入户核查"}},
		ActAddWarnings: {office, Command{Action: ActAddWarnings}},
	}
	// want[status][action] = resulting status, or "" when it must be refused.
	want := map[Status]map[Action]Status{
		// Spot checks cover open cases too (docs/chat.md): they leave an open case as it is.
		StatusDispatched: {ActVerify: StatusVerified, ActEnter: "", ActSpotPass: StatusDispatched, ActSpotFail: StatusDispatched, ActAddWarnings: StatusDispatched},
		StatusVerified:   {ActVerify: StatusVerified, ActEnter: StatusClosed, ActSpotPass: StatusVerified, ActSpotFail: StatusVerified, ActAddWarnings: StatusVerified},
		StatusClosed:     {ActVerify: "", ActEnter: "", ActSpotPass: StatusClosed, ActSpotFail: StatusReturned, ActAddWarnings: ""},
		StatusReturned:   {ActVerify: StatusVerified, ActEnter: "", ActSpotPass: StatusReturned, ActSpotFail: StatusReturned, ActAddWarnings: StatusReturned},
	}
	for _, s := range Statuses {
		for _, a := range Actions {
			tc := cmds[a]
			tc.cmd.Now = now
			got, err := Apply(sampleCase(s), tc.actor, tc.cmd, cal)
			exp := want[s][a]
			if exp == "" {
				if err == nil {
					t.Errorf("%s × %s: accepted (→ %s), want refused", s, a, got.Status)
				} else if ErrorCode(err) != EIllegal {
					t.Errorf("%s × %s: refused with %v, want an illegal-transition refusal", s, a, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s × %s: refused: %v", s, a, err)
				continue
			}
			if got.Status != exp {
				t.Errorf("%s × %s: → %s, want %s", s, a, got.Status, exp)
			}
		}
	}
}

func TestVerifyExcludeNeedsReasonAndCloses(t *testing.T) {
	cal := NewCalendar()
	now := time.Now()
	_, err := Apply(sampleCase(StatusDispatched), cadre, Command{Action: ActVerify, Result: ResultExclude, Now: now}, cal)
	if ErrorCode(err) != EInvalid || !strings.Contains(ErrorMessage(err), "理由") {
		t.Fatalf("不纳入 without reason: %v", err)
	}
	got, err := Apply(sampleCase(StatusDispatched), cadre, Command{Action: ActVerify, Result: ResultExclude, Reason: "家庭收入稳定，无返贫风险", Now: now}, cal)
	if err != nil || got.Status != StatusClosed || got.ClosedAt == nil {
		t.Fatalf("不纳入 with reason: %+v, %v", got, err)
	}
}

func TestScopeRefusals(t *testing.T) {
	cal := NewCalendar()
	now := MustDate("2026-11-25").At(9, 0)
	c := sampleCase(StatusDispatched)
	_, err := Apply(c, otherCadre, Command{Action: ActVerify, Result: ResultInclude, Now: now}, cal)
	if ErrorCode(err) != EForbidden || !strings.Contains(ErrorMessage(err), "城关镇") {
		t.Errorf("other township's cadre: %v", err)
	}
	_, err = Apply(c, office, Command{Action: ActVerify, Result: ResultInclude, Now: now}, cal)
	if ErrorCode(err) != EForbidden {
		t.Errorf("office verifying: %v", err)
	}
	liaison := Actor{UserID: "wangwu", Role: RoleLiaison, Department: "住建局"}
	_, err = Apply(c, liaison, Command{Action: ActVerify, Result: ResultInclude, Now: now}, cal)
	if ErrorCode(err) != EForbidden {
		t.Errorf("liaison on township case: %v", err)
	}
	c.Department = "住建局"
	if _, err = Apply(c, liaison, Command{Action: ActVerify, Result: ResultInclude, Now: now}, cal); err != nil {
		t.Errorf("liaison on own department's case: %v", err)
	}
	_, err = Apply(sampleCase(StatusClosed), cadre, Command{Action: ActSpotFail, Reason: "不实", Now: now}, cal)
	if ErrorCode(err) != EForbidden {
		t.Errorf("cadre spot-checking: %v", err)
	}
}

func TestEnterDateBounds(t *testing.T) {
	cal := NewCalendar()
	now := MustDate("2026-11-25").At(9, 0)
	c := sampleCase(StatusVerified)
	for _, d := range []string{"2026-11-26", "2026-11-09"} {
		if _, err := Apply(c, cadre, Command{Action: ActEnter, Date: MustDate(d), Now: now}, cal); ErrorCode(err) != EInvalid {
			t.Errorf("录入 %s: %v, want refused", d, err)
		}
	}
	got, err := Apply(c, cadre, Command{Action: ActEnter, Now: now}, cal)
	if err != nil || got.EnteredOn == nil || got.EnteredOn.String() != "2026-11-25" {
		t.Fatalf("录入 today: %+v %v", got.EnteredOn, err)
	}
	if ot := OnTime(got); ot == nil || !*ot {
		t.Error("closed 2026-11-25 with due 2026-12-08 should be on time")
	}
}

func TestSpotFailReturnsWithNewDueDate(t *testing.T) {
	cal := NewCalendar()
	now := MustDate("2026-12-01").At(9, 0)
	got, err := Apply(sampleCase(StatusClosed), supervisor, Command{Action: ActSpotFail, Reason: "未实际入户", Now: now}, cal)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusReturned || got.DueOn.String() != "2026-12-15" || got.Returns != 1 || got.Result != ResultNone {
		t.Errorf("returned case: status %s due %s returns %d result %q", got.Status, got.DueOn, got.Returns, got.Result)
	}
	if got.OriginalDueOn == nil || got.OriginalDueOn.String() != "2026-12-08" {
		t.Errorf("the original due date is kept: %v", got.OriginalDueOn)
	}
	// Returned twice: the original stays the first one.
	again := got
	again.Status, again.Result = StatusClosed, ResultExclude
	closed := MustDate("2026-12-10").At(10, 0)
	again.ClosedAt = &closed
	got2, err := Apply(again, supervisor, Command{Action: ActSpotFail, Reason: "理由不实", Now: MustDate("2026-12-11").At(9, 0)}, cal)
	if err != nil || got2.OriginalDueOn.String() != "2026-12-08" || got2.Returns != 2 {
		t.Errorf("second return: original %v returns %d err %v", got2.OriginalDueOn, got2.Returns, err)
	}
}

func TestSpotFailOnAnOpenCaseKeepsItsDueDate(t *testing.T) {
	cal := NewCalendar()
	now := MustDate("2026-12-10").At(9, 0) // after due 2026-12-08: the case is late and stays late
	for _, s := range []Status{StatusDispatched, StatusVerified, StatusReturned} {
		before := sampleCase(s)
		got, err := Apply(before, supervisor, Command{Action: ActSpotFail, Reason: "进度滞后，未入户", Now: now}, cal)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got.Status != s || got.DueOn != before.DueOn || got.Returns != 0 || got.OriginalDueOn != nil {
			t.Errorf("%s: spot fail changed the open case: %+v", s, got)
		}
		if !Late(got, DateOf(now)) {
			t.Errorf("%s: the case must still show as late", s)
		}
	}
}

// A township's own finding (申报/走访) joins its open case: a cadre of that township may add
// warnings, a cadre of another may not; the due date moves only later, never earlier.
func TestCadreAddsWarnings(t *testing.T) {
	cal := NewCalendar()
	c := Case{No: "YJ202611-0001", Township: "城关镇", Status: StatusDispatched, DueOn: MustDate("2026-12-08")}
	now := MustDate("2026-11-20").At(10, 0)
	mine := Actor{UserID: "zhangsan", Role: RoleCadre, Township: "城关镇"}
	other := Actor{UserID: "lisi", Role: RoleCadre, Township: "河口乡"}
	if _, err := Apply(c, other, Command{Action: ActAddWarnings, Now: now}, cal); ErrorCode(err) != EForbidden {
		t.Errorf("another township's cadre: %v", err)
	}
	later, err := Apply(c, mine, Command{Action: ActAddWarnings, Now: now, Date: MustDate("2026-12-18")}, cal)
	if err != nil || later.DueOn != MustDate("2026-12-18") {
		t.Errorf("a new problem: due %s, %v", later.DueOn, err)
	}
	if kept, _ := Apply(c, mine, Command{Action: ActAddWarnings, Now: now, Date: MustDate("2026-12-01")}, cal); kept.DueOn != c.DueOn {
		t.Errorf("an earlier date moved due_on to %s", kept.DueOn)
	}
}
