package postgres_test

import (
	"context"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// TestMonthLedgerListsEarlierMonthsOpenCases: 往月未办结 holds the earlier rounds' cases
// that were open when November ended — open still, or closed in December — with their round
// and the working days they were overdue on 30 November; not a case closed in October, not
// November's own, not December's. 监测对象类型 is the household's 户类型 in the registry, by
// its 户编号 or by the head's ID number.
func TestMonthLedgerListsEarlierMonthsOpenCases(t *testing.T) {
	t.Parallel()
	verify := func(on string, r cases.Result, note string) monthtest.Step {
		return monthtest.Step{On: on, Action: cases.ActVerify, Result: r, Note: note}
	}
	enter := func(on string) monthtest.Step { return monthtest.Step{On: on, Action: cases.ActEnter} }
	plan := []monthtest.Case{
		{Round: "2026-11", Township: "城关镇", Village: "东街村", Head: "王本月", HeadID: "990101199001011234",
			Categories: []cases.Category{cases.CatMedical}, DueOn: "2026-12-08",
			Steps: []monthtest.Step{verify("2026-11-20", cases.ResultInclude, "已安排临时救助，落实帮扶责任人")}},
		{Round: "2026-10", Township: "城关镇", Village: "西街村", Head: "李未办", HeadID: "990101198502021234",
			Categories: []cases.Category{cases.CatMedical}, DueOn: "2026-11-06"},
		{Round: "2026-10", Township: "河口乡", Village: "河东村", Head: "张腊月办结", HeadID: "990101197003031234",
			Categories: []cases.Category{cases.CatAssistance}, DueOn: "2026-11-06",
			Steps: []monthtest.Step{verify("2026-10-20", cases.ResultInclude, "纳入监测"), enter("2026-12-03")}},
		{Round: "2026-10", Township: "河口乡", Village: "河东村", Head: "赵十月办结", HeadID: "990101196004041234",
			Categories: []cases.Category{cases.CatMedical}, DueOn: "2026-11-06",
			Steps: []monthtest.Step{verify("2026-10-20", cases.ResultExclude, "家庭年人均收入高于监测标准")}},
		{Round: "2026-09", Township: "河口乡", Village: "河西村", Head: "钱未到期", HeadID: "990101199505051234",
			Categories: []cases.Category{cases.CatMedical}, DueOn: "2026-12-20",
			Steps: []monthtest.Step{verify("2026-09-20", cases.ResultMonitored, "已在监测")}},
		{Round: "2026-12", Township: "城关镇", Village: "东街村", Head: "孙下月", HeadID: "990101198806061234",
			Categories: []cases.Category{cases.CatMedical}, DueOn: "2027-01-08"},
	}
	db, nos, _ := monthtest.SetupWith(t, plan, monthtest.Dispatch)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO registry_households (household_no, head_id_number, township_id, village, kind, risk_status)
			VALUES ('4211230010010001', '990101199001011234', (SELECT id FROM townships WHERE name = '城关镇'), '东街村', '脱贫户', '未消除'),
			       ('4211230010010002', '990101000000000000', (SELECT id FROM townships WHERE name = '城关镇'), '西街村', '边缘易致贫户', '未消除')`,
		`INSERT INTO registry_members (id_number, household_no, name, relation) VALUES ('990101199001011234', '4211230010010001', '王本月', '户主')`,
		`UPDATE cases SET household_no = '4211230010010002' WHERE case_no = '` + nos[1] + `'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.SealStored(t, db) // the registry rows as the store keeps them (docs/encryption.md)
	l, err := db.MonthLedger(ctx, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Cases) != 1 || l.Cases[0].No != nos[0] {
		t.Fatalf("the month's cases %+v", l.Cases)
	}
	if c := l.Cases[0]; c.HouseholdKind != "脱贫户" || c.Note() != "已安排临时救助，落实帮扶责任人" || c.Round != "2026-11" {
		t.Errorf("监测对象类型 %q, 核查说明 %q, round %q", c.HouseholdKind, c.Note(), c.Round)
	}
	want := []struct {
		no, round, kind string
		status          cases.Status
		overdue         int
	}{
		{nos[4], "2026-09", "", cases.StatusVerified, 0}, // due 12-20: not yet due on 11-30
		{nos[1], "2026-10", "边缘易致贫户", cases.StatusDispatched, 16},
		{nos[2], "2026-10", "", cases.StatusClosed, 16}, // closed on 12-03, open on 11-30
	}
	if len(l.Unfinished) != len(want) {
		t.Fatalf("往月未办结 has %d cases, want %d: %+v", len(l.Unfinished), len(want), l.Unfinished)
	}
	for i, w := range want {
		u := l.Unfinished[i]
		if u.No != w.no || u.Round != w.round || u.HouseholdKind != w.kind || u.Status != w.status || u.DaysOverdue != w.overdue {
			t.Errorf("往月未办结 %d: %s round %s kind %q status %s overdue %d, want %+v", i, u.No, u.Round, u.HouseholdKind, u.Status, u.DaysOverdue, w)
		}
	}
	if len(l.Unfinished[2].Tasks) != 0 || l.Unfinished[2].Note() != "纳入监测" {
		t.Errorf("closed-later case: tasks %v note %q", l.Unfinished[2].Tasks, l.Unfinished[2].Note())
	}

	// A month in progress counts the days overdue up to today.
	l, err = db.MonthLedger(ctx, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range l.Unfinished {
		got = append(got, u.No)
		if u.No == nos[1] && u.DaysOverdue != 24 { // 11-06 to 12-10: 16 + 8 working days
			t.Errorf("%s overdue %d working days on 12-10, want 24", u.No, u.DaysOverdue)
		}
	}
	if len(got) != 3 || got[0] != nos[4] || got[1] != nos[1] || got[2] != nos[0] {
		t.Errorf("往月未办结 of December %v, want %s %s %s (the one entered on 12-03 is closed)", got, nos[4], nos[1], nos[0])
	}
}
