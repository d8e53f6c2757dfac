package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// TestRegistryFirstImportBulkLoad: a first import into an empty registry loads the tables
// (and the history, empty too) with their indexes dropped and builds them again
// (docs/performance.md). Afterwards the indexes, constraints and triggers are exactly those
// of the migrations, the rows those of the file
// (a household's village the smallest of its rows', as the diff takes it), and every change
// is in the history, its word and detail those of the Go change (cases.RegistryChange), as
// are a re-import's, whose history is written by the same statement.
func TestRegistryFirstImportBulkLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	dispatchtest.ApplyOrg(t, db)
	schema := func() []string {
		var defs []string
		if err := db.Select(&defs, `
			SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index
			WHERE indrelid IN ('registry_households'::regclass, 'registry_members'::regclass, 'registry_history'::regclass)
			UNION ALL
			SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid IN ('registry_households'::regclass, 'registry_members'::regclass, 'registry_history'::regclass)
			UNION ALL
			SELECT tgname || ' ' || tgenabled::text FROM pg_trigger WHERE tgrelid IN ('registry_households'::regclass, 'registry_members'::regclass, 'registry_history'::regclass)
			ORDER BY 1`); err != nil {
			t.Fatal(err)
		}
		return defs
	}
	before := schema()
	g := synth.New(9)
	ms := g.Registry(30, []string{"城关镇", "河口乡"})
	// The second row of the first household names another village, smaller than the first's.
	first := ms[0].HouseholdNo
	ms[1].HouseholdNo, ms[1].HeadIDNumber, ms[1].Township, ms[1].Kind, ms[1].RiskStatus, ms[1].Village =
		first, ms[0].HeadIDNumber, ms[0].Township, ms[0].Kind, ms[0].RiskStatus, "一村"
	a, err := db.ApplyRegistry(ctx, ms, postgres.RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	households := map[string]bool{}
	for _, m := range ms {
		households[m.HouseholdNo] = true
	}
	if a.BatchID == "" || a.Diff.Added != len(households) || len(a.Diff.Changes) != len(households) {
		t.Fatalf("first import: batch %q, %d added, %d changes; want %d households added", a.BatchID, a.Diff.Added, len(a.Diff.Changes), len(households))
	}
	for i, c := range a.Diff.Changes {
		if c.Change != cases.RegAdded || c.IDNumber != "" || (i > 0 && a.Diff.Changes[i-1].Household >= c.Household) {
			t.Fatalf("first import's change %d: %+v; want households added in order", i, c)
		}
	}
	if after := schema(); len(after) != len(before) {
		t.Fatalf("registry schema after a first import:\n%v\nwant\n%v", after, before)
	} else {
		for i := range after {
			if after[i] != before[i] {
				t.Fatalf("registry schema after a first import: %q, want %q", after[i], before[i])
			}
		}
	}
	var n struct{ Members, Households int }
	if err := db.Get(&n, `SELECT (SELECT count(*) FROM registry_members) AS members, (SELECT count(*) FROM registry_households) AS households`); err != nil {
		t.Fatal(err)
	}
	if n.Members != len(ms) || n.Households != len(households) {
		t.Fatalf("stored %d members, %d households; want %d, %d", n.Members, n.Households, len(ms), len(households))
	}
	var village string
	if err := db.Get(&village, `SELECT village FROM registry_households WHERE household_no = $1`, first); err != nil {
		t.Fatal(err)
	}
	if want := min(ms[0].Village, "一村"); village != want {
		t.Fatalf("household %s's village %q, want %q", first, village, want)
	}
	checkHistory := func(batch string, cs []cases.RegistryChange) {
		t.Helper()
		var rows []struct {
			ID     string `db:"id_number"`
			House  string `db:"household_no"`
			Word   string `db:"change"`
			Status string `db:"status"`
			Detail string `db:"detail"`
		}
		if err := db.Select(&rows, `SELECT id_number, household_no, change, status, detail::text AS detail FROM registry_history
			WHERE batch_id = $1 ORDER BY id`, batch); err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(cs) {
			t.Fatalf("history of %s: %d rows, want %d", batch, len(rows), len(cs))
		}
		// The history names members by the hash of their number (docs/encryption.md), its
		// rows in the list's order but each step's members in the order of their hashes.
		var got, want []string
		for i, c := range cs {
			r, status := rows[i], "active"
			if c.Change == cases.RegRemoved {
				status = "removed"
			}
			c.IDNumber = db.Keys.IDHash(c.IDNumber)
			var g, w any
			b, _ := json.Marshal(c)
			json.Unmarshal(b, &w)
			json.Unmarshal([]byte(r.Detail), &g)
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			got = append(got, fmt.Sprintf("%s %s %q %s %s", r.ID, r.House, r.Word, r.Status, gb))
			want = append(want, fmt.Sprintf("%s %s %q %s %s", c.IDNumber, c.Household, c.Change, status, wb))
		}
		sort.Strings(got)
		sort.Strings(want)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("history of %s: row %s; want %s", batch, got[i], want[i])
			}
		}
	}
	checkHistory(a.BatchID, a.Diff.Changes)

	// A re-import (the diff): a member moved to another household, a household's village
	// and risk changed, one household left out (removed), a member's name changed.
	next := append([]cases.RegistryMember{}, ms...)
	var gone string
	for i := range next {
		switch {
		case next[i].HouseholdNo == first:
			next[i].Village, next[i].RiskStatus = "新村", map[bool]string{true: cases.RiskCleared, false: cases.RiskOpen}[next[i].RiskStatus == cases.RiskOpen]
		case gone == "" && i > 3 && next[i].HouseholdNo != next[i-1].HouseholdNo:
			gone = next[i].HouseholdNo
		}
	}
	var kept []cases.RegistryMember
	for _, m := range next {
		if m.HouseholdNo != gone {
			kept = append(kept, m)
		}
	}
	last := len(kept) - 1
	kept[last].Name += "某"
	kept[2].HouseholdNo, kept[2].HeadIDNumber, kept[2].Township, kept[2].Kind, kept[2].RiskStatus =
		kept[last].HouseholdNo, kept[last].HeadIDNumber, kept[last].Township, kept[last].Kind, kept[last].RiskStatus
	b, err := db.ApplyRegistry(ctx, kept, postgres.RegistryOptions{AllowRemovals: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range b.Diff.Changes {
		seen[c.Change] = true
	}
	if !seen[cases.RegChanged] || !seen[cases.RegMoved] || !seen[cases.RegRemoved] {
		t.Fatalf("re-import's changes %+v; want changed, moved and removed", b.Diff.Changes)
	}
	checkHistory(b.BatchID, b.Diff.Changes)
}
