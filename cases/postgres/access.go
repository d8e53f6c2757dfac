package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// RecordAccess appends one entry to the access log (docs/privacy.md).
func (db *DB) RecordAccess(ctx context.Context, ev cases.AccessEvent) error {
	return db.RecordAccesses(ctx, []cases.AccessEvent{ev})
}

// RecordAccesses appends entries to the access log in one statement (a task list shows many
// cases at once).
func (db *DB) RecordAccesses(ctx context.Context, evs []cases.AccessEvent) error {
	return recordAccesses(ctx, db, evs)
}

// recordAccesses is RecordAccesses within a transaction of the change it records.
func recordAccesses(ctx context.Context, q sqlx.ExecerContext, evs []cases.AccessEvent) error {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	// A zero time is the database's now(): the access log keeps the wall clock even when a
	// test or the demo plays the ledger's days faster (db.Now).
	at, users, actions, nos, batches, channels, details :=
		make([]sql.NullTime, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		if e.User == "" || e.Action == "" || e.Channel == "" {
			return fmt.Errorf("record access: user, action and channel are required (%+v)", e)
		}
		at[i] = sql.NullTime{Time: e.At, Valid: !e.At.IsZero()}
		users[i], actions[i], nos[i], batches[i], channels[i], details[i] = e.User, e.Action, e.CaseNo, e.BatchID, e.Channel, e.Detail
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO access_log (at, user_id, action, case_no, batch_id, channel, detail)
		SELECT coalesce(at, now()), u, a, c, b, ch, d
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(at, u, a, c, b, ch, d)`,
		pq.Array(at), pq.Array(users), pq.Array(actions), pq.Array(nos), pq.Array(batches), pq.Array(channels), pq.Array(details))
	if err != nil {
		return fmt.Errorf("record access (%s %s): %w", evs[0].Action, evs[0].Channel, err)
	}
	return nil
}

// Audit lists the access log and the cases' audit trail (who changed what), oldest first.
// With an ID number it keeps what concerns the cases and pushes that hold the person.
func (db *DB) Audit(ctx context.Context, f cases.AuditFilter) ([]cases.AuditEntry, error) {
	var since any
	if !f.Since.IsZero() {
		since = f.Since
	}
	// The person's number is found by its keyed hash, what the key columns hold.
	id := db.Keys.IDHash(f.IDNumber)
	rows, err := db.QueryxContext(ctx, `
		WITH person_cases AS (
			SELECT c.id, c.case_no FROM cases c
			WHERE $1 <> '' AND (c.head_id_number = $1
				OR EXISTS (SELECT 1 FROM warnings w WHERE w.case_id = c.id AND w.id_number = $1))),
		person_batches AS (
			SELECT DISTINCT w.batch_id FROM warnings w WHERE $1 <> '' AND w.id_number = $1 AND w.batch_id IS NOT NULL)
		SELECT a.at, a.user_id, a.action, a.case_no, a.channel,
		       CASE WHEN a.batch_id <> '' THEN trim(both ' ' from '批次 ' || a.batch_id || ' ' || a.detail) ELSE a.detail END AS detail
		FROM access_log a
		WHERE ($1 = '' OR a.case_no IN (SELECT case_no FROM person_cases) OR a.batch_id IN (SELECT batch_id FROM person_batches))
		  AND ($2 = '' OR a.user_id = $2) AND ($3::timestamptz IS NULL OR a.at >= $3)
		UNION ALL
		SELECT e.at, e.actor, CASE e.action WHEN 'verify' THEN 'confirm' ELSE e.action END, c.case_no,
		       CASE WHEN e.source_msg LIKE 'form%' THEN 'h5' WHEN e.source_msg LIKE 'api%' THEN 'api'
		            WHEN e.source_msg = '' OR e.source_msg LIKE 'cli%' THEN 'cli' ELSE 'chat' END,
		       e.from_status || '→' || e.to_status
		FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE ($1 = '' OR e.case_id IN (SELECT id FROM person_cases))
		  AND ($2 = '' OR e.actor = $2) AND ($3::timestamptz IS NULL OR e.at >= $3)
		ORDER BY 1, 3`, id, f.User, since)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	var out []cases.AuditEntry
	for rows.Next() {
		var e cases.AuditEntry
		if err := rows.Scan(&e.At, &e.User, &e.Action, &e.CaseNo, &e.Channel, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
