package postgres_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// registrySchema lists the registry tables' indexes, constraints and triggers (enabled or
// not), which a first import drops or disables for its load and must give back as they were.
func registrySchema(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var defs []string
	if err := db.Select(&defs, `
		SELECT indexrelid::regclass::text || ' ' || pg_get_indexdef(indexrelid) FROM pg_index
		WHERE indrelid IN ('registry_households'::regclass, 'registry_members'::regclass, 'registry_history'::regclass)
		UNION ALL
		SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid IN ('registry_households'::regclass, 'registry_members'::regclass, 'registry_history'::regclass)
		UNION ALL
		SELECT tgname || ' ' || tgenabled::text FROM pg_trigger
		WHERE tgrelid IN ('registry_households'::regclass, 'registry_members'::regclass, 'registry_history'::regclass)
		ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	return strings.Join(defs, "\n")
}

// TestRegistryFirstImportAcrossChunks: a first import sends its rows in several COPY
// statements, each chunk's new households before its members. A household whose rows are
// far apart in the file (in two chunks) is stored once, with the smallest of its rows'
// villages; every member is there; the members' reference check, set aside during the load,
// is back for every later statement; a dry run stores nothing and says what the import does.
func TestRegistryFirstImportAcrossChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	dispatchtest.ApplyOrg(t, db)
	schema := registrySchema(t, db)
	ms := synth.New(11).Registry(400, []string{"城关镇", "河口乡"}) // over a thousand rows: several chunks
	if len(ms) < 1000 {
		t.Fatalf("%d rows; want over a thousand", len(ms))
	}
	// The last row joins the first household (sent with the first chunk) and names a
	// village smaller than its other rows'; the one before joins the second household.
	first, second := ms[0], ms[len(ms)-1]
	for _, m := range ms {
		if m.HouseholdNo != first.HouseholdNo {
			second = m
			break
		}
	}
	late := func(i int, h cases.RegistryMember, village string) {
		ms[i].HouseholdNo, ms[i].HeadIDNumber, ms[i].Township, ms[i].Kind, ms[i].RiskStatus, ms[i].Village =
			h.HouseholdNo, h.HeadIDNumber, h.Township, h.Kind, h.RiskStatus, village
	}
	late(len(ms)-2, second, second.Village)
	late(len(ms)-1, first, "一村")
	households := map[string]bool{}
	for _, m := range ms {
		households[m.HouseholdNo] = true
	}

	dry, err := db.ApplyRegistry(ctx, ms, postgres.RegistryOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := db.Get(&stored, `SELECT (SELECT count(*) FROM registry_members) + (SELECT count(*) FROM registry_households) + (SELECT count(*) FROM registry_history)`); err != nil {
		t.Fatal(err)
	}
	if dry.BatchID != "" || stored != 0 || dry.Diff.Added != len(households) {
		t.Fatalf("dry run: batch %q, %d rows stored, %d added; want nothing stored and %d added", dry.BatchID, stored, dry.Diff.Added, len(households))
	}
	if got := registrySchema(t, db); got != schema {
		t.Fatalf("registry schema after a dry run:\n%s\nwant\n%s", got, schema)
	}

	a, err := db.ApplyRegistry(ctx, ms, postgres.RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.BatchID == "" || a.Diff.Added != len(households) || len(a.Diff.Changes) != len(dry.Diff.Changes) {
		t.Fatalf("first import: batch %q, %d added, %d changes; want %d added as the dry run said", a.BatchID, a.Diff.Added, len(a.Diff.Changes), len(households))
	}
	// Every household added, in byte order (the order the server sorts household_no in).
	sorted := slices.Sorted(maps.Keys(households))
	for i, c := range a.Diff.Changes {
		if c.Change != dry.Diff.Changes[i].Change || c.Household != dry.Diff.Changes[i].Household {
			t.Fatalf("change %d: %+v, the dry run said %+v", i, c, dry.Diff.Changes[i])
		}
		if c.Change != cases.RegAdded || c.Household != sorted[i] {
			t.Fatalf("change %d: %+v, want household %s added", i, c, sorted[i])
		}
	}
	var n struct{ Members, Households, History int }
	if err := db.Get(&n, `SELECT (SELECT count(*) FROM registry_members) AS members, (SELECT count(*) FROM registry_households) AS households,
		(SELECT count(*) FROM registry_history WHERE batch_id = $1) AS history`, a.BatchID); err != nil {
		t.Fatal(err)
	}
	if n.Members != len(ms) || n.Households != len(households) || n.History != len(households) {
		t.Fatalf("stored %d members, %d households, %d history rows; want %d, %d, %d", n.Members, n.Households, n.History, len(ms), len(households), len(households))
	}
	var village string
	if err := db.Get(&village, `SELECT village FROM registry_households WHERE household_no = $1`, first.HouseholdNo); err != nil {
		t.Fatal(err)
	}
	if want := min(first.Village, "一村"); village != want {
		t.Fatalf("household %s's village %q, want %q", first.HouseholdNo, village, want)
	}
	var moved []string
	if err := db.Select(&moved, `SELECT household_no FROM registry_members WHERE id_number = ANY($1) ORDER BY household_no`,
		pq.Array([]string{db.Keys.IDHash(ms[len(ms)-2].IDNumber), db.Keys.IDHash(ms[len(ms)-1].IDNumber)})); err != nil {
		t.Fatal(err)
	}
	if want := []string{first.HouseholdNo, second.HouseholdNo}; len(moved) != 2 || min(want[0], want[1]) != moved[0] || max(want[0], want[1]) != moved[1] {
		t.Fatalf("the late rows' households %v, want %v", moved, want)
	}
	if got := registrySchema(t, db); got != schema {
		t.Fatalf("registry schema after a first import:\n%s\nwant\n%s", got, schema)
	}
	err = inTx(t, db, `INSERT INTO registry_members (id_number, household_no, name) VALUES ('Y', 'H-none', '某')`)
	var pe *pq.Error
	if !errors.As(err, &pe) || pe.Code != "23503" {
		t.Fatalf("a member of an unknown household after a first import: %v, want a foreign_key_violation", err)
	}
	err = inTx(t, db, `INSERT INTO registry_households (household_no, head_id_number, township_id, kind, risk_status) VALUES ('H-new', 'Y', -7, '脱贫户', '稳定')`)
	if !errors.As(err, &pe) || pe.Code != "23503" {
		t.Fatalf("a household of an unknown township after a first import: %v, want a foreign_key_violation", err)
	}
}

// TestRegistryFirstImportFailureLeavesNothing: a first import that fails on the way (here a
// household whose rows disagree on its head, after its first chunk was stored) stores
// nothing and leaves the tables' indexes and triggers as they were; the next import of a
// good file is a first import again.
func TestRegistryFirstImportFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	dispatchtest.ApplyOrg(t, db)
	schema := registrySchema(t, db)
	good := synth.New(12).Registry(300, []string{"城关镇"})
	bad := append([]cases.RegistryMember{}, good...)
	last := len(bad) - 1
	bad[last].HouseholdNo, bad[last].HeadIDNumber = bad[0].HouseholdNo, bad[last].IDNumber
	if _, err := db.ApplyRegistry(ctx, bad, postgres.RegistryOptions{}); err == nil {
		t.Fatal("a household whose rows disagree: stored, want an error")
	}
	var stored int
	if err := db.Get(&stored, `SELECT (SELECT count(*) FROM registry_members) + (SELECT count(*) FROM registry_households) + (SELECT count(*) FROM registry_history)`); err != nil {
		t.Fatal(err)
	}
	if got := registrySchema(t, db); stored != 0 || got != schema {
		t.Fatalf("after a failed first import: %d rows stored, schema\n%s\nwant none and\n%s", stored, got, schema)
	}
	a, err := db.ApplyRegistry(ctx, good, postgres.RegistryOptions{})
	if err != nil || a.Diff.Added == 0 || a.BatchID == "" {
		t.Fatalf("the good file after it: %+v, %v", a.Diff.Added, err)
	}
}

// TestRegistryFirstImportRefusesATownshipDeletedMeanwhile: a first import does not check its
// households' townships over the loaded tables again; it locks the townships it read when
// the load begins. A township deleted after the list was read, while the import waits for
// that lock, makes the import fail with nothing stored.
func TestRegistryFirstImportRefusesATownshipDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	dispatchtest.ApplyOrg(t, db)
	if _, err := db.Exec(`INSERT INTO townships (name) VALUES ('临时乡')`); err != nil {
		t.Fatal(err)
	}
	ms := synth.New(13).Registry(50, []string{"城关镇", "临时乡"})
	err := whileTownshipDeleted(t, db, "临时乡", func() error {
		_, err := db.ApplyRegistry(ctx, ms, postgres.RegistryOptions{})
		return err
	})
	if cases.ErrorCode(err) != cases.EConflict || !strings.Contains(err.Error(), "临时乡") {
		t.Fatalf("first import after its township was deleted: %v, want a conflict naming 临时乡", err)
	}
	if n := pgtest.Count(t, db, `SELECT (SELECT count(*) FROM registry_members) + (SELECT count(*) FROM registry_households)`); n != 0 {
		t.Fatalf("%d registry rows stored by a failed import", n)
	}
}
