package postgres

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache holds the statements every chat command runs (the sender's look-up), prepared
// once per connection: unprepared, lib/pq has the server parse and plan each anew, in an
// extra round trip, and that planning cost four times the look-up itself.
type stmtCache struct{ m sync.Map } // query text → *sqlx.Stmt

// getPrepared is GetContext through a statement prepared on the pool (database/sql
// prepares it again on each connection it runs on, once).
func (db *DB) getPrepared(ctx context.Context, dest any, query string, args ...any) error {
	if db.stmts == nil {
		return db.GetContext(ctx, dest, query, args...)
	}
	v, ok := db.stmts.m.Load(query)
	if !ok {
		st, err := db.PreparexContext(ctx, query)
		if err != nil {
			return err
		}
		if v, ok = db.stmts.m.LoadOrStore(query, st); ok {
			st.Close()
		}
	}
	return v.(*sqlx.Stmt).GetContext(ctx, dest, args...)
}
