// Package pgtest gives each test a database of its own on the real PostgreSQL server,
// dropped when the test ends. Set FANGPIN_TEST_PG to the server's URL
// (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
//
// Migrating a fresh database takes 0.5–1.4 s, so a migrated database is a copy of a template
// (CREATE DATABASE … TEMPLATE, a few tens of milliseconds): the template is migrated once and
// named by a hash of the migrations' contents, so every test process and package of one tree
// shares it, and a changed migration makes a new one (docs/testing.md).
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"

	_ "github.com/lib/pq"

	"github.com/fangpin/fangpin/cases/postgres"
)

// ServerURL is the maintenance database of the test server.
func ServerURL() string {
	if u := os.Getenv("FANGPIN_TEST_PG"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// TemplatePrefix starts the name of every template database; `make clean-testdb` drops
// those whose hash is not the tree's current one.
const TemplatePrefix = "fangpin_test_tmpl_"

// admin is the process's one pool on the maintenance database: tests running in parallel
// share it instead of opening a connection each.
var admin = sync.OnceValues(func() (*sql.DB, error) { return sql.Open("postgres", ServerURL()) })

func adminDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := admin()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return db
}

// freshName is a new database name. The pid lets `make clean-testdb` drop only what a dead
// run left behind.
func freshName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("fangpin_test_%d_%s", os.Getpid(), hex.EncodeToString(b))
}

func urlOf(t testing.TB, name string) string {
	t.Helper()
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// create runs CREATE DATABASE name with the given suffix and drops the database when t ends.
func create(t testing.TB, name, suffix string) error {
	t.Helper()
	db := adminDB(t)
	if _, err := db.Exec("CREATE DATABASE " + name + suffix); err != nil {
		return err
	}
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	return nil
}

// NewURL creates an empty database and returns its URL; it is dropped when t ends. Tests of
// migrating itself (or of restoring into an empty database) want this; others want
// MigratedURL.
func NewURL(t testing.TB) string {
	t.Helper()
	name := freshName()
	if err := create(t, name, ""); err != nil {
		t.Fatalf("pgtest: create database (is PostgreSQL running? make test starts it): %v", err)
	}
	return urlOf(t, name)
}

// MigratedURL creates a database with every migration applied, copied from the template,
// and returns its URL; it is dropped when t ends.
func MigratedURL(t testing.TB) string {
	t.Helper()
	name := freshName()
	for attempt := 0; ; attempt++ {
		tmpl, err := template()
		if err != nil {
			t.Fatalf("pgtest: template database (is PostgreSQL running? make test starts it): %v", err)
		}
		err = create(t, name, " TEMPLATE "+tmpl)
		if err == nil {
			return urlOf(t, name)
		}
		// `make clean-testdb` from another tree may have dropped the template under us:
		// build it again, once.
		if attempt > 0 || !templateGone(tmpl) {
			t.Fatalf("pgtest: copy template %s: %v", tmpl, err)
		}
		resetTemplate()
	}
}

// New returns a migrated store on a database of its own.
func New(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), MigratedURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var (
	tmplMu   sync.Mutex
	tmplName string
)

// template is the name of the migrated template database, made on first use.
func template() (string, error) {
	tmplMu.Lock()
	defer tmplMu.Unlock()
	if tmplName != "" {
		return tmplName, nil
	}
	name, err := ensureTemplate(context.Background())
	if err != nil {
		return "", err
	}
	tmplName = name
	return name, nil
}

func resetTemplate() {
	tmplMu.Lock()
	tmplName = ""
	tmplMu.Unlock()
}

func templateGone(name string) bool {
	db, err := admin()
	if err != nil {
		return false
	}
	var n int
	err = db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	return err == nil && n == 0
}

// MigrationsHash is the first 16 hex digits of the SHA-256 of every migration's contents,
// concatenated in file-name order: the same as
//
//	find cases/postgres/migrations bot/pgqueue/migrations -name '*.sql' -printf '%f %p\n' |
//	  LC_ALL=C sort | cut -d' ' -f2 | xargs cat | sha256sum | cut -c1-16
//
// which the Makefile computes to keep the current template.
func MigrationsHash() (string, error) {
	all, err := postgres.Migrations()
	if err != nil {
		return "", err
	}
	names, err := fs.Glob(all, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(all, n)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// templateLock is the advisory lock key under which a template is looked for and built, so
// that test binaries started together by `go test ./...` build it once.
const templateLock = 0x66616e6770696e // "fangpin"

// ensureTemplate finds or builds the template for the current migrations. It is built
// under a name of this process's (which clean-testdb drops if the process dies half-way),
// migrated, disconnected and only then renamed, so a template under its final name is
// always complete. No connection to it stays open: CREATE DATABASE … TEMPLATE fails while
// any session is connected to the template.
func ensureTemplate(ctx context.Context) (string, error) {
	hash, err := MigrationsHash()
	if err != nil {
		return "", err
	}
	name := TemplatePrefix + hash
	db, err := admin()
	if err != nil {
		return "", err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, templateLock)
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		return "", err
	}
	if n == 1 {
		return name, nil
	}
	build := freshName()
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+build); err != nil {
		return "", err
	}
	u, err := url.Parse(ServerURL())
	if err != nil {
		return "", err
	}
	u.Path = "/" + build
	if err := migrate(ctx, u.String()); err != nil {
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)")
		return "", err
	}
	// ALLOW_CONNECTIONS false: a stray connection to the template would make every copy fail.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+build+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+build+" RENAME TO "+name); err != nil {
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)")
		return "", err
	}
	return name, nil
}

func migrate(ctx context.Context, url string) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Migrate(ctx)
}
