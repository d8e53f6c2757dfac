package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// A first import loads a registry into empty registry tables (no household or member at all,
// removed ones included): every household of the file is added and nothing else can change,
// so there is no diff to compute. The members go from the importer straight into
// registry_members by binary COPY while the file is read, each chunk's new households by a
// COPY of their own just before; the tables' reference checks (migrations 00700, 00920) are set
// aside for the load, whose way of writing makes what they check hold (endReferenceChecks). The
// tables' indexes are dropped when the load begins and built again at its end: building an
// index over 300,000 keys by one sort costs a fraction of inserting them one by one. The
// tables are locked for that (ACCESS EXCLUSIVE, from the load's beginning until the commit),
// which is why it is tried only on empty tables and given up, for the diff (which adds every
// household too, more slowly), when a reader holds them for more than a few seconds. A
// failure rolls everything back, the indexes and the triggers included. A dry run loads the
// same way and rolls back.

// registryHouseholdsCopy and registryMembersCopy are a first import's statements, in the
// column order of appendHouseholdRow and appendMemberRow.
const (
	registryHouseholdsCopy = `COPY registry_households (household_no, head_id_number, township_id, village, kind, risk_status, updated_at)
	FROM STDIN (FORMAT binary)`
	registryMembersCopy = `COPY registry_members (id_number, id_sealed, household_no, name, relation, updated_at) FROM STDIN (FORMAT binary)`
)

// bulkLoad is a first import in progress (its households: RegistryLoad.houses).
type bulkLoad struct {
	now     time.Time
	rebuild func(table string) error // builds a table's dropped indexes again
}

// beginFirstImport makes the load a first import (l.bulk) when the registry is empty and its
// tables can be had for a bulk load; otherwise the load stays a diff.
func (l *RegistryLoad) beginFirstImport(ctx context.Context, townIDs map[string]int) error {
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
		return err
	}
	locked, err := lockForLoad(ctx, tx, "registry_households", "registry_members")
	if err != nil || !locked {
		return err
	}
	if e, err := empty(); err != nil || !e {
		// Filled since the first look (by 人员变动, which takes no registry lock): the diff
		// applies; the lock taken is harmless and lasts only until the commit.
		return err
	}
	rebuild, err := dropIndexes(ctx, tx, "registry_households", "registry_members")
	if err != nil {
		return err
	}
	// The reference checks (00700, 00920) are set aside for the load: a check at the end of
	// every chunk's statement would look up each member's household one by one, the load's
	// largest cost after the rows themselves, and keep every chunk's households in a
	// transition table for their townships' check. What they would check holds by the way
	// the load writes (endReferenceChecks).
	if err := lockTownships(ctx, tx, townIDs); err != nil {
		return err
	}
	for _, t := range refsTriggers {
		if _, err := execTraced(ctx, tx, `ALTER TABLE `+t.table+` DISABLE TRIGGER `+t.trigger); err != nil {
			return fmt.Errorf("registry load: %w", err)
		}
	}
	l.bulk = &bulkLoad{now: l.db.Now(), rebuild: rebuild}
	l.houses = newFileHouseholds(townIDs, registryHouseholdsCopy, copyTime(l.bulk.now))
	return nil
}

// firstImport ends a first import: the last rows sent, the tables finished, the change list
// (every household added, in the registry's order) read, and, unless it is a dry run or
// the file was empty (the caller then rolls back), the history and the import's record.
func (l *RegistryLoad) firstImport(ctx context.Context, out *RegistryApplied) error {
	if err := l.endRows(ctx, registryMembersCopy); err != nil {
		return err
	}
	// The change list is the file's households, every one added, in the registry's order: the
	// importer has them, and sorts them while the server finishes the tables, rather than
	// reading 100,000 numbers back (household_no is compared byte by byte, migration 00960,
	// as Go compares strings).
	sorted := make(chan []string, 1)
	go func() { sorted <- l.houses.numbers() }()
	if err := l.bulk.finishTables(ctx, l.tx, l.houses); err != nil {
		return err
	}
	added := <-sorted
	d := &out.Diff
	d.Added = len(added)
	d.Changes = make([]cases.RegistryChange, len(added))
	for i, h := range added {
		d.Changes[i] = cases.RegistryChange{Change: cases.RegAdded, Household: h}
	}
	if d.Empty() || l.opt.DryRun {
		return nil
	}
	out.BatchID = newRegistryBatchID(l.bulk.now)
	if err := l.firstHistory(ctx, out.BatchID); err != nil {
		return err
	}
	return l.recordImport(ctx, out.BatchID, l.bulk.now, d)
}

// finishTables enables the tables' reference checks again (endReferenceChecks), gives the households
// whose rows name several villages the smallest of them (in the database's order, as the diff
// takes it), builds the indexes again and analyses the tables, so that the next import is
// planned on their real size.
func (b *bulkLoad) finishTables(ctx context.Context, tx *sqlx.Tx, houses *fileHouseholds) error {
	if err := endReferenceChecks(ctx, tx); err != nil {
		return err
	}
	if err := houses.fixVillages(ctx, tx, "registry_households"); err != nil {
		return err
	}
	for _, t := range []string{"registry_households", "registry_members"} {
		if err := b.rebuild(t); err != nil {
			return err
		}
	}
	if _, err := execTraced(ctx, tx, registryAnalyze); err != nil {
		return fmt.Errorf("registry statistics: %w", err)
	}
	return nil
}

// refsTriggers are the registry tables' reference checks on insert (migrations 00700, 00920):
// the members' households and townships, the households' townships.
var refsTriggers = []struct{ table, trigger string }{
	{"registry_members", "registry_members_refs_insert"},
	{"registry_households", "registry_households_refs_insert"},
}

// endReferenceChecks enables the reference checks (refsTriggers) again for every later
// statement. What they would have checked of the load's rows holds by the way the load
// writes them, so they are not run over the whole tables again (which cost a first import
// of 100,000 households some 0.1 s of the server's time): every member's household was
// written before the member (fileHouseholds.add, in addRows, sends a chunk's households
// ahead of its members), members are loaded without a township, and every household's
// township is one of townIDs, which lockTownships found and holds until the commit.
func endReferenceChecks(ctx context.Context, tx *sqlx.Tx) error {
	for _, t := range refsTriggers {
		if _, err := execTraced(ctx, tx, `ALTER TABLE `+t.table+` ENABLE TRIGGER `+t.trigger); err != nil {
			return fmt.Errorf("registry load: %w", err)
		}
	}
	return nil
}

// firstHistory keeps a first import's changes (households added) in registry_history, in
// the change list's order, each with the code and detail (the change's JSON) a re-import's
// history has. The history is usually empty too before a first import: then its indexes
// are dropped and built again after the rows as well.
func (l *RegistryLoad) firstHistory(ctx context.Context, batch string) error {
	tx := l.tx
	rebuild := func(string) error { return nil }
	empty := func() (bool, error) {
		var e bool
		if err := tx.GetContext(ctx, &e, `SELECT NOT EXISTS (SELECT 1 FROM registry_history)`); err != nil {
			return false, fmt.Errorf("registry history: %w", err)
		}
		return e, nil
	}
	if e, err := empty(); err != nil {
		return err
	} else if e {
		if locked, err := lockForLoad(ctx, tx, "registry_history"); err != nil {
			return err
		} else if e, err := empty(); err != nil {
			return err
		} else if locked && e {
			if rebuild, err = dropIndexes(ctx, tx, "registry_history"); err != nil {
				return err
			}
		}
	}
	// The changes are the registry's households, every one added, in the change list's order:
	// the server writes their history from the table itself (the detail as
	// insertRegistryHistory makes it for an added household), rather than the importer
	// sending back 100,000 rows it has just read.
	if _, err := execTraced(ctx, tx, `
		INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id, status, detail, created_at)
		SELECT '', household_no, $1, $2, $3, 'active', jsonb_build_object('change', $1::text, 'household', household_no), $4
		FROM registry_households ORDER BY household_no`,
		cases.RegAdded, cases.DateOf(l.bulk.now), batch, l.bulk.now); err != nil {
		return fmt.Errorf("registry history: %w", err)
	}
	return rebuild("registry_history")
}

// appendHouseholdRow writes m's household for registryHouseholdsCopy, head the hash of its
// head's number.
func appendHouseholdRow(b []byte, m *cases.RegistryMember, head string, town int32, updatedAt int64) []byte {
	b = binary.BigEndian.AppendUint16(b, 7)
	b = appendText(b, m.HouseholdNo)
	b = appendText(b, head)
	b = appendInt4(b, town)
	b = appendText(b, m.Village)
	b = appendText(b, m.Kind)
	b = appendText(b, m.RiskStatus)
	return appendTimestamp(b, updatedAt)
}

// appendMemberRow writes a member for registryMembersCopy, hashed and sealed (sr).
func appendMemberRow(b []byte, m *cases.RegistryMember, sr sealedRow, updatedAt int64) []byte {
	b = binary.BigEndian.AppendUint16(b, 6)
	b = appendText(b, sr.id)
	b = appendText(b, sr.idSealed)
	b = appendText(b, m.HouseholdNo)
	b = appendText(b, sr.name)
	b = appendText(b, m.Relation)
	return appendTimestamp(b, updatedAt)
}

// appendTimestamp writes a timestamptz given as copyTime gives it.
func appendTimestamp(b []byte, at int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(at))
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
