package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// supersede merges push b, just stored in tx, with the earlier pushes of its department,
// category and period that no round has dispatched yet, person by person: each earlier row
// with a warning no case holds, of a person b has an accepted row for, is marked superseded
// by b, so that no dispatch reads it (the later row wins, whether it warns or not). It returns
// how many rows of b replaced an earlier row.
//
// It is one query and one update per import, and costs nothing when the period has no earlier
// push. Pushes of the same department, category and period take turns here (an advisory lock
// held to commit), so that of two pushes at once the later one sees the earlier's rows.
func supersede(ctx context.Context, tx *sqlx.Tx, b *cases.Batch) (int, error) {
	if b.Persons == nil {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		"push|"+b.Department+"|"+string(b.Category)+"|"+b.Period); err != nil {
		return 0, fmt.Errorf("import batch: wait for earlier pushes: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT w.id, w.id_number, CASE WHEN b.category = 'assurance' THEN coalesce(w.detail::jsonb ->> '问题类型', '') ELSE '' END
		FROM batches b JOIN warnings w ON `+inBatch("w.batch_id", "b.id")+`
		WHERE b.undispatched AND b.department_id = (SELECT id FROM departments WHERE name = $1)
			AND b.category = $2 AND b.period = $3 AND b.id <> $4
			AND w.case_id IS NULL AND w.superseded_by IS NULL AND w.rule <> '' AND w.id_number <> ''`,
		b.Department, string(b.Category), b.Period, b.ID)
	if err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	defer rows.Close()
	var ids []int64
	people := map[[2]string]bool{}
	for rows.Next() {
		var id int64
		var person [2]string
		if err := rows.Scan(&id, &person[0], &person[1]); err != nil {
			return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
		}
		if b.Persons.Has(person[0], person[1]) {
			ids = append(ids, id)
			people[person] = true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("import batch: earlier pushes: %w", err)
	}
	rows.Close()
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE warnings SET superseded_by = $1 WHERE id = ANY($2)`, b.ID, pq.Array(ids)); err != nil {
		return 0, fmt.Errorf("import batch: supersede earlier rows: %w", err)
	}
	return len(people), nil
}
