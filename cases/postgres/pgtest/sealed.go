package pgtest

import (
	"context"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres"
)

// Open opens a value read from a sealed column (docs/encryption.md), for tests that read
// rows themselves; a plain value comes back as it is.
func Open(t testing.TB, db *postgres.DB, s string) string {
	t.Helper()
	p, err := db.Keys.Open(s)
	if err != nil {
		t.Fatalf("pgtest: open %.20s…: %v", s, err)
	}
	return p
}

// SealStored seals what the database holds in plain (DB.SealPending), as a start does: the
// registry as tests write it becomes what the store keeps (hashed numbers, sealed names).
func SealStored(t testing.TB, db *postgres.DB) {
	t.Helper()
	if _, err := db.SealPending(context.Background()); err != nil {
		t.Fatalf("pgtest: seal stored values: %v", err)
	}
}
