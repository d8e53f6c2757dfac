package postgres_test

import (
	"context"
	"github.com/fangpin/fangpin/cases/postgres"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

func TestDrawSpotChecksIsReproducibleAndIdempotent(t *testing.T) {
	t.Parallel()
	db, _ := monthtest.Setup(t)
	ctx := context.Background()
	var before int
	before = pgtest.Count(t, db, `SELECT count(*) FROM spot_checks`)
	var had []string
	if err := db.Select(&had, `SELECT c.case_no FROM spot_checks s JOIN cases c ON c.id = s.case_id WHERE s.month = $1`, monthtest.Month); err != nil {
		t.Fatal(err)
	}
	already := map[string]bool{}
	for _, no := range had {
		already[no] = true
	}
	calls := 0
	picks, err := db.DrawSpotChecks(ctx, monthtest.Month, 0.5, 1, func(ctx context.Context, tx cases.Tx, p []cases.SpotPick) error {
		calls++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every case of the month, open or closed (docs/chat.md): 10 cases, 50 % is 5 picks, spread
	// over both townships, open cases among them.
	towns := map[string]bool{}
	open := 0
	for _, p := range picks {
		towns[p.Township] = true
	}
	if len(picks) != 5 || len(towns) != 2 || calls != 1 {
		t.Fatalf("picks %+v (then called %d times)", picks, calls)
	}
	for _, p := range picks {
		c, err := db.CaseByNo(ctx, p.CaseNo)
		if err != nil || c.Round != monthtest.Month {
			t.Errorf("picked %s: %+v %v", p.CaseNo, c.Status, err)
		}
		if c.Status.Open() {
			open++
		}
	}
	if open == 0 {
		t.Errorf("no open case among the picks %+v: the draw must cover open cases too", picks)
	}
	again, err := db.DrawSpotChecks(ctx, monthtest.Month, 0.5, 1, nil)
	if err != nil || !reflect.DeepEqual(picks, again) {
		t.Fatalf("same seed again: %+v %v", again, err)
	}
	var after int
	after = pgtest.Count(t, db, `SELECT count(*) FROM spot_checks`)
	// Cases the fixture had already checked or picked keep their one row.
	fresh := 0
	for _, p := range picks {
		if !already[p.CaseNo] {
			fresh++
		}
	}
	if after-before != fresh || fresh == len(picks) {
		t.Errorf("%d spot_checks rows added, want %d of %d picks (one row per case and month)", after-before, fresh, len(picks))
	}
	seen := map[string]bool{}
	for seed := int64(2); seed <= 20; seed++ {
		p, err := db.DrawSpotChecks(ctx, monthtest.Month, 0.5, seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p {
			seen[x.CaseNo] = true
		}
	}
	if len(seen) != 10 {
		t.Errorf("19 other seeds picked %d distinct cases, want all 10 cases of the month at some point", len(seen))
	}
	if _, err := db.DrawSpotChecks(ctx, monthtest.Month, 1.5, 1, nil); cases.ErrorCode(err) != cases.EInvalid {
		t.Errorf("rate 1.5: %v", err)
	}
}

func TestSpotCheckFailureReturnsTheCaseThroughTransition(t *testing.T) {
	t.Parallel()
	db, nos := monthtest.Setup(t)
	ctx := context.Background()
	var hooked []cases.Case
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{func(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
		hooked = append(hooked, after)
		return nil
	}}})
	on := cases.MustDate("2026-12-11")
	db.Now = func() time.Time { return on.At(15, 0) }
	sup, _ := db.Actor(ctx, monthtest.Supervisor)
	no := nos[0] // closed on time, passed a spot check on 2026-12-01
	thenCalled := false
	c, err := db.SpotCheck(ctx, no, sup, false, "台账与实际不符", "msg-x", func(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
		thenCalled = before.Status == cases.StatusClosed && after.Status == cases.StatusReturned
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantDue := db.Cal.AddWorkingDays(on, 10)
	if c.Status != cases.StatusReturned || c.DueOn != wantDue || c.Returns != 1 || !thenCalled {
		t.Fatalf("after 不合格: %+v (due %s, want %s), then %v", c.Status, c.DueOn, wantDue, thenCalled)
	}
	if len(hooked) != 1 || hooked[0].Status != cases.StatusReturned {
		t.Fatalf("the store's CaseHooks did not see the return: %+v", hooked)
	}
	var row struct {
		Result   string `db:"result"`
		Failures int    `db:"failures"`
		Note     string `db:"note"`
		Sup      string `db:"supervisor"`
	}
	if err := db.Get(&row, `SELECT result, failures, note, supervisor FROM spot_checks WHERE case_id = $1 AND month = $2`, c.ID, monthtest.Month); err != nil {
		t.Fatal(err)
	}
	note, err := db.Keys.Open(row.Note)
	if row.Result != "fail" || row.Failures != 1 || note != "台账与实际不符" || !strings.HasPrefix(row.Note, "fp1.") || row.Sup != "sunqi" {
		t.Fatalf("spot_checks row %+v (note %q, %v): want the note sealed (docs/encryption.md)", row, note, err)
	}
	// An open case may be checked too: 不合格 keeps its status and due date (no second
	// return, no new deadline) and counts one more failure.
	again, err := db.SpotCheck(ctx, no, sup, false, "仍未入户", "msg-y", nil)
	if err != nil || again.Status != cases.StatusReturned || again.DueOn != wantDue || again.Returns != 1 {
		t.Fatalf("不合格 on the returned (open) case: %+v %v", again, err)
	}
	if again.OriginalDueOn == nil || again.OriginalDueOn.String() != "2026-12-08" {
		t.Errorf("original due date %v, want 2026-12-08", again.OriginalDueOn)
	}
	if err := db.Get(&row, `SELECT result, failures, note, supervisor FROM spot_checks WHERE case_id = $1 AND month = $2`, c.ID, monthtest.Month); err != nil {
		t.Fatal(err)
	}
	if row.Failures != 2 {
		t.Errorf("failures %d after a second 不合格, want 2", row.Failures)
	}
	open := nos[3] // dispatched, due 2026-11-20, never touched
	before, _ := db.CaseByNo(ctx, open)
	got, err := db.SpotCheck(ctx, open, sup, false, "进度滞后", "msg-w", nil)
	if err != nil || got.Status != before.Status || got.DueOn != before.DueOn || got.OriginalDueOn != nil {
		t.Fatalf("不合格 on an open case changed it: %+v → %+v %v", before, got, err)
	}
	// Only supervisors may record findings.
	office, _ := db.Actor(ctx, "zhaoliu")
	if _, err := db.SpotCheck(ctx, nos[2], office, true, "", "msg-z", nil); cases.ErrorCode(err) != cases.EForbidden {
		t.Fatalf("office recording a spot check: %v", err)
	}
}

// TestSpotCheckFailureOfAHouseholdWithAnotherOpenCase: a closed case cannot be returned
// while its household has a newer open case (one open case a household): the supervisor got
// "系统出了点问题" from the unique index. Now the refusal names the open case and what to do,
// and nothing changes.
func TestSpotCheckFailureOfAHouseholdWithAnotherOpenCase(t *testing.T) {
	t.Parallel()
	db, nos := monthtest.Setup(t)
	ctx := context.Background()
	on := cases.MustDate("2026-12-11")
	db.Now = func() time.Time { return on.At(15, 0) }
	closed, err := db.CaseByNo(ctx, nos[0])
	if err != nil || closed.Status != cases.StatusClosed {
		t.Fatalf("%s: %+v %v, want a closed case", nos[0], closed.Status, err)
	}
	var newer string
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := postgres.EnsureRound(ctx, tx, "2026-12", on); err != nil {
			return err
		}
		_, newer, err = postgres.InsertCase(ctx, tx, db.Keys, postgres.NewCase{Round: "2026-12", Kind: cases.KindNew,
			HouseholdKey: closed.HouseholdKey, HeadName: closed.HeadName, HeadIDNumber: closed.HeadIDNumber, Village: closed.Village,
			Township: closed.Township, DispatchedAt: on.At(9, 0), DueOn: db.Cal.AddWorkingDays(on, 20)}, cases.System, "test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sup, _ := db.Actor(ctx, monthtest.Supervisor)
	_, err = db.SpotCheck(ctx, nos[0], sup, false, "台账与实际不符", "msg-x", nil)
	if cases.ErrorCode(err) != cases.EConflict || !strings.Contains(cases.ErrorMessage(err), "该户已有在办案件 "+newer) {
		t.Fatalf("不合格 of %s beside open %s: %v, want a refusal naming %s", nos[0], newer, err, newer)
	}
	if c, _ := db.CaseByNo(ctx, nos[0]); c.Status != cases.StatusClosed || c.Returns != closed.Returns {
		t.Errorf("the refused 不合格 changed %s: %s, returns %d", c.No, c.Status, c.Returns)
	}
}
