package pgtest

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases/postgres"
)

// TablesText is every row of the named tables as PostgreSQL prints it, one line a row: what
// a look at the database would show, for tests that scan it for personal data.
func TablesText(t testing.TB, db *postgres.DB, tables ...string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tables {
		var rows []string
		if err := db.SelectContext(context.Background(), &rows, `SELECT t::text FROM `+table+` t`); err != nil {
			t.Fatalf("pgtest: read %s: %v", table, err)
		}
		for _, r := range rows {
			b.WriteString(table + ": " + r + "\n")
		}
	}
	return b.String()
}

// BackdateClosed moves a closed case's closing time back, as if it closed long ago.
func BackdateClosed(t testing.TB, db *postgres.DB, caseNo string, closedAt time.Time) {
	t.Helper()
	res, err := db.ExecContext(context.Background(), `UPDATE cases SET closed_at = $2 WHERE case_no = $1 AND status = 'closed'`, caseNo, closedAt)
	if err != nil {
		t.Fatalf("pgtest: backdate %s: %v", caseNo, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("pgtest: backdate %s: the case is not closed", caseNo)
	}
}

// Querier is what Count needs: a store, a transaction or a plain *sqlx.DB.
type Querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Count runs a query that returns one integer (a count) and fails the test if the query
// fails, so that a broken query cannot pass as "want 0".
func Count(t testing.TB, db Querier, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("pgtest: count %q: %v", strings.Join(strings.Fields(query), " "), err)
	}
	return n
}
