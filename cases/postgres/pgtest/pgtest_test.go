package pgtest

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres"
)

// The Makefile keeps the template whose name it computes with find and sha256sum; if that
// ever differed from MigrationsHash, clean-testdb would drop the live template on every run.
func TestMigrationsHashMatchesMakefile(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("make", "-s", "-C", "../../..", "--eval", "print-hash: ; @echo $(MIGRATIONS_HASH)", "print-hash").Output()
	if err != nil {
		t.Fatalf("make print-hash: %v", err)
	}
	want, err := MigrationsHash()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("Makefile's MIGRATIONS_HASH = %q, pgtest's = %q", got, want)
	}
}

// A copy of the template is fully migrated and a database of its own: what one test writes
// another does not see.
func TestMigratedCopiesAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	latest, err := postgres.LatestMigration()
	if err != nil {
		t.Fatal(err)
	}
	a, b := New(t), New(t)
	for _, db := range []*postgres.DB{a, b} {
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v != latest {
			t.Fatalf("schema version %d, want %d", v, latest)
		}
	}
	if _, err := a.ExecContext(ctx, `CREATE TABLE pgtest_probe (x int)`); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, b, `SELECT count(*) FROM pg_tables WHERE tablename = 'pgtest_probe'`); n != 0 {
		t.Fatalf("a table made in one copy is in the other")
	}
	if n := Count(t, a, `SELECT count(*) FROM pg_tables WHERE tablename = 'pgtest_probe'`); n != 1 {
		t.Fatalf("the probe table is not in the copy that made it")
	}
}

// An empty database is empty.
func TestNewURLIsEmpty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.UserTables(ctx); err != nil || n != 0 {
		t.Fatalf("UserTables = %d, %v; want 0", n, err)
	}
}
