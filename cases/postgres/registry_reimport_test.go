package postgres_test

import (
	"context"
	"github.com/fangpin/fangpin/announce"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// regMember is who of household no, headed by head, as a registry row gives them.
func regMember(no string, head, who dispatchtest.Person, rel, town, village, kind, risk string) cases.RegistryMember {
	return cases.RegistryMember{HouseholdNo: no, HeadIDNumber: head.ID, Name: who.Name, IDNumber: who.ID, Relation: rel,
		Township: town, Village: village, Kind: kind, RiskStatus: risk}
}

// TestRegistryReimportsOverMonths plays the county's monthly cycle with a registry that
// changes every month and a township renamed once (docs/registry.md).
func TestRegistryReimportsOverMonths(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	clock := cases.MustDate("2026-11-02").At(9, 0)
	db.Now = func() time.Time { return clock }
	g := synth.New(41)
	K := dispatchtest.Person{Name: "孔繁星", ID: g.IDNumber(1968)}
	L := dispatchtest.Person{Name: "林海", ID: g.IDNumber(1972)}
	M := dispatchtest.Person{Name: "马兰", ID: g.IDNumber(1980)}
	h1 := []cases.RegistryMember{
		regMember("H0001", p.A, p.A, "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
		regMember("H0001", p.A, p.B, "之子", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
	}
	h2 := regMember("H0002", p.C, p.C, "户主", "河口乡", "西村", cases.HouseholdEdge, cases.RiskOpen)
	h3 := regMember("H0003", K, K, "户主", "城关镇", "北村", cases.HouseholdEdge, cases.RiskOpen)
	h4 := regMember("H0004", L, L, "户主", "河口乡", "南村", cases.HouseholdLifted, cases.RiskCleared)
	h5 := regMember("H0005", M, M, "户主", "城关镇", "西村", cases.HouseholdLifted, cases.RiskCleared)
	ann := &announce.Announcer{}
	imp := func(ms []cases.RegistryMember, allow bool) (cases.RegistryImportResult, error) {
		return db.ImportRegistryAnnounced(ctx, ms, cases.RegistryImportOptions{AllowRemovals: allow}, ann.AnnounceMoves)
	}
	counts := func(r cases.RegistryImportResult) [4]int {
		return [4]int{r.Diff.Added, r.Diff.Changed, r.Diff.Moved, r.Diff.Removed}
	}

	// November: the full export adds three households to what dispatchtest set up.
	v1 := append(append([]cases.RegistryMember{}, h1...), h2, h3, h4, h5)
	r, err := imp(v1, false)
	if err != nil || counts(r) != [4]int{3, 0, 0, 0} || r.BatchID == "" {
		t.Fatalf("November import: %+v, %v; want 3 households added", r, err)
	}
	if r, err = imp(v1, false); err != nil || !r.Diff.Empty() || r.BatchID != "" {
		t.Fatalf("the identical file again: %+v, %v; want no change at all", r, err)
	}
	dispatchtest.Warn(t, db, p)
	clock = cases.MustDate("2026-11-10").At(9, 30)
	if _, err := db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10")}); err != nil {
		t.Fatal(err)
	}
	nov := map[string]cases.Case{}
	all, _ := db.ListCases(ctx, cases.CaseFilter{Round: "2026-11"})
	for _, c := range all {
		nov[c.HouseholdKey] = c
	}
	caseC, caseH1, caseF := nov["hh:H0002"], nov["hh:H0001"], nov["head:"+db.Keys.IDHash(p.F.ID)]
	if caseC.Township != "河口乡" || caseH1.No == "" || caseF.No == "" {
		t.Fatalf("November cases: %v", keys(nov))
	}

	// December: H0002 moved to 城关镇; H0003 left the registry; B left H0001 for a new
	// household H0006 together with F, who had a case as a non-registry person.
	clock = cases.MustDate("2026-12-01").At(9, 0)
	h2moved := regMember("H0002", p.C, p.C, "户主", "城关镇", "新村", cases.HouseholdEdge, cases.RiskOpen)
	v2 := []cases.RegistryMember{h1[0], h2moved, h4, h5,
		regMember("H0006", p.B, p.B, "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
		regMember("H0006", p.B, p.F, "配偶", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
	}
	r, err = imp(v2, false)
	if err != nil {
		t.Fatal(err)
	}
	if counts(r) != [4]int{1, 1, 1, 1} || r.CasesMoved != 1 {
		t.Fatalf("December diff %v (cases moved %d), want added 1 (H0006), changed 1 (H0002's 乡镇), moved 1 (B), removed 1 (H0003): %+v",
			counts(r), r.CasesMoved, r.Diff.Changes)
	}
	var history int
	if err := db.Get(&history, `SELECT count(*) FROM registry_history WHERE batch_id = $1`, r.BatchID); err != nil || history != 4 {
		t.Errorf("registry history has %d rows for the batch (%v), want 4", history, err)
	}
	var status string
	if err := db.Get(&status, `SELECT status FROM registry_households WHERE household_no = 'H0003'`); err != nil || status != "removed" {
		t.Errorf("H0003 is %q (%v), want kept as removed", status, err)
	}
	moved, _ := db.CaseByNo(ctx, caseC.No)
	if moved.Township != "城关镇" || moved.DueOn != caseC.DueOn || moved.Status != caseC.Status {
		t.Errorf("C's case after the move: %s due %s %s; want 城关镇, due %s unchanged", moved.Township, moved.DueOn, moved.Status, caseC.DueOn)
	}
	var texts []struct {
		Key  string `db:"idem_key"`
		Text string `db:"text"`
	}
	pgtest.OpenOutbox(t, db) // bodies are sealed (docs/encryption.md)
	if err := db.Select(&texts, `SELECT idem_key, payload->'body'->>'content' AS text FROM outbox WHERE idem_key LIKE 'regmove:%' ORDER BY idem_key`); err != nil {
		t.Fatal(err)
	}
	var from, to, private bool
	for _, m := range texts {
		switch {
		case strings.HasSuffix(m.Key, ":from"):
			from = strings.Contains(m.Text, caseC.No) && strings.Contains(m.Text, "陈*")
		case strings.HasSuffix(m.Key, ":to"):
			to = strings.Contains(m.Text, caseC.No) && strings.Contains(m.Text, caseC.DueOn.String())
		case strings.Contains(m.Key, ":private:zhangsan:"):
			// masked: the full ID number only on request (docs/privacy.md)
			private = strings.Contains(m.Text, cases.MaskIDNumber(p.C.ID)) && !strings.Contains(m.Text, p.C.ID)
		}
		if !strings.Contains(m.Key, ":private:") && (strings.Contains(m.Text, p.C.ID) || strings.Contains(m.Text, p.C.Name)) {
			t.Errorf("group message %s is not masked: %s", m.Key, m.Text)
		}
	}
	if !from || !to || !private {
		t.Errorf("case move messages: old group %v, new group %v, new cadre privately %v; got %+v", from, to, private, texts)
	}

	// December's warnings: each joins the open case of its person, whatever household the
	// registry now puts them in; K, whose household left the registry, is 新增, not 更新.
	clock = cases.MustDate("2026-12-10").At(9, 30)
	w := func(x pgtest.Warning) { pgtest.InsertWarning(t, db, x) }
	w(pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row", IDNumber: p.B.ID, Name: p.B.Name, Township: "城关镇", Period: "2026-11"})
	w(pgtest.Warning{Department: "医保局", Category: "medical", Rule: "outpatient", Amount: "600", IDNumber: p.F.ID, Name: p.F.Name, Township: "城关镇", Period: "2026-11"})
	w(pgtest.Warning{Department: "人社局", Category: "employment", Rule: "every_row", IDNumber: p.C.ID, Name: p.C.Name, Township: "城关镇", Period: "2026-11"})
	w(pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row", IDNumber: K.ID, Name: K.Name, Township: "城关镇", Village: "北村", Period: "2026-11"})
	res, err := db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-12", Date: cases.MustDate("2026-12-10")})
	if err != nil {
		t.Fatal(err)
	}
	if res.CasesCreated != 1 || res.Merged != 3 {
		t.Errorf("December round: %d created, %d merged; want 1 (K) and 3 (B, F, C into their open cases)", res.CasesCreated, res.Merged)
	}
	dec, _ := db.ListCases(ctx, cases.CaseFilter{Round: "2026-12"})
	if len(dec) != 1 || dec[0].Kind != cases.KindNew {
		t.Errorf("December's new cases: %+v, want K's, kind 新增 (its household left the registry)", dec)
	}
	for _, c := range []cases.Case{caseH1, caseF, caseC} {
		ws, _ := db.CaseWarnings(ctx, c.ID)
		if len(ws) < 2 {
			t.Errorf("open case %s holds %d warnings, want the December one too", c.No, len(ws))
		}
	}

	// January: 河口乡 is renamed 河口镇; an export still naming 河口乡 changes nothing.
	clock = cases.MustDate("2027-01-04").At(9, 0)
	if err := applyOrg(t, db, renamedOrg); err != nil {
		t.Fatal(err)
	}
	if r, err = imp(v2, false); err != nil || !r.Diff.Empty() {
		t.Errorf("the same registry naming the former 河口乡: %+v, %v; want no change", r.Diff.Changes, err)
	}
	renamedH4 := h4
	renamedH4.Township = "河口镇"
	// A partial export (2 of 5 households) is refused, and taken with --allow-removals.
	partial := []cases.RegistryMember{h1[0], renamedH4}
	_, err = imp(partial, false)
	if cases.ErrorCode(err) != cases.EConflict || !strings.Contains(cases.ErrorMessage(err), "--allow-removals") {
		t.Fatalf("a file removing 3 of 5 households: %v, want a refusal naming --allow-removals", err)
	}
	var active int
	if err := db.Get(&active, `SELECT count(*) FROM registry_households WHERE status = 'active'`); err != nil || active != 5 {
		t.Errorf("%d active households after the refusal, want 5 (%v)", active, err)
	}
	if r, err = imp(partial, true); err != nil || r.Diff.RemovedHouseholds != 3 {
		t.Errorf("with --allow-removals: %+v, %v; want 3 households removed", r.Diff, err)
	}
}

// TestRegistryDiffRules: every kind of change, counted and listed once (docs/registry.md).
func TestRegistryDiffRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	dispatchtest.ApplyOrg(t, db)
	g := synth.New(3)
	id := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "g", "x"} {
		id[k] = g.IDNumber(1970)
	}
	m := func(no, head, who, name, rel, town, village, kind, risk string) cases.RegistryMember {
		return cases.RegistryMember{HouseholdNo: no, HeadIDNumber: id[head], IDNumber: id[who], Name: name, Relation: rel,
			Township: town, Village: village, Kind: kind, RiskStatus: risk}
	}
	imp := func(ms []cases.RegistryMember) cases.RegistryImportResult {
		t.Helper()
		a, err := db.ApplyRegistry(ctx, ms, postgres.RegistryOptions{AllowRemovals: true})
		if err != nil {
			t.Fatal(err)
		}
		return cases.RegistryImportResult{BatchID: a.BatchID, Diff: a.Diff}
	}
	h1 := []cases.RegistryMember{
		m("H1", "a", "a", "甲", "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
		m("H1", "a", "b", "乙", "之子", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared)}
	h2 := []cases.RegistryMember{
		m("H2", "c", "c", "丙", "户主", "河口乡", "西村", cases.HouseholdEdge, cases.RiskOpen),
		m("H2", "c", "d", "丁", "之女", "河口乡", "西村", cases.HouseholdEdge, cases.RiskOpen)}
	h3 := m("H3", "e", "e", "戊", "户主", "城关镇", "", cases.HouseholdEdge, cases.RiskOpen)
	h4 := m("H4", "g", "g", "庚", "户主", "城关镇", "", cases.HouseholdLifted, cases.RiskCleared)
	all := append(append(append([]cases.RegistryMember{}, h1...), h2...), h3, h4)
	if r := imp(all); r.Diff.Added != 4 || len(r.Diff.Changes) != 4 {
		t.Fatalf("first import: %+v", r.Diff)
	}
	withoutH3 := append(append(append([]cases.RegistryMember{}, h1...), h2...), h4)
	if r := imp(withoutH3); r.Diff.Removed != 1 || r.Diff.RemovedHouseholds != 1 {
		t.Fatalf("H3 left: %+v", r.Diff)
	}
	if r := imp(withoutH3); !r.Diff.Empty() || r.BatchID != "" {
		t.Fatalf("the same registry: %+v", r.Diff.Changes)
	}
	next := []cases.RegistryMember{
		h1[0],
		m("H2", "c", "c", "丙", "户主", "城关镇", "新村", cases.HouseholdEdge, cases.RiskCleared), // 乡镇, 村, 风险状态; d left
		h3, // back in the registry
		m("H5", "b", "b", "乙", "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared), // b moved to a new household
		m("H5", "b", "x", "己", "配偶", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared), // comes with it
		// H4 absent
	}
	d := imp(next).Diff
	if d.Added != 2 || d.Changed != 1 || d.Moved != 1 || d.Removed != 2 || d.RemovedHouseholds != 1 || d.ActiveBefore != 3 {
		t.Fatalf("diff = added %d changed %d moved %d removed %d (households %d of %d): %+v",
			d.Added, d.Changed, d.Moved, d.Removed, d.RemovedHouseholds, d.ActiveBefore, d.Changes)
	}
	for _, c := range d.Changes {
		if c.Change == cases.RegChanged && (c.Household != "H2" || c.From != "河口乡" || c.To != "城关镇" || strings.Join(c.Fields, ",") != "乡镇,村,风险状态") {
			t.Errorf("H2's change = %+v", c)
		}
		if c.Change == cases.RegMoved && (c.IDNumber != id["b"] || c.From != "H1" || c.To != "H5") {
			t.Errorf("move = %+v", c)
		}
	}
	if !d.TooManyRemovals() { // 1 of 3 is more than 20 %
		t.Error("removing 1 of 3 households should need --allow-removals")
	}
	var removedAt int
	if err := db.Get(&removedAt, `SELECT count(*) FROM registry_members WHERE removed_at IS NOT NULL AND id_number = $1`, db.Keys.IDHash(id["d"])); err != nil || removedAt != 1 {
		t.Errorf("d, who left H2, is not kept as removed (%d, %v)", removedAt, err)
	}
}

// TestRegistryMoveTakesTheCaseOfAPersonListedLater: F had a case as a person outside the
// registry; a later export lists F in household H0006, and the next one moves H0006 to another
// township. The case follows F (open cases follow people, docs/registry.md): it moved with the
// household, and a dry run of that export said so first, moving nothing.
func TestRegistryMoveTakesTheCaseOfAPersonListedLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	clock := cases.MustDate("2026-11-10").At(9, 30)
	db.Now = func() time.Time { return clock }
	dispatchtest.Warn(t, db, p)
	if _, err := db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.MustDate("2026-11-10")}); err != nil {
		t.Fatal(err)
	}
	caseF := caseOf(t, db, "head:"+p.F.ID, true)
	if caseF.Township != "城关镇" {
		t.Fatalf("F's case in %s, want 城关镇", caseF.Township)
	}
	registry := func(town string) []cases.RegistryMember {
		return []cases.RegistryMember{
			regMember("H0001", p.A, p.A, "户主", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
			regMember("H0001", p.A, p.B, "之子", "城关镇", "东村", cases.HouseholdLifted, cases.RiskCleared),
			regMember("H0002", p.C, p.C, "户主", "河口乡", "西村", cases.HouseholdEdge, cases.RiskOpen),
			regMember("H0006", p.F, p.F, "户主", town, "北村", cases.HouseholdEdge, cases.RiskOpen),
		}
	}
	clock = cases.MustDate("2026-12-01").At(9, 0)
	if r, err := db.ImportRegistry(ctx, registry("城关镇"), cases.RegistryImportOptions{}); err != nil || r.Diff.Added != 1 || r.CasesMoved != 0 {
		t.Fatalf("the export listing F: %+v, %v; want H0006 added, no case moved", r, err)
	}
	clock = cases.MustDate("2027-01-04").At(9, 0)
	dry, err := db.ImportRegistry(ctx, registry("河口乡"), cases.RegistryImportOptions{DryRun: true})
	if err != nil || dry.Diff.Changed != 1 || dry.CasesMoved != 1 {
		t.Fatalf("dry run of H0006's move: %+v, %v; want 1 changed, 1 case moved", dry, err)
	}
	if c, _ := db.CaseByNo(ctx, caseF.No); c.Township != "城关镇" {
		t.Errorf("the dry run moved %s to %s", c.No, c.Township)
	}
	r, err := db.ImportRegistry(ctx, registry("河口乡"), cases.RegistryImportOptions{})
	if err != nil || r.CasesMoved != 1 {
		t.Fatalf("H0006's move: %+v, %v; want F's case moved", r, err)
	}
	if c, _ := db.CaseByNo(ctx, caseF.No); c.Township != "河口乡" || c.DueOn != caseF.DueOn {
		t.Errorf("F's case after H0006 moved: %s due %s; want 河口乡, due %s unchanged", c.Township, c.DueOn, caseF.DueOn)
	}
	// B's case stays: it is H0001's, whose township did not change.
	if c := caseOf(t, db, "hh:H0001", true); c.Township != "城关镇" {
		t.Errorf("H0001's case moved to %s", c.Township)
	}
}
