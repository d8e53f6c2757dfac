package registry_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

func csvOf(t *testing.T, ms []cases.RegistryMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.WriteRegistryCSV(&buf, ms); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tryImport(t *testing.T, db *postgres.DB, towns map[string]string, b []byte, opt cases.RegistryImportOptions) (registry.Summary, error) {
	t.Helper()
	r, err := sheet.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return registry.ImportWith(context.Background(), r, towns, db, opt)
}

// householdRow is what the registry holds of a household, to see that it did not change.
type householdRow struct {
	Status, Kind, Village, Risk string
	Members                     int
}

func household(t *testing.T, db *postgres.DB, no string) householdRow {
	t.Helper()
	var h householdRow
	if err := db.QueryRow(`SELECT h.status, h.kind, h.village, h.risk_status,
		(SELECT count(*) FROM registry_members m WHERE m.household_no = h.household_no AND m.removed_at IS NULL)
		FROM registry_households h WHERE h.household_no = $1`, no).Scan(&h.Status, &h.Kind, &h.Village, &h.Risk, &h.Members); err != nil {
		t.Fatalf("household %s: %v", no, err)
	}
	return h
}

// members groups a synthetic registry's rows by household, in file order.
func byHousehold(ms []cases.RegistryMember) (order []string, rows map[string][]cases.RegistryMember) {
	rows = map[string][]cases.RegistryMember{}
	for _, m := range ms {
		if _, ok := rows[m.HouseholdNo]; !ok {
			order = append(order, m.HouseholdNo)
		}
		rows[m.HouseholdNo] = append(rows[m.HouseholdNo], m)
	}
	return order, rows
}

// withMembers is the first household of order with at least two members, other than skip's.
func withMembers(t *testing.T, order []string, rows map[string][]cases.RegistryMember, skip ...string) string {
	t.Helper()
	for _, no := range order {
		if len(rows[no]) >= 2 && !slices.Contains(skip, no) {
			return no
		}
	}
	t.Fatal("no household with two members in the synthetic registry")
	return ""
}

// TestRefusedRowKeepsItsHousehold: a re-import whose rows for one household are refused (a
// word the importer does not know, and elsewhere one member's bad ID number) leaves those
// households exactly as they were, active, and says so (issue 29).
func TestRefusedRowKeepsItsHousehold(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(29).Registry(300, synth.Townships)
	first, err := tryImport(t, db, towns, csvOf(t, ms), cases.RegistryImportOptions{})
	if err != nil || first.Rejected != 0 || first.Added != 300 {
		t.Fatalf("first import: %+v, %v", first, err)
	}
	order, rows := byHousehold(ms)
	wordless, badID := order[10], withMembers(t, order[20:], rows)
	before := map[string]householdRow{wordless: household(t, db, wordless), badID: household(t, db, badID)}

	// Next month: every row of `wordless` has a 户类型 nobody knows, and its village
	// changed; one member of badID has a broken ID number and the household's village
	// changed too. Neither may be removed, nor changed.
	var next []cases.RegistryMember
	for _, m := range ms {
		switch m.HouseholdNo {
		case wordless:
			m.Kind, m.Village = "小康户", "新村"
		case badID:
			m.Village = "新村"
			if m.IDNumber != m.HeadIDNumber {
				m.IDNumber = m.IDNumber[:17] + map[bool]string{true: "1", false: "2"}[m.IDNumber[17] != '1']
			}
		}
		next = append(next, m)
	}
	s, err := tryImport(t, db, towns, csvOf(t, next), cases.RegistryImportOptions{})
	if err != nil {
		t.Fatalf("re-import with %d refused rows: %v", len(rows[wordless])+1, err)
	}
	if s.Rejected != len(rows[wordless])+1 || s.Removed != 0 || s.Changed != 0 || s.Added != 0 || s.UnchangedRefused != 2 {
		t.Fatalf("re-import: rejected %d removed %d changed %d added %d unchanged_refused %d; want %d refused rows, "+
			"nothing removed or changed, 2 households held: %+v", s.Rejected, s.Removed, s.Changed, s.Added, s.UnchangedRefused,
			len(rows[wordless])+1, s.Changes)
	}
	listed := map[string]int{}
	for _, h := range s.RefusedHouseholds {
		listed[h.Household] = len(h.Errors)
	}
	if listed[wordless] != len(rows[wordless]) || listed[badID] != 1 {
		t.Errorf("refused households listed %v, want %s with %d errors and %s with 1", listed, wordless, len(rows[wordless]), badID)
	}
	for no, b := range before {
		if a := household(t, db, no); a != b {
			t.Errorf("household %s after the re-import: %+v, want it exactly as before: %+v", no, a, b)
		}
	}
	rec, err := db.RegistryMember(context.Background(), rows[wordless][0].IDNumber)
	if err != nil || rec.Status != cases.MemberActive {
		t.Errorf("registry member of the held household: %+v, %v; want active", rec, err)
	}
}

// TestTooManyRefusedRowsChangeNothing: once a registry is loaded, a file with more than 1 %
// of its rows refused is refused whole, whatever else it would change.
func TestTooManyRefusedRowsChangeNothing(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(30).Registry(100, synth.Townships)
	if _, err := tryImport(t, db, towns, csvOf(t, ms), cases.RegistryImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var history int
	history = pgtest.Count(t, db, `SELECT count(*) FROM registry_history`)
	order, rows := byHousehold(ms)
	var next []cases.RegistryMember
	refused := 0
	for i, m := range ms {
		if i < len(ms)/40+2 { // about 2.5 % of the rows
			m.RiskStatus = "待定"
			refused++
		} else {
			m.Village = "新村" // a change the import would otherwise apply
		}
		if m.HouseholdNo != order[len(order)-1] { // and one household absent
			next = append(next, m)
		}
	}
	s, err := tryImport(t, db, towns, csvOf(t, next), cases.RegistryImportOptions{AllowRemovals: true})
	if cases.ErrorCode(err) != cases.EConflict || !strings.Contains(cases.ErrorMessage(err), "风险状态") ||
		!strings.Contains(cases.ErrorMessage(err), "整份文件都不导入") {
		t.Fatalf("a file with %d of %d rows refused: %+v, %v; want refused whole, naming the first errors", refused, len(next), s, err)
	}
	var after, active, villages int
	after = pgtest.Count(t, db, `SELECT count(*) FROM registry_history`)
	active = pgtest.Count(t, db, `SELECT count(*) FROM registry_households WHERE status = 'active'`)
	villages = pgtest.Count(t, db, `SELECT count(*) FROM registry_households WHERE village = '新村'`)
	if after != history || active != len(rows) || villages != 0 {
		t.Errorf("after the refusal: %d history rows (was %d), %d active households (want %d), %d in 新村 (want 0)",
			after, history, active, len(rows), villages)
	}
}

// TestRemovalGuardCountsOnlyAbsentHouseholds: households held back by a refused row are not
// absent, so they do not push a re-import over the 20 % guard.
func TestRemovalGuardCountsOnlyAbsentHouseholds(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(31).Registry(200, synth.Townships)
	if _, err := tryImport(t, db, towns, csvOf(t, ms), cases.RegistryImportOptions{}); err != nil {
		t.Fatal(err)
	}
	order, _ := byHousehold(ms)
	absent := map[string]bool{}
	for _, no := range order[:40] { // exactly 20 %: taken without --allow-removals
		absent[no] = true
	}
	held := order[100]
	var next []cases.RegistryMember
	for _, m := range ms {
		if absent[m.HouseholdNo] {
			continue
		}
		if m.HouseholdNo == held && m.IDNumber == m.HeadIDNumber {
			m.Name = "" // one refused row
		}
		next = append(next, m)
	}
	s, err := tryImport(t, db, towns, csvOf(t, next), cases.RegistryImportOptions{})
	if err != nil {
		t.Fatalf("40 of 200 households absent and one held by a refused row: %v; want taken (the held one is not absent)", err)
	}
	if s.Removed != 40 || s.UnchangedRefused != 1 || household(t, db, held).Status != "active" {
		t.Errorf("removed %d, held %d, held household %+v; want 40 removed and %s kept active", s.Removed, s.UnchangedRefused, household(t, db, held), held)
	}
}

// TestNationalSystemWords: the same registry written with the national system's notes in
// brackets, spaces and short names changes nothing; 监测户, which does not say which kind of
// monitored household it is, is a row error and its household stays as it was.
func TestNationalSystemWords(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(32).Registry(300, synth.Townships)
	if _, err := tryImport(t, db, towns, csvOf(t, ms), cases.RegistryImportOptions{}); err != nil {
		t.Fatal(err)
	}
	order, rows := byHousehold(ms)
	vague := ""
	for _, no := range order {
		if rows[no][0].Kind == cases.HouseholdUnstable {
			vague = no
			break
		}
	}
	before := household(t, db, vague)
	written := map[string]string{cases.HouseholdLifted: "已脱贫户", cases.HouseholdUnstable: "脱贫不稳定户（监测对象）",
		cases.HouseholdEdge: "边缘户", cases.HouseholdSudden: "突发严重困难户 "}
	var next []cases.RegistryMember
	for _, m := range ms {
		m.Kind = written[m.Kind]
		if m.RiskStatus == cases.RiskOpen {
			m.RiskStatus = "风险未消除"
		}
		if m.HouseholdNo == vague {
			m.Kind = "监测户"
		}
		next = append(next, m)
	}
	s, err := tryImport(t, db, towns, csvOf(t, next), cases.RegistryImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rejected != len(rows[vague]) || s.BatchID != "" || len(s.Changes) != 0 || s.UnchangedRefused != 1 {
		t.Fatalf("the same registry in other words: rejected %d (want %d, the 监测户 rows), changes %+v, held %d; want no change",
			s.Rejected, len(rows[vague]), s.Changes, s.UnchangedRefused)
	}
	if !strings.Contains(s.Errors[0].Message, "脱贫不稳定户、边缘易致贫户或突发严重困难户") {
		t.Errorf("the error for 监测户 does not name the accepted words: %s", s.Errors[0].Message)
	}
	if after := household(t, db, vague); after != before {
		t.Errorf("household %s written 监测户: %+v, want as before %+v", vague, after, before)
	}
}

// TestPersonListedInHeldHouseholdStays: a member the file lists in another household whose
// rows are held back (one of them refused) is neither moved nor removed from where they are.
func TestPersonListedInHeldHouseholdStays(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(33).Registry(300, synth.Townships)
	if _, err := tryImport(t, db, towns, csvOf(t, ms), cases.RegistryImportOptions{}); err != nil {
		t.Fatal(err)
	}
	order, rows := byHousehold(ms)
	from := withMembers(t, order, rows)
	mover := rows[from][1] // not the head
	before := household(t, db, from)
	var next []cases.RegistryMember
	for _, m := range ms {
		if m.IDNumber != mover.IDNumber {
			next = append(next, m)
		}
	}
	head := mover
	head.HouseholdNo, head.HeadIDNumber, head.Relation = "NEW0001", mover.IDNumber, "户主"
	partner := synth.New(34).Registry(1, synth.Townships)[0]
	partner.HouseholdNo, partner.HeadIDNumber, partner.Township = "NEW0001", mover.IDNumber, "火星乡" // refused
	next = append(next, head, partner)
	s, err := tryImport(t, db, towns, csvOf(t, next), cases.RegistryImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rejected != 1 || len(s.Changes) != 0 || s.UnchangedRefused != 1 {
		t.Fatalf("re-import: rejected %d, changes %+v, held %d; want the new household held and nothing changed", s.Rejected, s.Changes, s.UnchangedRefused)
	}
	if after := household(t, db, from); after != before {
		t.Errorf("household %s lost its member to a held household: %+v, want %+v", from, after, before)
	}
}

// TestHeldMemberListedElsewhereAddsNothing: when a household is held back by a refused row,
// its other members stay where they were even if the file lists them under another household
// number: a household made only of such members is not added, and a household whose first row
// is such a member stays as it was.
func TestHeldMemberListedElsewhereAddsNothing(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(33).Registry(100, synth.Townships)
	if _, err := tryImport(t, db, towns, csvOf(t, ms), cases.RegistryImportOptions{}); err != nil {
		t.Fatal(err)
	}
	order, rows := byHousehold(ms)
	held, other := withMembers(t, order, rows), order[len(order)-1]
	held2 := withMembers(t, order, rows, held, other)
	// held2's first member who is not its head, listed as the first row of other.
	var moved cases.RegistryMember
	for _, m := range rows[held2] {
		if m.IDNumber != m.HeadIDNumber {
			moved = m
			break
		}
	}
	first := rows[other][0]
	moved.HouseholdNo, moved.HeadIDNumber, moved.Township, moved.Village, moved.Kind, moved.RiskStatus =
		other, first.HeadIDNumber, first.Township, first.Village, first.Kind, first.RiskStatus
	before := map[string]householdRow{held: household(t, db, held), held2: household(t, db, held2), other: household(t, db, other)}
	const newNo = "HH-NEW-0001"
	var next []cases.RegistryMember
	newHead := ""
	for _, m := range ms {
		switch {
		case (m.HouseholdNo == held || m.HouseholdNo == held2) && m.IDNumber == m.HeadIDNumber:
			m.Kind = "小康户" // the head's row is refused: the household is held
		case m.HouseholdNo == held:
			if newHead == "" {
				newHead, m.Relation = m.IDNumber, "户主"
			}
			m.HouseholdNo, m.HeadIDNumber = newNo, newHead
		case m.IDNumber == moved.IDNumber:
			continue
		case m.IDNumber == first.IDNumber:
			next = append(next, moved)
		}
		next = append(next, m)
	}
	s, err := tryImport(t, db, towns, csvOf(t, next), cases.RegistryImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Added != 0 || s.Removed != 0 || s.Changed != 0 || s.Moved != 0 || s.UnchangedRefused != 2 {
		t.Errorf("re-import: added %d removed %d changed %d moved %d held %d; want only %s and %s held: %+v, refused %+v",
			s.Added, s.Removed, s.Changed, s.Moved, s.UnchangedRefused, held, held2, s.Changes, s.RefusedHouseholds)
	}
	for no, b := range before {
		if after := household(t, db, no); after != b {
			t.Errorf("household %s: %+v, want as before: %+v", no, after, b)
		}
	}
	if n := pgtest.Count(t, db, `SELECT count(*) FROM registry_households WHERE household_no = '`+newNo+`'`); n != 0 {
		t.Errorf("household %s, made only of a held household's members, was added", newNo)
	}
}
