package intake_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// 人员变动 (docs/held-and-tasks.md): each row updates the registry with history; a change in a 脱贫户 or
// monitored household becomes a 信息变更 case at the next round; the death of a household's
// only working-age member raises a 因就业不稳 warning; rows naming nobody change nothing.
func TestPopulationUpdatesTheRegistry(t *testing.T) {
	t.Parallel()
	f := setup(t)
	g := f.gen
	ctx := context.Background()
	// A 脱贫户 whose only working-age member dies: the head is 76, the child 11.
	old, worker, child := g.IDNumber(1950), g.IDNumber(1985), g.IDNumber(2015)
	extra := []cases.RegistryMember{
		{HouseholdNo: "W1", HeadIDNumber: old, Name: "孙老汉", IDNumber: old, Relation: "户主", Township: "河口乡", Village: "河口村", Kind: cases.HouseholdLifted, RiskStatus: cases.RiskCleared},
		{HouseholdNo: "W1", HeadIDNumber: old, Name: "孙壮", IDNumber: worker, Relation: "子", Township: "河口乡", Village: "河口村", Kind: cases.HouseholdLifted, RiskStatus: cases.RiskCleared},
		{HouseholdNo: "W1", HeadIDNumber: old, Name: "孙小", IDNumber: child, Relation: "孙子", Township: "河口乡", Village: "河口村", Kind: cases.HouseholdLifted, RiskStatus: cases.RiskCleared},
	}
	if err := f.db.UpsertRegistry(ctx, extra); err != nil {
		t.Fatal(err)
	}
	pgtest.SealStored(t, f.db)
	baby, stranger := g.IDNumber(2026), g.IDNumber(1970)
	mover := f.members[2] // a member of the 脱贫户 of f.head
	b := f.importBytes(t, "公安局", cases.CatPopulation, csvOf("姓名,身份证号,乡镇,村,户主身份证号,变动类型,变动日期",
		"孙壮,"+worker+",河口乡,河口村,"+old+",死亡,2026-10-12",
		"新生,"+baby+",城关镇,示例一村,"+f.head.IDNumber+",出生,2026/10/3",
		mover.Name+","+mover.IDNumber+",河口乡,河口村,,迁入,20261020",
		f.edge.Name+","+f.edge.IDNumber+",城关镇,示例一村,,迁出,2026-10-25",
		"路人,"+stranger+",城关镇,,,死亡,2026-10-30",
	))
	js, _ := json.Marshal(b)
	if b.Accepted != 5 || b.RegistryUpdates == nil || *b.RegistryUpdates != 4 || b.NotInRegistry == nil || *b.NotInRegistry != 1 {
		t.Fatalf("population import: %s", js)
	}
	if !strings.Contains(string(js), `"registry_updates":4,"not_in_registry":1`) {
		t.Errorf("import JSON lacks the population counts: %s", js)
	}
	member := func(id string) cases.MemberRecord {
		t.Helper()
		r, err := f.db.RegistryMember(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := member(worker); r.Status != cases.MemberDeceased || len(r.History) != 1 || r.History[0].Change != "死亡" ||
		r.History[0].Date.String() != "2026-10-12" || r.History[0].BatchID != b.ID {
		t.Errorf("the deceased (never deleted): %+v", r)
	}
	if r := member(baby); r.Status != cases.MemberActive || r.Household != f.head.HouseholdNo || r.Township != "城关镇" {
		t.Errorf("the newborn joins the household of 户主身份证号: %+v", r)
	}
	if r := member(mover.IDNumber); r.Township != "河口乡" || r.Village != "河口村" || r.Household != mover.HouseholdNo {
		t.Errorf("迁入 updates township and village: %+v", r)
	}
	if r := member(f.edge.IDNumber); r.Status != cases.MemberMovedOut {
		t.Errorf("迁出 out of the county: %+v", r)
	}
	if _, err := f.db.RegistryMember(ctx, stranger); cases.ErrorCode(err) != cases.ENotFound {
		t.Errorf("a stranger is not added: %v", err)
	}
	// The same file again changes nothing.
	again := f.importBytes(t, "公安局", cases.CatPopulation, csvOf("姓名,身份证号,乡镇,村,户主身份证号,变动类型,变动日期",
		"孙壮,"+worker+",河口乡,河口村,"+old+",死亡,2026-10-12",
		"新生,"+baby+",城关镇,示例一村,"+f.head.IDNumber+",出生,2026/10/3",
		mover.Name+","+mover.IDNumber+",河口乡,河口村,,迁入,20261020",
		f.edge.Name+","+f.edge.IDNumber+",城关镇,示例一村,,迁出,2026-10-25",
		"路人,"+stranger+",城关镇,,,死亡,2026-10-30",
	))
	if again.DuplicateOf == nil || len(member(worker).History) != 1 {
		t.Errorf("the same file twice: %+v", again)
	}

	// The round: a 信息变更 case per household (三户: W1, the head's, the edge household), due
	// the end of the month after dispatch, source 人员变动; and the only-worker warning becomes
	// a 因就业不稳 case of W1.
	res, err := f.db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10")})
	if err != nil {
		t.Fatal(err)
	}
	if res.CasesCreated != 4 {
		t.Fatalf("round: %+v", res)
	}
	var rows []struct {
		Kind   string     `db:"kind"`
		Key    string     `db:"household_key"`
		Source string     `db:"source"`
		Due    cases.Date `db:"due_on"`
		Cats   string     `db:"cats"`
	}
	if err := f.db.SelectContext(ctx, &rows, `SELECT c.kind, c.household_key, c.source, c.due_on,
		(SELECT string_agg(DISTINCT w.category, ',') FROM warnings w WHERE w.case_id = c.id) AS cats
		FROM cases c ORDER BY c.household_key`); err != nil {
		t.Fatal(err)
	}
	info, employment := 0, 0
	for _, r := range rows {
		switch r.Kind {
		case string(cases.KindInfo):
			info++
			if r.Source != "population" || r.Due.String() != "2026-12-31" || r.Cats != "population" {
				t.Errorf("信息变更 case: %+v", r)
			}
		default:
			employment++
			if r.Key != "hh:W1" || r.Cats != "employment" || r.Source != "screening" {
				t.Errorf("only-worker case: %+v", r)
			}
		}
	}
	if info != 3 || employment != 1 {
		t.Errorf("cases %+v", rows)
	}
	// 录入 alone closes a 信息变更 case; 核查 is refused.
	var no, town string
	if err := f.db.QueryRowxContext(ctx, `SELECT c.case_no, t.name FROM cases c JOIN townships t ON t.id = c.township_id
		WHERE c.kind = 'info' ORDER BY c.case_no LIMIT 1`).Scan(&no, &town); err != nil {
		t.Fatal(err)
	}
	cadre := cases.Actor{UserID: "c", Name: "干部", Role: cases.RoleCadre, Township: town}
	at := cases.MustDate("2026-11-20").At(10, 0)
	if _, err := f.db.Transition(ctx, no, cadre, cases.Command{Action: cases.ActVerify, Result: cases.ResultInclude, Reason: "已核实", Now: at}, "test"); cases.ErrorCode(err) != cases.EIllegal {
		t.Errorf("核查 of %s: %v", no, err)
	}
	if c, err := f.db.Transition(ctx, no, cadre, cases.Command{Action: cases.ActEnter, Date: cases.MustDate("2026-11-19"), Now: at}, "test"); err != nil ||
		c.Status != cases.StatusClosed {
		t.Errorf("录入 of %s: %+v %v", no, c, err)
	}
	// Later comparisons use the updated registry: the member who moved out no longer places a
	// row in the monitored household.
	later := f.importBytes(t, "民政局", cases.CatAssistance, csvOf("姓名,身份证号,乡镇,救助类别,认定日期",
		f.edge.Name+","+f.edge.IDNumber+",城关镇,低保,2026-11-01"))
	res, err = f.db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-11")})
	if err != nil || later.Warnings != 1 || res.CasesCreated != 1 {
		t.Fatalf("later round: %+v %+v %v", later, res, err)
	}
	var key string
	if err := f.db.GetContext(ctx, &key, `SELECT c.household_key FROM cases c JOIN warnings w ON w.case_id = c.id WHERE w.batch_id = $1`, later.ID); err != nil {
		t.Fatal(err)
	}
	if key != "head:"+f.db.Keys.IDHash(f.edge.IDNumber) { // household keys name people by hash (docs/encryption.md)
		t.Errorf("the moved-out member's new warning went to %q, want a household of their own", key)
	}
}
