// Package pgtest gives each test a fresh, migrated PostgreSQL database of its own on the
// real server, dropped when the test ends. Set FANGPIN_TEST_PG to the server's URL
// (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
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

// NewURL creates an empty database and returns its URL; it is dropped when t ends.
func NewURL(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("postgres", ServerURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	// The pid lets `make clean-testdb` drop only what a dead run left behind.
	name := fmt.Sprintf("fangpin_test_%d_%s", os.Getpid(), hex.EncodeToString(b))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("pgtest: create database (is PostgreSQL running? make test starts it): %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// New returns a migrated store on a fresh database.
func New(t testing.TB) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
