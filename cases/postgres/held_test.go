package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// A household verified 纳入 or 已在监测 and entered (closed) is held as 比对已核 when the next
// round brings the same problems (year-to-date medical figures, a department's re-send): only
// 不纳入 closures were held before, so verified households came back every month. A case
// verified but not entered yet is still open and takes the warnings as 补充预警.
func TestVerifiedHouseholdsAreHeldWhateverTheResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	// Each round's warnings name the month before it, as departments' pushes do: a
	// warning of the same person, category and period twice is a duplicate (docs/dispatch.md).
	period := "2026-10"
	w := func(x pgtest.Warning) { x.Period = period; pgtest.InsertWarning(t, db, x) }
	medical := func(amount string) {
		w(pgtest.Warning{Department: "医保局", Category: "medical", Rule: "inpatient_other", Amount: amount, IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇", Village: "东村"})
	}
	employment := func() {
		w(pgtest.Warning{Department: "人社局", Category: "employment", Rule: "every_row", IDNumber: p.C.ID, Name: p.C.Name, Township: "河口乡", Village: "西村"})
	}
	assistance := func() {
		w(pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row", IDNumber: p.F.ID, Name: p.F.Name, Township: "城关镇", Village: "北村"})
	}
	medical("10000.00")
	employment()
	assistance()
	if nov := round(t, db, "2026-11-10"); nov.CasesCreated != 3 {
		t.Fatalf("November: %+v, want 3 cases", nov)
	}
	b, c, f := caseOf(t, db, "hh:H0001", true), caseOf(t, db, "hh:H0002", true), caseOf(t, db, "head:"+p.F.ID, true)
	db.Now = func() time.Time { return cases.MustDate("2026-11-20").At(10, 0) }
	for _, x := range []struct {
		no, user string
		result   cases.Result
		enter    bool
	}{
		{b.No, "zhangsan", cases.ResultInclude, true},
		{c.No, "lisi", cases.ResultMonitored, true},
		{f.No, "zhangsan", cases.ResultInclude, false}, // awaiting 录入: still open
	} {
		if _, err := db.Transition(ctx, x.no, actor(t, db, x.user), cases.Command{Action: cases.ActVerify, Result: x.result,
			Reason: "已落实帮扶措施，纳入监测"}, "test"); err != nil {
			t.Fatal(err)
		}
		if x.enter {
			if _, err := db.Transition(ctx, x.no, actor(t, db, x.user), cases.Command{Action: cases.ActEnter,
				Date: cases.MustDate("2026-11-20")}, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}

	period = "2026-11"
	// December: B's year-to-date figure grew by 40 %, 人社局 re-sends C, 民政局 re-sends F.
	medical("14000.00")
	employment()
	assistance()
	dec := round(t, db, "2026-12-10")
	if dec.CasesCreated != 0 || dec.Merged != 1 || dec.Held != 2 {
		t.Fatalf("December: %+v, want B and C held, F merged into its open case", dec)
	}
	reasons := map[string]string{}
	for _, h := range dec.HeldList {
		reasons[h.EarlierCase] = h.Reason
	}
	if r := reasons[b.No]; !strings.Contains(r, "纳入") || !strings.Contains(r, "2026-11-20") {
		t.Errorf("held against %s: reason %q, want the result 纳入 and the closing day", b.No, r)
	}
	if r := reasons[c.No]; !strings.Contains(r, "已在监测") {
		t.Errorf("held against %s: reason %q, want the result 已在监测", c.No, r)
	}
	var heldOn []int64
	if err := db.Select(&heldOn, `SELECT case_id FROM warnings WHERE held_round = '2026-12' ORDER BY case_id`); err != nil {
		t.Fatal(err)
	}
	if len(heldOn) != 2 || heldOn[0] != b.ID || heldOn[1] != c.ID {
		t.Errorf("held warnings linked to %v, want [%d %d]", heldOn, b.ID, c.ID)
	}

	period = "2026-12"
	// January: B's figure is 50 % above the verified 10000: a new case.
	medical("15000.00")
	jan := round(t, db, "2027-01-11")
	if jan.CasesCreated != 1 || jan.Held != 0 {
		t.Errorf("January: %+v, want B released as a new case", jan)
	}
}
