package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// firstImport loads a registry into empty registry tables (no household or member at all,
// removed ones included): every household of the file is added and nothing else can change,
// so the diff's joins are skipped. The rows go from the file's table straight into the
// registry's, whose indexes are dropped for the load and built again afterwards: building an
// index over 300,000 keys by one sort costs a fraction of inserting them one by one. The
// tables are locked for that (ACCESS EXCLUSIVE, until the commit), which is why it is tried
// only on empty tables and given up, keeping the indexes, when a reader holds them for more
// than a few seconds. The references are checked as always (migration 00700's statement
// triggers); a failure rolls everything back, the indexes included. It returns false, having
// changed nothing, when the registry is not empty: the caller then computes the diff.
func (l *RegistryLoad) firstImport(ctx context.Context, out *RegistryApplied) (bool, error) {
	tx := l.tx
	empty := func() (bool, error) {
		var e bool
		err := tx.GetContext(ctx, &e, `SELECT NOT EXISTS (SELECT 1 FROM registry_households) AND NOT EXISTS (SELECT 1 FROM registry_members)`)
		if err != nil {
			return false, fmt.Errorf("registry size: %w", err)
		}
		return e, nil
	}
	if e, err := empty(); err != nil || !e {
		return false, err
	}
	locked, err := lockForLoad(ctx, tx, "registry_households", "registry_members")
	if err != nil {
		return false, err
	}
	if e, err := empty(); err != nil || !e {
		// Filled since the first look (by 人员变动, which takes no registry lock): the diff
		// applies; the lock taken is harmless and lasts only until the commit.
		return false, err
	}
	rebuild := func(string) error { return nil }
	if locked {
		if rebuild, err = dropIndexes(ctx, tx, "registry_households", "registry_members"); err != nil {
			return true, err
		}
	}
	if _, err := execTraced(ctx, tx, registryDefaultStatistics); err != nil {
		return true, fmt.Errorf("registry import settings: %w", err)
	}
	now := l.db.Now()
	d := &out.Diff
	// Households before members: the members' reference check (at the end of their
	// statement) looks their households up by the primary key built in between.
	if _, err := execTraced(ctx, tx, `
		INSERT INTO registry_households (household_no, head_id_number, township_id, village, kind, risk_status, updated_at)
		SELECT f.household_no, f.head_id_number, t.id, min(f.village), f.kind, f.risk_status, $1
		FROM registry_file f JOIN townships t ON t.name = f.township
		GROUP BY f.household_no, f.head_id_number, t.id, f.kind, f.risk_status`, now); err != nil {
		return true, fmt.Errorf("apply registry rows: %w", err)
	}
	if err := rebuild("registry_households"); err != nil {
		return true, err
	}
	if _, err := execTraced(ctx, tx, `ANALYZE registry_households (household_no, status)`); err != nil {
		return true, fmt.Errorf("registry statistics: %w", err)
	}
	if _, err := execTraced(ctx, tx, `
		INSERT INTO registry_members (id_number, id_sealed, household_no, name, relation, updated_at)
		SELECT id_number, id_sealed, household_no, name, relation, $1 FROM registry_file`, now); err != nil {
		return true, fmt.Errorf("apply registry rows: %w", err)
	}
	if err := rebuild("registry_members"); err != nil {
		return true, err
	}
	if _, err := execTraced(ctx, tx, `ANALYZE registry_members (id_number, household_no, removed_at)`); err != nil {
		return true, fmt.Errorf("registry statistics: %w", err)
	}
	start := traceStart()
	var added []string
	if err := tx.SelectContext(ctx, &added, `SELECT household_no FROM registry_households ORDER BY household_no`); err != nil {
		return true, fmt.Errorf("registry diff: %w", err)
	}
	traceStep("read the change list", start)
	d.Added = len(added)
	d.Changes = make([]cases.RegistryChange, len(added))
	for i, h := range added {
		d.Changes[i] = cases.RegistryChange{Change: cases.RegAdded, Household: h}
	}
	if d.Empty() {
		return true, nil // no row stored: rolled back by the caller
	}
	out.BatchID = newRegistryBatchID(now)
	// The history is usually empty too before a first import: then its indexes are built
	// after its 100,000 rows as well (the household index alone cost 0.6 s of CPU inserted
	// row by row).
	rebuildHistory := func(string) error { return nil }
	var historyEmpty bool
	if err := tx.GetContext(ctx, &historyEmpty, `SELECT NOT EXISTS (SELECT 1 FROM registry_history)`); err != nil {
		return true, fmt.Errorf("registry history: %w", err)
	}
	if locked && historyEmpty {
		if got, err := lockForLoad(ctx, tx, "registry_history"); err != nil {
			return true, err
		} else if got {
			if err := tx.GetContext(ctx, &historyEmpty, `SELECT NOT EXISTS (SELECT 1 FROM registry_history)`); err != nil {
				return true, fmt.Errorf("registry history: %w", err)
			}
			if historyEmpty {
				if rebuildHistory, err = dropIndexes(ctx, tx, "registry_history"); err != nil {
					return true, err
				}
			}
		}
	}
	if err := insertRegistryHistory(ctx, tx, `SELECT row_number() OVER (ORDER BY household_no) AS ord, text '`+cases.RegAdded+`' AS change,
		household_no AS household, text '' AS id_number, '{}'::text[] AS fields, text '' AS from_, text '' AS to_ FROM registry_households`,
		out.BatchID, cases.DateOf(now), now); err != nil {
		return true, err
	}
	if err := rebuildHistory("registry_history"); err != nil {
		return true, err
	}
	if err := l.recordImport(ctx, out.BatchID, now, d); err != nil {
		return true, err
	}
	return true, nil
}

// lockForLoad takes the tables for a bulk load into them (ACCESS EXCLUSIVE) if it can within
// a few seconds; false, and nothing taken, when a reader holds them longer.
func lockForLoad(ctx context.Context, tx *sqlx.Tx, tables ...string) (bool, error) {
	var timeout string
	if err := tx.GetContext(ctx, &timeout, `SELECT current_setting('lock_timeout')`); err != nil {
		return false, fmt.Errorf("registry lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT registry_load_lock`); err != nil {
		return false, fmt.Errorf("registry lock: %w", err)
	}
	_, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '3s'`)
	for _, t := range tables {
		if err == nil {
			_, err = tx.ExecContext(ctx, `LOCK TABLE `+pq.QuoteIdentifier(t)+` IN ACCESS EXCLUSIVE MODE`)
		}
	}
	if err != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT registry_load_lock`); err != nil {
			return false, fmt.Errorf("registry lock: %w", err)
		}
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT registry_load_lock`); err != nil {
		return false, fmt.Errorf("registry lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, true)`, timeout); err != nil {
		return false, fmt.Errorf("registry lock: %w", err)
	}
	return true, nil
}

// dropIndexes drops the indexes of tables locked for a bulk load (constraints' included) and
// returns what builds one table's again exactly as they were: their definitions are read
// from the catalog, so the migrations remain the only place that defines them. A table on
// which a foreign key elsewhere depends keeps its indexes (its rebuild does nothing): the
// load is slower, not different. Every table must be rebuilt before the commit.
func dropIndexes(ctx context.Context, tx *sqlx.Tx, tables ...string) (func(table string) error, error) {
	saved := map[string][]string{} // table → statements that build its indexes again
	for _, t := range tables {
		var referenced bool
		if err := tx.GetContext(ctx, &referenced, `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = $1::regclass)`, t); err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", t, err)
		}
		if referenced {
			continue
		}
		var ixs []struct {
			Index      string `db:"index"`
			Def        string `db:"def"`
			Constraint string `db:"constraint"`
			ConDef     string `db:"condef"`
		}
		if err := tx.SelectContext(ctx, &ixs, `
			SELECT i.indexrelid::regclass::text AS index, pg_get_indexdef(i.indexrelid) AS def,
				coalesce(c.conname, '') AS constraint, coalesce(pg_get_constraintdef(c.oid), '') AS condef
			FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')
			WHERE i.indrelid = $1::regclass ORDER BY i.indisprimary DESC, i.indexrelid`, t); err != nil {
			return nil, fmt.Errorf("indexes of %s: %w", t, err)
		}
		for _, ix := range ixs {
			drop, build := `DROP INDEX `+ix.Index, ix.Def
			if ix.Constraint != "" {
				drop = `ALTER TABLE ` + pq.QuoteIdentifier(t) + ` DROP CONSTRAINT ` + pq.QuoteIdentifier(ix.Constraint)
				build = `ALTER TABLE ` + pq.QuoteIdentifier(t) + ` ADD CONSTRAINT ` + pq.QuoteIdentifier(ix.Constraint) + ` ` + ix.ConDef
			}
			if _, err := execTraced(ctx, tx, drop); err != nil {
				return nil, fmt.Errorf("indexes of %s: %w", t, err)
			}
			saved[t] = append(saved[t], build)
		}
	}
	return func(table string) error {
		for _, q := range saved[table] {
			if _, err := execTraced(ctx, tx, q); err != nil {
				return fmt.Errorf("indexes of %s: %w", table, err)
			}
		}
		delete(saved, table)
		return nil
	}, nil
}
