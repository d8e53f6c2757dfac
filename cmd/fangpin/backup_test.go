package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/pressly/goose/v3"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/seal"
)

// Issue 27: backup → restore into an empty database gives the same `cases --json`; a
// database with tables, a damaged file are refused and change nothing.
func TestBackupRestoreGivesTheSameCases(t *testing.T) {
	ctx := context.Background()
	src := pgtest.MigratedURL(t)
	db, err := postgres.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	p := dispatchtest.Setup(t, db)
	dispatchtest.Warn(t, db, p)
	t.Setenv("DATABASE_URL", src)
	if code, out := run(t, "dispatch", "--date", "2026-11-10", "--json"); code != 0 || !strings.Contains(out, `"cases_created":6`) {
		t.Fatalf("dispatch: %d %s", code, out)
	}
	_, before := run(t, "cases", "--json")
	if strings.Count(before, "\n") != 6 {
		t.Fatalf("cases before the backup:\n%s", before)
	}

	file := filepath.Join(t.TempDir(), "ledger.backup")
	code, out := run(t, "backup", "--json", "-o", file)
	var m manifest
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("backup: %d %s", code, out)
	}
	latest, _ := postgres.LatestMigration()
	if m.MigrationVersion != latest || m.KeyIDs == nil || len(m.DumpSHA256) != 64 || !strings.HasPrefix(m.Database, "fangpin_test_") ||
		!strings.Contains(out, `"key_ids":["demo"]`) {
		t.Errorf("manifest: %s", out)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the backup should be readable by its owner only: %v %v", st.Mode(), err)
	}

	// Not into a database that has tables (the source itself).
	if code, _ := run(t, "restore", file); code == 0 {
		t.Fatal("restore into a database with tables exited 0")
	}
	if _, again := run(t, "cases", "--json"); again != before {
		t.Fatal("a refused restore changed the source database")
	}

	// A damaged file is refused and the empty database stays empty.
	dst := pgtest.NewURL(t)
	t.Setenv("DATABASE_URL", dst)
	b, _ := os.ReadFile(file)
	b[len(b)-2000] ^= 0xff // inside the dump, past the manifest
	damaged := filepath.Join(t.TempDir(), "damaged.backup")
	os.WriteFile(damaged, b, 0o600)
	if code, _ := run(t, "restore", damaged); code == 0 {
		t.Fatal("a damaged backup was restored")
	}
	dstDB, err := postgres.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer dstDB.Close()
	if n, err := dstDB.UserTables(ctx); err != nil || n != 0 {
		t.Fatalf("after a refused restore the database has %d tables (%v)", n, err)
	}

	// Not without the keys the backup names: everything would be restored unreadable.
	k9 := sha256.Sum256([]byte("another county's key"))
	t.Setenv("FANGPIN_HASH_KEY", base64.StdEncoding.EncodeToString(cases.DemoHashKey))
	t.Setenv("FANGPIN_DATA_KEYS", "k9:"+base64.StdEncoding.EncodeToString(k9[:]))
	if code, _, stderr := runIntakeCLI(t, "restore", "--json", file); code == 0 || !strings.Contains(stderr, "用密钥 demo 加密") {
		t.Fatalf("restore without the backup's key: exit %d, %s", code, stderr)
	}
	if n, err := dstDB.UserTables(ctx); err != nil || n != 0 {
		t.Fatalf("after a restore refused for its keys the database has %d tables (%v)", n, err)
	}
	t.Setenv("FANGPIN_DATA_KEYS", "k9:"+base64.StdEncoding.EncodeToString(k9[:])+","+seal.DemoDataKeys)
	// Nor under another FANGPIN_HASH_KEY: it restored, and then found nobody by their number.
	t.Setenv("FANGPIN_HASH_KEY", base64.StdEncoding.EncodeToString(k9[:]))
	if code, _, stderr := runIntakeCLI(t, "restore", "--json", file); code == 0 || !strings.Contains(stderr, "哈希密钥") {
		t.Fatalf("restore under another hash key: exit %d, %s", code, stderr)
	}
	if n, err := dstDB.UserTables(ctx); err != nil || n != 0 {
		t.Fatalf("after a restore refused for its hash key the database has %d tables (%v)", n, err)
	}
	t.Setenv("FANGPIN_HASH_KEY", base64.StdEncoding.EncodeToString(cases.DemoHashKey))
	code, out = run(t, "restore", "--json", file)
	if code != 0 || !strings.Contains(out, `"migrations_applied":0`) {
		t.Fatalf("restore: %d %s", code, out)
	}
	if _, after := run(t, "cases", "--json"); after != before {
		t.Errorf("cases after the restore differ:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A backup of an older schema is brought up to date by restore.
func TestRestoreMigratesAnOlderBackup(t *testing.T) {
	ctx := context.Background()
	src := pgtest.NewURL(t)
	db, err := postgres.Open(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB.DB, all, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	srcs := p.ListSources()
	older := srcs[len(srcs)-3].Version
	if _, err := p.UpTo(ctx, older); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", src)
	file := filepath.Join(t.TempDir(), "old.backup")
	if code, out := run(t, "backup", "--json", "-o", file); code != 0 || !strings.Contains(out, `"migration_version":`) {
		t.Fatalf("backup: %d %s", code, out)
	}
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	code, out := run(t, "restore", "--json", file)
	var res struct {
		Backup  int64 `json:"backup_migration_version"`
		Applied int   `json:"migrations_applied"`
		Version int64 `json:"migration_version"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("restore: %d %s", code, out)
	}
	if res.Backup != older || res.Applied != 2 || res.Version != srcs[len(srcs)-1].Version {
		t.Errorf("restore of a version-%d backup: %s", older, out)
	}
}

// `migrate` on an empty database says what it applied (it used to say "already up to date").
func TestMigrateSaysWhatItApplied(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	latest, _ := postgres.LatestMigration()
	var m postgres.Migrated
	code, out := run(t, "migrate", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m.Applied == 0 || m.From != 0 || m.Version != latest {
		t.Fatalf("first migrate: %d %s", code, out)
	}
	code, out = run(t, "migrate", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m.Applied != 0 || m.From != latest || m.Version != latest {
		t.Fatalf("second migrate: %d %s", code, out)
	}
}

// A backup of a database never migrated is refused and writes nothing into it: goose's
// version table, made by asking for the version, then made a restore into that same empty
// database refuse ("不是空的（已有 1 张表）").
func TestBackupOfAnEmptyDatabaseLeavesItEmpty(t *testing.T) {
	url := pgtest.NewURL(t)
	t.Setenv("DATABASE_URL", url)
	out := filepath.Join(t.TempDir(), "empty.backup")
	if code, _ := run(t, "backup", "-o", out); code == 0 {
		t.Error("a backup of an empty database succeeded")
	}
	db, err := sqlx.Connect("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.Get(&tables, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); err != nil || tables != 0 {
		t.Errorf("the empty database has %d tables after the backup (%v), want none", tables, err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a backup file was written")
	}
}

// `--json everywhere`: export ledger and synth registry say what they wrote.
func TestExportAndSynthTakeJSON(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	dir := t.TempDir()
	code, out := run(t, "synth", "registry", "--json", "--households", "4", "-o", filepath.Join(dir, "r.csv"))
	var syn struct {
		File       string
		Households int
		Members    int
	}
	if code != 0 || json.Unmarshal([]byte(out), &syn) != nil || syn.Households != 4 || syn.Members < 4 {
		t.Fatalf("synth registry --json: %d %s", code, out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "r.csv"))
	if lines := strings.Count(strings.TrimSpace(string(b)), "\n"); lines != syn.Members {
		t.Errorf("synth says %d members, the file has %d rows", syn.Members, lines)
	}
	code, out = run(t, "export", "ledger", "--month", "2026-11", "--json", "-o", filepath.Join(dir, "l.xlsx"))
	if code != 0 || !strings.Contains(out, `"month":"2026-11"`) || !strings.Contains(out, `"cases":0`) {
		t.Fatalf("export ledger --json: %d %s", code, out)
	}
}
