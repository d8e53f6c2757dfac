package postgres_test

import (
	"errors"
	"testing"

	"github.com/lib/pq"
)

// TestWarningsReferencesCheckedPerStatement: the warnings table's batch, township and case
// references are checked once a statement (migrations 00550 and 00600) instead of by per-row
// foreign keys, and refuse what the foreign keys refused.
func TestWarningsReferencesCheckedPerStatement(t *testing.T) {
	t.Parallel()
	db := schemaFixture(t)
	const batchWarning = `(SELECT id FROM warnings WHERE batch_id IS NOT NULL ORDER BY id LIMIT 1)`
	const usedBatch = `(SELECT batch_id FROM warnings WHERE batch_id IS NOT NULL ORDER BY id LIMIT 1)`
	const usedTownship = `(SELECT township_id FROM warnings ORDER BY id LIMIT 1)`
	const otherTownship = `(SELECT id FROM townships WHERE id <> ` + usedTownship + ` ORDER BY id LIMIT 1)`
	// a case nothing else names, so that only the warnings' check can refuse its deletion
	const addBareCase = `INSERT INTO cases (case_no, round, kind, household_key, township_id, status, dispatched_at, due_on)
		SELECT 'X-1', round, 'new', 'bare-household', township_id, 'dispatched', dispatched_at, due_on FROM cases ORDER BY id LIMIT 1`
	const bareCase = `(SELECT id FROM cases WHERE case_no = 'X-1')`
	const someCase = `(SELECT id FROM cases ORDER BY id LIMIT 1)`
	insert := func(batch, township string) string {
		return `INSERT INTO warnings (batch_id, row_no, category, period, rule, township_id)
			SELECT ` + batch + `, 900001 + g, 'medical', '2026-10', 'x', ` + township + ` FROM generate_series(0, 2) g`
	}
	for _, tc := range []struct {
		name string
		bad  []string
		good []string
	}{
		{"insert names an unknown batch", []string{insert("'B-none'", usedTownship)}, []string{insert(usedBatch, usedTownship)}},
		{"insert names an unknown township", []string{insert(usedBatch, "-7")}, []string{insert("NULL", otherTownship)}},
		{"update to an unknown township", []string{`UPDATE warnings SET township_id = -7 WHERE id = ` + batchWarning},
			[]string{`UPDATE warnings SET township_id = ` + otherTownship + ` WHERE id = ` + batchWarning}},
		{"update to an unknown batch", []string{`UPDATE warnings SET batch_id = 'B-none' WHERE id = ` + batchWarning},
			[]string{`UPDATE warnings SET case_id = NULL WHERE id = ` + batchWarning}},
		{"delete a named township", []string{`DELETE FROM townships WHERE id = ` + usedTownship},
			[]string{`INSERT INTO townships (name) VALUES ('测试乡')`, `DELETE FROM townships WHERE name = '测试乡'`}},
		{"delete a named batch", []string{`DELETE FROM batches WHERE id = ` + usedBatch},
			[]string{`DELETE FROM warnings WHERE batch_id IS NOT NULL`, `DELETE FROM batches WHERE id = (SELECT id FROM batches ORDER BY id LIMIT 1)`}},
		{"renumber a named township", []string{`UPDATE townships SET id = -7 WHERE id = ` + usedTownship},
			[]string{`UPDATE townships SET name = name WHERE id = ` + usedTownship}},
		// the case reference, checked per statement since migration 00600
		{"insert names an unknown case", []string{`INSERT INTO warnings (batch_id, row_no, category, period, rule, township_id, case_id)
			VALUES (NULL, 0, 'medical', '2026-10', 'x', ` + usedTownship + `, -7)`},
			[]string{`INSERT INTO warnings (batch_id, row_no, category, period, rule, township_id, case_id)
			VALUES (NULL, 0, 'medical', '2026-10', 'x', ` + usedTownship + `, ` + someCase + `)`}},
		{"update to an unknown case", []string{`UPDATE warnings SET case_id = -7 WHERE id = ` + batchWarning},
			[]string{`UPDATE warnings SET case_id = ` + someCase + ` WHERE id = ` + batchWarning}},
		{"delete a named case", []string{addBareCase, `UPDATE warnings SET case_id = ` + bareCase + ` WHERE id = ` + batchWarning,
			`DELETE FROM cases WHERE case_no = 'X-1'`},
			[]string{addBareCase, `DELETE FROM cases WHERE case_no = 'X-1'`}},
		{"renumber a case", []string{addBareCase, `UPDATE cases SET id = -7 WHERE case_no = 'X-1'`},
			[]string{addBareCase, `UPDATE cases SET id = id, version = version + 1 WHERE case_no = 'X-1'`}},
	} {
		err := inTx(t, db, tc.bad...)
		var pe *pq.Error
		if !errors.As(err, &pe) || pe.Code != "23503" {
			t.Errorf("%s: got %v, want a foreign_key_violation", tc.name, err)
		}
		if err := inTx(t, db, tc.good...); err != nil {
			t.Errorf("%s: the legitimate neighbour failed: %v", tc.name, err)
		}
	}
}

// TestWarningsReferencesOneBadRowAmongMany: the check reads a statement's distinct batches
// and townships (migration 00570), so one row naming a missing one among many good rows,
// wherever it is, still fails the whole statement.
func TestWarningsReferencesOneBadRowAmongMany(t *testing.T) {
	t.Parallel()
	db := schemaFixture(t)
	const usedBatch = `(SELECT batch_id FROM warnings WHERE batch_id IS NOT NULL ORDER BY id LIMIT 1)`
	const usedTownship = `(SELECT township_id FROM warnings ORDER BY id LIMIT 1)`
	insert := func(batch, township string) string {
		return `INSERT INTO warnings (batch_id, row_no, category, period, rule, township_id)
			SELECT ` + batch + `, 900001 + g, 'medical', '2026-10', 'x', ` + township + ` FROM generate_series(0, 5999) g`
	}
	for _, tc := range []struct {
		name string
		sql  string
		ok   bool
	}{
		{"all good, some without a batch", insert(`CASE WHEN g % 7 = 0 THEN NULL ELSE `+usedBatch+` END`, usedTownship), true},
		{"last row's township missing", insert(usedBatch, `CASE WHEN g = 5999 THEN -7 ELSE `+usedTownship+` END`), false},
		{"first row's batch missing", insert(`CASE WHEN g = 0 THEN 'B-none' ELSE `+usedBatch+` END`, usedTownship), false},
		{"a middle row's batch missing among rows without one", insert(`CASE WHEN g = 3000 THEN 'B-none' END`, usedTownship), false},
	} {
		err := inTx(t, db, tc.sql)
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var pe *pq.Error
		if !errors.As(err, &pe) || pe.Code != "23503" {
			t.Errorf("%s: got %v, want a foreign_key_violation", tc.name, err)
		}
	}
}
