// Package postgres is the ledger's store: the county's reference data, department batches,
// cases with their audit trail, reminders and the outbox, on PostgreSQL through sqlx and lib/pq.
// It owns the schema as embedded, versioned goose migrations.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the ledger's connection pool with the clock and calendar its decisions need.
type DB struct {
	*sqlx.DB
	// Now is the clock; tests replace it to play a month in milliseconds.
	Now func() time.Time
	Cal *cases.Calendar
	// hooks run inside every change's transaction (hooks.go); fixed at Open.
	hooks Hooks
	// Keys seal personal data before it is stored and open it when read
	// (docs/encryption.md); the demo keyring unless WithKeys says otherwise.
	Keys *seal.Keyring
	// url is what Open was given: an import opens its own connection (copywarnings.go).
	url string

	stmts *stmtCache
}

// Open connects to PostgreSQL and checks that it answers. It does not migrate.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	// database/sql keeps only 2 idle connections by default: under a burst every
	// connection beyond them was closed after its query and reopened for the next, a new
	// server process each time (≈230 for 2,000 callbacks), which halved the callback rate.
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	out := &DB{DB: db, Now: time.Now, Cal: cases.NewCalendar(), url: url, stmts: &stmtCache{}, Keys: seal.Demo()}
	for _, o := range opts {
		o(out)
	}
	return out, nil
}

// Migrate applies every pending migration. Several instances may start at once: a
// Postgres advisory lock makes them take turns.
func (db *DB) Migrate(ctx context.Context) error {
	_, err := db.MigrateReport(ctx)
	return err
}

// Migrated is what MigrateReport did: how many migrations it applied and the schema's
// version before and after.
type Migrated struct {
	Applied int   `json:"applied"`
	From    int64 `json:"from_version"`
	Version int64 `json:"version"`
}

// MigrateReport is Migrate telling what it did.
func (db *DB) MigrateReport(ctx context.Context) (Migrated, error) {
	p, err := db.migrations(true)
	if err != nil {
		return Migrated{}, err
	}
	from, err := p.GetDBVersion(ctx)
	if err != nil {
		return Migrated{}, fmt.Errorf("schema version: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return Migrated{}, fmt.Errorf("migrate: %w", err)
	}
	m := Migrated{Applied: len(res), From: from, Version: from}
	for _, r := range res {
		m.Version = max(m.Version, r.Source.Version)
	}
	return m, nil
}

// SchemaVersion is the version of the last migration applied to the database (0: none).
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	// goose would create its version table to answer: a database never migrated says 0,
	// and is left as it was (a backup must not write; a restore needs an empty database).
	var exists bool
	if err := db.GetContext(ctx, &exists, `SELECT to_regclass('goose_db_version') IS NOT NULL`); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	p, err := db.migrations(false)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// LatestMigration is the version of the newest migration this binary carries.
func LatestMigration() (int64, error) {
	all, err := Migrations()
	if err != nil {
		return 0, err
	}
	names, err := fs.Glob(all, "*.sql")
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	var latest int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("migration %s: %w", name, err)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// UserTables counts the tables outside PostgreSQL's own schemas: 0 for an empty database.
func (db *DB) UserTables(ctx context.Context) (int, error) {
	var n int
	err := db.GetContext(ctx, &n, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	return n, nil
}

// ServerInfo names the database and the server's version, for a backup's manifest.
type ServerInfo struct {
	Database string
	Version  string // server_version, e.g. "15.20 (Debian 15.20-0+deb12u1)"
}

// ServerInfo is what the connected server says of itself.
func (db *DB) ServerInfo(ctx context.Context) (ServerInfo, error) {
	var i ServerInfo
	if err := db.QueryRowContext(ctx, `SELECT current_database(), current_setting('server_version')`).Scan(&i.Database, &i.Version); err != nil {
		return i, fmt.Errorf("server info: %w", err)
	}
	return i, nil
}

func (db *DB) migrations(locked bool) (*goose.Provider, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locked {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.DB.DB, all, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// InTx runs fn in one transaction, committing when it returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Migrations is the schema's one sequence of goose migrations: the ledger's (embedded here)
// and the bot's tables' own (bot/pgqueue.Migrations), merged by file name. A version in both
// is an error.
func Migrations() (fs.FS, error) {
	all := fstest.MapFS{}
	for _, dir := range []fs.FS{mustSub(migrations, "migrations"), pgqueue.Migrations()} {
		names, err := fs.Glob(dir, "*.sql")
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		for _, name := range names {
			b, err := fs.ReadFile(dir, name)
			if err != nil {
				return nil, fmt.Errorf("migration %s: %w", name, err)
			}
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("migration %s is both the ledger's and the bot's", name)
			}
			all[name] = &fstest.MapFile{Data: b, Mode: 0o444}
		}
	}
	return all, nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// Today is the Shanghai date of the store's clock.
func (db *DB) Today() cases.Date { return cases.DateOf(db.Now()) }
