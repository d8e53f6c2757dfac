package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// notSuperseded is the condition of a warning w that no later push has replaced.
const notSuperseded = `NOT EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id)`

// problemOf is a stored warning's 问题类型 for assurance (one row per person and 问题类型), else empty.
// It has a column of its own (migration 00930): the detail is sealed.
const problemOf = `w.problem`

// sealedIDOf is warning w's sealed ID number, or the number itself for a row stored before
// sealing (Keyring.Open returns it as it is).
const sealedIDOf = `CASE WHEN w.id_sealed <> '' THEN w.id_sealed ELSE w.id_number END`

// samePush is the condition of the batches b of a department ($1), category ($2) and period
// ($3) other than batch $4.
const samePush = `b.department_id = (SELECT id FROM departments WHERE name = $1) AND b.category = $2 AND b.period = $3 AND b.id <> $4`

// supersede merges push b, just stored in tx, with the earlier pushes of its department,
// category and period that no round has dispatched yet, person by person: each earlier row
// with a warning no case holds, of a person b has an accepted row for, is listed as replaced
// by b, so that no dispatch reads it (the later row wins, whether it warns or not). It returns
// how many rows of b replaced an earlier row.
//
// Once per import: one query brings the earlier rows and their people as arrays (a row each
// would cost more than the import's reading of them), b.Persons picks those b names, and one
// statement lists their rows. Nothing is read when the period has no earlier push. Pushes of
// the same department, category and period take turns here (an advisory lock held to commit),
// so that of two pushes at once the later one sees the earlier's rows.
func supersede(ctx context.Context, tx *sqlx.Tx, b *cases.Batch) (int, error) {
	if b.Persons == nil {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		"push|"+b.Department+"|"+string(b.Category)+"|"+b.Period); err != nil {
		return 0, fmt.Errorf("import batch: wait for earlier pushes: %w", err)
	}
	args := []any{b.Department, string(b.Category), b.Period, b.ID}
	// The rows already replaced are few or none: asked apart, they spare the earlier rows'
	// query a look-up per row.
	var gone pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(array_agg(s.warning_id), '{}') FROM warnings_superseded s
		JOIN batches b ON b.id = s.batch_id WHERE `+samePush, args...).Scan(&gone); err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	var rows, his, los pq.Int64Array
	var problems pq.StringArray
	// 问题类型 only for assurance: for the other categories a million rows' empty strings are
	// not worth their bytes.
	// People by the first 16 bytes of their hash (docs/encryption.md), as two numbers: 16
	// bytes a row rather than the hash's 64 characters or a sealed number to open.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(array_agg(w.id), '{}'),
			coalesce(array_agg(('x' || substr(w.id_number, 1, 16))::bit(64)::bigint), '{}'),
			coalesce(array_agg(('x' || substr(w.id_number, 17, 16))::bit(64)::bigint), '{}'),
			CASE WHEN $2 = 'assurance' THEN coalesce(array_agg(`+problemOf+`), '{}') ELSE '{}' END
		FROM batches b JOIN warnings w ON `+inBatch("w.batch_id", "b.id")+`
		WHERE b.undispatched AND `+samePush+` AND w.case_id IS NULL AND w.rule <> '' AND length(w.id_number) = 64`, args...).
		Scan(&rows, &his, &los, &problems); err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	replacedAlready := make(map[int64]bool, len(gone))
	for _, id := range gone {
		replacedAlready[id] = true
	}
	type person struct {
		hi, lo  int64
		problem string
	}
	people := map[person]bool{}
	var replaced []int64
	for i := range rows {
		if replacedAlready[rows[i]] {
			continue
		}
		p := person{his[i], los[i], ""}
		if i < len(problems) {
			p.problem = problems[i]
		}
		if people[p] || b.Persons.Has(uint64(p.hi), uint64(p.lo), p.problem) {
			people[p] = true
			replaced = append(replaced, rows[i])
		}
	}
	if len(replaced) == 0 {
		return 0, nil
	}
	// The rows by their ids, not by a join with the people: a join's plan, made before the
	// table's statistics know a fresh import, could go row by row.
	if _, err := tx.ExecContext(ctx, `INSERT INTO warnings_superseded (warning_id, batch_id) SELECT unnest($1::bigint[]), $2`,
		pq.Array(replaced), b.ID); err != nil {
		return 0, fmt.Errorf("import batch: supersede earlier rows: %w", err)
	}
	return len(people), nil
}
