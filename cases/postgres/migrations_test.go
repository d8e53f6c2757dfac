package postgres_test

import (
	"io/fs"
	"testing"

	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases/postgres"
)

// The schema is one sequence: the ledger's migrations and the bot's tables' own, every file
// of both once, so that a database migrated before the bot's moved to bot/pgqueue sees
// nothing new.
func TestMigrationsMergeLedgerAndBot(t *testing.T) {
	t.Parallel()
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(all, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	bots, _ := fs.Glob(pgqueue.Migrations(), "*.sql")
	if len(bots) == 0 {
		t.Fatal("bot/pgqueue has no migrations")
	}
	for _, n := range append(bots, "00001_ledger.sql", "00500_schema_checks.sql") {
		if !have[n] {
			t.Errorf("%s missing from the merged migrations %v", n, names)
		}
	}
	for _, n := range []string{"00020_outbox_parts.sql", "00070_inbox.sql", "00150_outbox_sends.sql", "00450_sent_cards.sql"} {
		if !have[n] {
			t.Errorf("%s missing", n)
		}
	}
}
