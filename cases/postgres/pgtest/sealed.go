package pgtest

import (
	"context"
	"encoding/json"
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

// SealStored seals what the database holds in plain (DB.SealPlain), as an upgrade's first
// start does: the registry as tests write it becomes what the store keeps (hashed numbers,
// sealed names).
func SealStored(t testing.TB, db *postgres.DB) {
	t.Helper()
	if _, err := db.SealPlain(context.Background()); err != nil {
		t.Fatalf("pgtest: seal stored values: %v", err)
	}
}

// OpenOutbox opens, in place, the message bodies the outbox holds sealed, so that a test can
// read what was queued as before (docs/encryption.md). Not for a database a sender is using.
func OpenOutbox(t testing.TB, db *postgres.DB) {
	t.Helper()
	var rows []struct {
		ID      int64  `db:"id"`
		Payload string `db:"payload"`
	}
	if err := db.Select(&rows, `SELECT id, payload::text AS payload FROM outbox WHERE payload ? 'sealed'`); err != nil {
		t.Fatalf("pgtest: open outbox: %v", err)
	}
	for _, r := range rows {
		var p struct {
			MsgType string `json:"msgtype"`
			Sealed  string `json:"sealed"`
			Group   bool   `json:"group,omitempty"`
		}
		if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
			t.Fatalf("pgtest: outbox %d: %v", r.ID, err)
		}
		b, err := json.Marshal(struct {
			MsgType string          `json:"msgtype"`
			Body    json.RawMessage `json:"body"`
			Group   bool            `json:"group,omitempty"`
		}{p.MsgType, json.RawMessage(Open(t, db, p.Sealed)), p.Group})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE outbox SET payload = $2 WHERE id = $1`, r.ID, string(b)); err != nil {
			t.Fatalf("pgtest: open outbox %d: %v", r.ID, err)
		}
	}
}
