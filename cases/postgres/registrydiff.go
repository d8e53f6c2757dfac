package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// RegistryOptions configures a registry re-import.
type RegistryOptions struct {
	AllowRemovals bool   // take a file that removes more than 20 % of households
	Filename      string // for the import record
	Announce      cases.MoveAnnouncer
	Refusals      cases.RegistryRefusals // what the file's refused rows hold back
	DryRun        bool                   // compute the diff, apply nothing
}

// RegistryApplied is what a re-import did.
type RegistryApplied struct {
	BatchID string // '' when nothing changed
	Diff    cases.RegistryDiff
	Moves   []cases.CaseMove
}

// ActRegistryMove is the audit action of a case moved with its household by a re-import.
const ActRegistryMove cases.Action = "registry_move"

// registryLockKey serialises registry re-imports.
const registryLockKey = 0x66705f7267 // "fp_rg"

// RegistryLoad is a registry re-import in progress (docs/registry.md): one transaction under the
// registry's and the dispatch round's advisory locks (a round never sees half an import),
// the file's rows in a temporary table, the difference computed and applied in SQL, so that
// a registry at the file limit never sits in the process's memory. Into an empty registry
// (a first import) the rows go straight to the registry's tables instead (registryfirst.go).
// The transaction runs on a connection of its own, of pgx's driver, whose binary COPY
// carries the rows (registrycopy.go).
type RegistryLoad struct {
	db       *DB
	pool     *sqlx.DB // the load's own connection's, closed with it
	conn     *sqlx.Conn
	tx       *sqlx.Tx
	opt      RegistryOptions
	rows     int
	houses   *fileHouseholds // the file's households (registryhouses.go)
	out      rowCopy         // the rows' COPY, while rows come
	bulk     *bulkLoad       // a first import: the rows go to the registry's tables
	sealer   *registrySealer // hashes and seals the rows (registryseal.go)
	finished bool
}

var _ cases.RegistryLoad = (*RegistryLoad)(nil)

// BeginRegistryImport starts a re-import that queues no messages (registry.Store).
func (db *DB) BeginRegistryImport(ctx context.Context) (cases.RegistryLoad, error) {
	return db.BeginRegistryLoad(ctx, nil)
}

// BeginRegistryLoad starts a re-import; announce tells the townships of moved cases.
func (db *DB) BeginRegistryLoad(ctx context.Context, announce cases.MoveAnnouncer) (*RegistryLoad, error) {
	townIDs, err := db.TownshipIndex(ctx) // a file may still name a township by an alias or former name
	if err != nil {
		return nil, err
	}
	pool, conn, err := db.importConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin registry import: %w", err)
	}
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		conn.Close()
		pool.Close()
		return nil, fmt.Errorf("begin registry import: %w", err)
	}
	l := &RegistryLoad{db: db, pool: pool, conn: conn, tx: tx, opt: RegistryOptions{Announce: announce}}
	if err := l.settings(ctx); err != nil {
		l.Abort()
		return nil, err
	}
	if err := l.beginFirstImport(ctx, townIDs); err != nil {
		l.Abort()
		return nil, err
	}
	if l.bulk != nil {
		return l, nil
	}
	// The file's members and its households (each once, from its first row), as Add sends them.
	for _, q := range []string{`
		CREATE TEMP TABLE registry_file (household_no text COLLATE "C", id_number text COLLATE "C", id_sealed text, name text, relation text) ON COMMIT DROP`, `
		CREATE TEMP TABLE registry_fh (household_no text COLLATE "C", head_id_number text COLLATE "C", township_id int, village text, kind text,
			risk_status text, updated_at timestamptz) ON COMMIT DROP`} {
		if _, err := execTraced(ctx, tx, q); err != nil {
			l.Abort()
			return nil, fmt.Errorf("registry import table: %w", err)
		}
	}
	l.houses = newFileHouseholds(townIDs, registryFileHouseholdsCopy, copyTime(db.Now()))
	return l, nil
}

// settings takes the load's locks and sets its transaction for the diff's joins.
func (l *RegistryLoad) settings(ctx context.Context) error {
	tx := l.tx
	for _, k := range []int64{registryLockKey, dispatchLockKey} {
		if _, err := execTraced(ctx, tx, `SELECT pg_advisory_xact_lock($1)`, k); err != nil {
			return fmt.Errorf("registry lock: %w", err)
		}
	}
	if registryTrace {
		tx.GetContext(ctx, &traceBackend, `SELECT pg_backend_pid()`)
	}
	// The file and the diff's hash joins stay in memory: a registry of 100,000 households
	// is some 40 MB of rows, over the default temporary buffers (8 MB) and work_mem (4 MB).
	// The temporary tables are analysed for the sizes and key counts that make the diff's
	// joins hash joins: a sample of 3,000 rows tells them (the default's 30,000 took some
	// 100 ms of the server's CPU for each of the three); the registry's own tables are
	// analysed on a larger sample (registryAnalyze).
	for _, q := range []string{`SET LOCAL default_statistics_target = 10`, `SET LOCAL work_mem = '64MB'`} {
		if _, err := execTraced(ctx, tx, q); err != nil {
			return fmt.Errorf("registry import settings: %w", err)
		}
	}
	// temp_buffers can only be set before a session's first temporary table (the load's
	// connection is new, but the savepoint keeps a refusal harmless).
	if _, err := execTraced(ctx, tx, `SAVEPOINT temp_buffers`); err == nil {
		if _, err := execTraced(ctx, tx, `SET temp_buffers = '64MB'`); err != nil {
			execTraced(ctx, tx, `ROLLBACK TO SAVEPOINT temp_buffers`)
		}
	}
	return nil
}

// Add takes a batch of the file's accepted rows. They go to the server by binary COPY as
// they come (a chunk at a time, on its own goroutine), so that the server stores rows while
// the next ones are read; ID numbers hashed and sealed, names sealed (registryseal.go), so
// that the whole diff compares stored values as they are: every start seals what an older
// version stored in plain (SealPending), and an import waits for `keys rotate` after a key
// change (registryUnderCurrentKey).
func (l *RegistryLoad) Add(ctx context.Context, ms []cases.RegistryMember) error {
	if l.sealer == nil {
		l.sealer = newRegistrySealer(l.db.Keys)
	}
	if l.bulk != nil {
		at := l.houses.updatedAt
		return l.addRows(ctx, ms, registryMembersCopy, func(b []byte, m *cases.RegistryMember, sr sealedRow) []byte {
			return appendMemberRow(b, m, sr, at)
		})
	}
	return l.addRows(ctx, ms, registryFileCopy, appendFileRow)
}

// Abort rolls the import back (nothing changes).
func (l *RegistryLoad) Abort() {
	if !l.finished {
		l.finished = true
		l.out.abort()
		l.tx.Rollback()
		l.close()
	}
}

// commit commits the load's transaction; rolled back on failure.
func (l *RegistryLoad) commit() error {
	l.finished = true
	defer l.close()
	start := traceStart()
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("apply registry: commit: %w", err)
	}
	traceStep("commit", start)
	return nil
}

// close gives the load's connection up.
func (l *RegistryLoad) close() {
	l.conn.Close()
	l.pool.Close()
}

// registryDiffSQL fills registry_chg with the difference between the file and the registry,
// in the order the change list shows: households added and changed, members moved, added and
// changed, households removed, members removed. Every step is a join or an anti-join of whole
// tables, the temporary ones analysed, so that the planner hashes them and the
// cost grows linearly with the registry (a correlated scan of an unindexed temporary table
// made the first import grow with its square). registry_fm is the file's members joined
// once with the registry's (a full join), keeping only those new or different, and the
// registry's active members the file does not list (absent): the member steps and the
// writes read it rather than joining the whole file again.
var registryDiffSQL = []string{`
	ANALYZE registry_fh`, `
	CREATE TEMP TABLE registry_fm ON COMMIT DROP AS
	SELECT f.household_no, coalesce(f.id_number, m.id_number) AS id_number, coalesce(f.id_sealed, m.id_sealed) AS id_sealed,
		f.name, f.relation, m.id_number IS NOT NULL AS known,
		m.household_no AS old_household, m.name AS old_name, m.relation AS old_relation, m.removed_at IS NOT NULL AS was_removed,
		f.id_number IS NULL AS absent
	FROM registry_file f FULL JOIN registry_members m ON m.id_number = f.id_number
	WHERE (f.id_number IS NULL AND m.removed_at IS NULL)
		OR (f.id_number IS NOT NULL AND (m.id_number IS NULL OR m.household_no <> f.household_no OR m.removed_at IS NOT NULL
			OR m.name <> f.name OR m.relation <> f.relation))`, `
	ANALYZE registry_fm`, `
	CREATE TEMP TABLE registry_chg (seq serial, change text NOT NULL, household text COLLATE "C" NOT NULL,
		id_number text COLLATE "C" NOT NULL DEFAULT '', id_sealed text NOT NULL DEFAULT '', fields text[] NOT NULL DEFAULT '{}', from_ text NOT NULL DEFAULT '',
		to_ text NOT NULL DEFAULT '') ON COMMIT DROP`, `
	INSERT INTO registry_chg (change, household)
	SELECT 'added', fh.household_no FROM registry_fh fh
	LEFT JOIN registry_households h ON h.household_no = fh.household_no
	WHERE h.household_no IS NULL OR h.status = 'removed' ORDER BY fh.household_no`, `
	INSERT INTO registry_chg (change, household, fields, from_, to_)
	SELECT 'changed', fh.household_no,
		array_remove(ARRAY[
			CASE WHEN h.township_id <> fh.township_id THEN '乡镇' END,
			CASE WHEN h.village <> fh.village THEN '村' END,
			CASE WHEN h.kind <> fh.kind THEN '户类型' END,
			CASE WHEN h.risk_status <> fh.risk_status THEN '风险状态' END,
			CASE WHEN h.head_id_number <> fh.head_id_number THEN '户主' END], NULL),
		CASE WHEN h.township_id <> fh.township_id THEN ot.name ELSE '' END,
		CASE WHEN h.township_id <> fh.township_id THEN nt.name ELSE '' END
	FROM registry_fh fh JOIN registry_households h ON h.household_no = fh.household_no AND h.status = 'active'
	JOIN townships ot ON ot.id = h.township_id JOIN townships nt ON nt.id = fh.township_id
	WHERE (h.township_id, h.village, h.kind, h.risk_status, h.head_id_number)
		IS DISTINCT FROM (fh.township_id, fh.village, fh.kind, fh.risk_status, fh.head_id_number)
	ORDER BY fh.household_no`, `
	INSERT INTO registry_chg (change, household, id_number, id_sealed, from_, to_)
	SELECT 'moved', household_no, id_number, id_sealed, old_household, household_no FROM registry_fm
	WHERE NOT absent AND known AND old_household <> household_no ORDER BY household_no, id_number`, `
	INSERT INTO registry_chg (change, household, id_number, id_sealed)
	SELECT 'added', f.household_no, f.id_number, f.id_sealed
	FROM registry_fm f JOIN registry_households h ON h.household_no = f.household_no AND h.status = 'active'
	WHERE NOT f.absent AND (NOT f.known OR (f.was_removed AND f.old_household = f.household_no))
	ORDER BY f.household_no, f.id_number`, `
	INSERT INTO registry_chg (change, household, id_number, id_sealed, fields)
	SELECT 'changed', f.household_no, f.id_number, f.id_sealed,
		array_remove(ARRAY[CASE WHEN f.old_name <> f.name THEN '姓名' END, CASE WHEN f.old_relation <> f.relation THEN '与户主关系' END], NULL)
	FROM registry_fm f
	WHERE NOT f.absent AND f.known AND f.old_household = f.household_no AND NOT f.was_removed
		AND (f.old_name, f.old_relation) IS DISTINCT FROM (f.name, f.relation)
	ORDER BY f.household_no, f.id_number`, `
	INSERT INTO registry_chg (change, household)
	SELECT 'removed', h.household_no FROM registry_households h
	WHERE h.status = 'active' AND NOT EXISTS (SELECT 1 FROM registry_fh fh WHERE fh.household_no = h.household_no)
		AND NOT EXISTS (SELECT 1 FROM registry_refused r WHERE r.household_no = h.household_no)
	ORDER BY h.household_no`, `
	INSERT INTO registry_chg (change, household, id_number, id_sealed)
	SELECT 'removed', m.old_household, m.id_number, m.id_sealed FROM registry_fm m
	WHERE m.absent AND EXISTS (SELECT 1 FROM registry_fh fh WHERE fh.household_no = m.old_household)
		AND NOT EXISTS (SELECT 1 FROM registry_held x WHERE x.id_number = m.id_number)
	ORDER BY m.id_number`,
}

// Finish compares the file with the registry and applies the difference (see
// ApplyRegistry), then commits; a refusal or an identical file rolls back.
func (l *RegistryLoad) Finish(ctx context.Context, opt cases.RegistryImportOptions) (cases.RegistryImportResult, error) {
	l.opt.AllowRemovals, l.opt.Filename, l.opt.Refusals, l.opt.DryRun = opt.AllowRemovals, opt.Filename, opt.Refusals, opt.DryRun
	a, err := l.finish(ctx)
	if err != nil || a.BatchID == "" {
		l.Abort()
		if err != nil {
			return cases.RegistryImportResult{}, fmt.Errorf("apply registry: %w", err)
		}
		return cases.RegistryImportResult{Diff: a.Diff}, nil
	}
	if err := l.commit(); err != nil {
		return cases.RegistryImportResult{}, err
	}
	return cases.RegistryImportResult{BatchID: a.BatchID, Diff: a.Diff, CasesMoved: len(a.Moves)}, nil
}

// finish decides what the file changes (decide), then, unless nothing is to be written,
// writes it (apply), all in the load's one transaction; a first import has stored the rows
// already and ends its own way (firstImport).
func (l *RegistryLoad) finish(ctx context.Context) (RegistryApplied, error) {
	var out RegistryApplied
	if l.bulk != nil {
		return out, l.firstImport(ctx, &out)
	}
	write, err := l.decide(ctx, &out)
	if err != nil || !write {
		return out, err
	}
	return out, l.apply(ctx, &out)
}

// decide ends the rows' COPY, builds the file's tables and the change list (registry_chg),
// reads it into out.Diff and says whether it is to be written: not for a dry run or an
// identical file; a refusal is an error. An empty registry not loaded as a first import
// (its tables not to be had at once, or removed households in them) takes every good row.
func (l *RegistryLoad) decide(ctx context.Context, out *RegistryApplied) (bool, error) {
	tx := l.tx
	if err := l.endRows(ctx, registryFileCopy); err != nil {
		return false, err
	}
	if err := l.houses.fixVillages(ctx, tx, "registry_fh"); err != nil {
		return false, err
	}
	if err := tx.GetContext(ctx, &out.Diff.ActiveBefore, `SELECT count(*) FROM registry_households WHERE status = 'active'`); err != nil {
		return false, fmt.Errorf("registry size: %w", err)
	}
	ref := l.opt.Refusals
	if out.Diff.ActiveBefore > 0 && ref.TooMany() {
		return false, ref.Refusal()
	}
	if out.Diff.ActiveBefore == 0 {
		ref = cases.RegistryRefusals{} // a first import stores every good row
	}
	ref.IDNumbers, _ = hashIDs(l.db.Keys, ref.IDNumbers)
	if err := holdRefused(ctx, tx, ref, &out.Diff); err != nil {
		return false, err
	}
	for _, q := range registryDiffSQL {
		if _, err := execTraced(ctx, tx, q); err != nil {
			return false, fmt.Errorf("registry diff: %w", err)
		}
	}
	if err := registryUnderCurrentKey(ctx, tx, l.db.Keys); err != nil {
		return false, err
	}
	d := &out.Diff
	if err := readRegistryChanges(ctx, tx, l.db.Keys, d); err != nil {
		return false, err
	}
	if l.opt.DryRun {
		// What the import would move, without moving it.
		var err error
		out.Moves, err = l.db.plannedMoves(ctx, tx, d.Changes)
		return false, err
	}
	if d.TooManyRemovals() && !l.opt.AllowRemovals {
		return false, cases.Errorf(cases.EConflict, "名册没有导入：这份文件会让 %d 户退出名册（现有 %d 户的 %.0f%%），超过 %.0f%%，可能是只导出了部分乡镇或部分户。"+
			"请确认导出的是全县完整名册；如确需让这些户退出，请加 --allow-removals 重新导入。",
			d.RemovedHouseholds, d.ActiveBefore, 100*float64(d.RemovedHouseholds)/float64(d.ActiveBefore), 100*cases.MaxRemovalShare)
	}
	return !d.Empty(), nil
}

// readRegistryChanges reads the change list (registry_chg, in its order) into d and counts
// it, each member's ID number opened. The list orders members by their hash; each step's
// run of members is put back in the order of their numbers (registryChangeOrder).
func readRegistryChanges(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, d *cases.RegistryDiff) error {
	var rows []struct {
		Change string         `db:"change"`
		House  string         `db:"household"`
		ID     string         `db:"id_sealed"`
		Fields pq.StringArray `db:"fields"`
		From   string         `db:"from_"`
		To     string         `db:"to_"`
	}
	start := traceStart()
	if err := tx.SelectContext(ctx, &rows, `SELECT change, household, id_sealed, fields, from_, to_ FROM registry_chg ORDER BY seq`); err != nil {
		return fmt.Errorf("registry diff: %w", err)
	}
	traceStep("read the change list", start)
	for i := range rows {
		if err := openRegistry(k, &rows[i].ID); err != nil {
			return err
		}
	}
	for _, r := range rows {
		c := cases.RegistryChange{Change: r.Change, Household: r.House, IDNumber: r.ID, From: r.From, To: r.To}
		if len(r.Fields) > 0 {
			c.Fields = r.Fields
		}
		d.Changes = append(d.Changes, c)
		switch c.Change {
		case cases.RegAdded:
			d.Added++
		case cases.RegChanged:
			d.Changed++
		case cases.RegMoved:
			d.Moved++
		case cases.RegRemoved:
			d.Removed++
			if c.IDNumber == "" {
				d.RemovedHouseholds++
			}
		}
	}
	registryChangeOrder(d.Changes)
	return nil
}

// registryChangeOrder puts each run of one step's members (consecutive changes of one kind
// naming a member) in the order of their ID numbers, as the list showed them when the
// registry held the numbers: by household then number, removed members by number alone.
func registryChangeOrder(cs []cases.RegistryChange) {
	for i := 0; i < len(cs); {
		j := i + 1
		if cs[i].IDNumber != "" {
			for j < len(cs) && cs[j].IDNumber != "" && cs[j].Change == cs[i].Change {
				j++
			}
			run, byID := cs[i:j], cs[i].Change == cases.RegRemoved
			sort.SliceStable(run, func(a, b int) bool {
				if !byID && run[a].Household != run[b].Household {
					return run[a].Household < run[b].Household
				}
				return run[a].IDNumber < run[b].IDNumber
			})
		}
		i = j
	}
}

// registryUnderCurrentKey refuses an import while the registry holds members whose names are
// sealed under another key than the current one (a new first key, before `fangpin keys
// rotate` has finished): the file's sealed names would differ from theirs whatever they say.
// Such a member of the file is in registry_fm (its name differs), which is small for a usual
// file, so only that is read; values stored in plain are sealed on every start (SealPending).
func registryUnderCurrentKey(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring) error {
	cur := "fp1." + k.Current() + "."
	var stale bool
	start := traceStart()
	if err := tx.GetContext(ctx, &stale, `SELECT EXISTS (SELECT 1 FROM registry_fm
		WHERE known AND NOT absent AND old_name <> '' AND left(old_name, $2) <> $1)`, cur, len(cur)); err != nil {
		return fmt.Errorf("registry keys: %w", err)
	}
	traceStep("names under the current key", start)
	if stale {
		return cases.Errorf(cases.EConflict, "名册没有导入：现有名册中还有用旧密钥加密的数据（更换密钥后尚未重新加密完）。请先运行 fangpin keys rotate，完成后再导入名册。")
	}
	return nil
}

// apply writes the decided change list under a new batch id: the registry's rows, the
// history, the import's record, the open cases moved with their households and the
// townships told of them.
func (l *RegistryLoad) apply(ctx context.Context, out *RegistryApplied) error {
	tx, db, d := l.tx, l.db, &out.Diff
	now := db.Now()
	out.BatchID = newRegistryBatchID(now)
	if err := writeRegistryRows(ctx, tx, now, d); err != nil {
		return err
	}
	if err := insertRegistryHistory(ctx, tx, `SELECT seq AS ord, change, household, id_number, fields, from_, to_ FROM registry_chg`,
		out.BatchID, cases.DateOf(now), now); err != nil {
		return err
	}
	if err := l.recordImport(ctx, out.BatchID, now, d); err != nil {
		return err
	}
	var err error
	if out.Moves, err = db.moveCases(ctx, tx, out.BatchID, now, d.Changes); err != nil {
		return err
	}
	if l.opt.Announce != nil && len(out.Moves) > 0 {
		if err := l.opt.Announce(ctx, unit{tx, db.Keys}, out.Moves); err != nil {
			return fmt.Errorf("queue case move messages: %w", err)
		}
	}
	return nil
}

// writeRegistryRows applies the change list to registry_households and registry_members.
func writeRegistryRows(ctx context.Context, tx *sqlx.Tx, now time.Time, d *cases.RegistryDiff) error {
	// Rows already there are updated and new ones inserted by two set-based statements each
	// (an anti-join, not ON CONFLICT): a first import inserts without a speculative look-up
	// per row, and an identical re-import writes nothing. Households are looked at only when
	// the change list names them (added, or changed), not all of the file's against the
	// registry's again; the list is analysed first, for that join.
	if _, err := execTraced(ctx, tx, `ANALYZE registry_chg`); err != nil {
		return fmt.Errorf("registry diff: %w", err)
	}
	for _, q := range []string{`
		UPDATE registry_households h SET head_id_number = fh.head_id_number, township_id = fh.township_id,
			village = fh.village, kind = fh.kind, risk_status = fh.risk_status, status = 'active', removed_at = NULL, updated_at = $1
		FROM registry_fh fh WHERE fh.household_no = h.household_no
			AND fh.household_no IN (SELECT household FROM registry_chg WHERE change IN ('added', 'changed') AND id_number = '')
			AND (h.head_id_number, h.township_id, h.village, h.kind, h.risk_status, h.status)
				IS DISTINCT FROM (fh.head_id_number, fh.township_id, fh.village, fh.kind, fh.risk_status, 'active')`, `
		INSERT INTO registry_households (household_no, head_id_number, township_id, village, kind, risk_status, updated_at)
		SELECT fh.household_no, fh.head_id_number, fh.township_id, fh.village, fh.kind, fh.risk_status, $1 FROM registry_fh fh
		WHERE fh.household_no IN (SELECT household FROM registry_chg WHERE change = 'added' AND id_number = '')
			AND NOT EXISTS (SELECT 1 FROM registry_households h WHERE h.household_no = fh.household_no)`, `
		UPDATE registry_members m SET household_no = f.household_no, id_sealed = f.id_sealed, name = f.name, relation = f.relation,
			removed_at = NULL, updated_at = $1
		FROM registry_fm f WHERE NOT f.absent AND f.known AND f.id_number = m.id_number`, `
		INSERT INTO registry_members (id_number, id_sealed, household_no, name, relation, updated_at)
		SELECT f.id_number, f.id_sealed, f.household_no, f.name, f.relation, $1 FROM registry_fm f WHERE NOT f.absent AND NOT f.known`,
	} {
		if _, err := execTraced(ctx, tx, q, now); err != nil {
			return fmt.Errorf("apply registry rows: %w", err)
		}
	}
	if _, err := execTraced(ctx, tx, `UPDATE registry_households SET status = 'removed', removed_at = $1, updated_at = $1
		WHERE household_no IN (SELECT household FROM registry_chg WHERE change = 'removed' AND id_number = '')`, now); err != nil {
		return fmt.Errorf("remove households: %w", err)
	}
	if _, err := execTraced(ctx, tx, `UPDATE registry_members SET removed_at = $1, updated_at = $1
		WHERE id_number IN (SELECT id_number FROM registry_chg WHERE change = 'removed' AND id_number <> '')`, now); err != nil {
		return fmt.Errorf("remove members: %w", err)
	}
	if len(d.Changes) > d.ActiveBefore/10 {
		// A large change (a first import): the next import's joins are planned on the
		// registry's real size, not on an empty table's statistics.
		if _, err := execTraced(ctx, tx, registryAnalyze); err != nil {
			return fmt.Errorf("registry statistics: %w", err)
		}
	}
	return nil
}

// registryAnalyze analyses the registry's own tables after a large change (a first import),
// so that the next import's joins are planned on their real size. The sample is set first:
// their statistics stay for every later query, so a larger sample than the temporary tables'
// 3,000 rows. 9,000 rows (a target of 30) tell the members' households per household within
// a tenth of the default's 30,000 (n_distinct -0.27 against -0.25 at 100,000 households; 3,000
// rows said -0.10), in 65 ms of a first import where the default took 180 ms: the keys are
// hashes and codes, evenly spread, with nothing a larger histogram would show.
const registryAnalyze = `SET LOCAL default_statistics_target = 30; ANALYZE registry_households (household_no, status); ANALYZE registry_members (id_number, household_no, removed_at)`

// newRegistryBatchID names an import's batch: R, the day, a random suffix.
func newRegistryBatchID(now time.Time) string {
	b := make([]byte, 6)
	rand.Read(b)
	return "R" + now.In(cases.Shanghai).Format("20060102") + "-" + hex.EncodeToString(b)
}

// recordImport keeps the import's record (registry_imports).
func (l *RegistryLoad) recordImport(ctx context.Context, batch string, now time.Time, d *cases.RegistryDiff) error {
	if _, err := execTraced(ctx, l.tx, `
		INSERT INTO registry_imports (id, sha256, filename, rows, added, changed, moved, removed, at)
		VALUES ($1, '', $2, $3, $4, $5, $6, $7, $8)`,
		batch, l.opt.Filename, l.rows, d.Added, d.Changed, d.Moved, d.Removed, now); err != nil {
		return fmt.Errorf("registry import record: %w", err)
	}
	return nil
}

// ApplyRegistry applies a whole exported registry as a diff (docs/registry.md), in one transaction:
// households and members added, changed and moved; households absent from the file marked
// removed (退出, kept, never monitored again) and members absent from their household
// likewise; every change in registry_history under the import's batch id; open cases moved
// with their households to a new township, the townships told through opt.Announce. A file
// that removes more than 20 % of households is refused unless opt.AllowRemovals; an
// identical file changes nothing. registry.Import streams a file through BeginRegistryLoad.
func (db *DB) ApplyRegistry(ctx context.Context, ms []cases.RegistryMember, opt RegistryOptions) (RegistryApplied, error) {
	l, err := db.BeginRegistryLoad(ctx, opt.Announce)
	if err != nil {
		return RegistryApplied{}, err
	}
	defer l.Abort()
	l.opt = opt
	for i := 0; i < len(ms); i += 2000 {
		if err := l.Add(ctx, ms[i:min(i+2000, len(ms))]); err != nil {
			return RegistryApplied{}, err
		}
	}
	a, err := l.finish(ctx)
	if err != nil {
		return RegistryApplied{}, fmt.Errorf("apply registry: %w", err)
	}
	if a.BatchID == "" {
		return a, nil // identical: rolled back by the deferred Abort
	}
	if err := l.commit(); err != nil {
		return RegistryApplied{}, err
	}
	return a, nil
}

// holdRefused keeps the households the refused rows name exactly as they are: their rows
// leave the file (as do the rows of their current members listed elsewhere, which would
// move them out), and registry_refused keeps them from the removed ones. It also analyses
// the file's table: the diff's joins are hash joins, which need its size and key counts.
func holdRefused(ctx context.Context, tx *sqlx.Tx, ref cases.RegistryRefusals, d *cases.RegistryDiff) error {
	steps := []struct {
		q    string
		args []any
	}{
		{`CREATE TEMP TABLE registry_refused ON COMMIT DROP AS
			SELECT DISTINCT household_no FROM (
				SELECT unnest($1::text[]) AS household_no
				UNION ALL
				SELECT m.household_no FROM registry_members m WHERE m.id_number = ANY($2) AND m.removed_at IS NULL) x
			WHERE household_no <> ''`, []any{pq.Array(ref.Households), pq.Array(ref.IDNumbers)}},
		{`ALTER TABLE registry_refused ADD PRIMARY KEY (household_no)`, nil},
		{`ANALYZE registry_refused`, nil},
		// People the file lists in a held household: their rows leave the file, but they
		// are not absent from it, so never removed from the household they are in now.
		{`CREATE TEMP TABLE registry_held ON COMMIT DROP AS
			SELECT f.id_number FROM registry_file f JOIN registry_refused r ON r.household_no = f.household_no`, nil},
		{`DELETE FROM registry_file f USING registry_refused r WHERE f.household_no = r.household_no`, nil},
		{`DELETE FROM registry_fh fh USING registry_refused r WHERE fh.household_no = r.household_no`, nil},
	}
	for _, s := range steps {
		if _, err := execTraced(ctx, tx, s.q, s.args...); err != nil {
			return fmt.Errorf("registry refused rows: %w", err)
		}
	}
	moved, err := execTraced(ctx, tx, `DELETE FROM registry_file f USING registry_members m, registry_refused r
		WHERE f.id_number = m.id_number AND m.household_no = r.household_no AND m.removed_at IS NULL`)
	if err != nil {
		return fmt.Errorf("registry refused rows: %w", err)
	}
	if n, _ := moved.RowsAffected(); n > 0 {
		// A household of the file whose every row was such a member's is not in the file
		// any more either.
		if _, err := execTraced(ctx, tx, `DELETE FROM registry_fh fh
			WHERE NOT EXISTS (SELECT 1 FROM registry_file f WHERE f.household_no = fh.household_no)`); err != nil {
			return fmt.Errorf("registry refused rows: %w", err)
		}
	}
	for _, q := range []string{`ANALYZE registry_file (household_no, id_number)`, `ANALYZE registry_held`} {
		if _, err := execTraced(ctx, tx, q); err != nil {
			return fmt.Errorf("registry refused rows: %w", err)
		}
	}
	if len(ref.Households)+len(ref.IDNumbers) == 0 {
		return nil
	}
	if err := tx.SelectContext(ctx, &d.Unchanged, `SELECT household_no FROM registry_refused ORDER BY household_no`); err != nil {
		return fmt.Errorf("registry refused rows: %w", err)
	}
	return nil
}

// insertRegistryHistory keeps every change of the import in registry_history, in one
// statement over the changes the query returns (ord, change, household, id_number, fields,
// from_, to_; ord the list's order): the change's code (cases.Change), the fields a 变更
// names, and each row's detail (the change as the reply lists it, cases.RegistryChange's
// JSON) are made by the server, not sent row by row.
func insertRegistryHistory(ctx context.Context, tx *sqlx.Tx, changes, batch string, on cases.Date, at time.Time) error {
	_, err := execTraced(ctx, tx, `
		INSERT INTO registry_history (id_number, household_no, change, fields, changed_on, batch_id, status, detail, created_at)
		SELECT c.id_number, c.household, c.change, c.fields, $1, $2, CASE c.change WHEN $3 THEN 'removed' ELSE 'active' END,
			jsonb_strip_nulls(jsonb_build_object('change', c.change, 'household', c.household, 'id_number', NULLIF(c.id_number, ''),
				'fields', CASE WHEN cardinality(c.fields) > 0 THEN to_jsonb(c.fields) END,
				'from', NULLIF(c.from_, ''), 'to', NULLIF(c.to_, ''))),
			$4
		FROM (`+changes+`) c ORDER BY c.ord`,
		on, batch, cases.RegRemoved, at)
	if err != nil {
		return fmt.Errorf("registry history: %w", err)
	}
	return nil
}

// caseToMove is an open case a re-import moves with its household to another township.
type caseToMove struct {
	before    cases.Case
	household string
	to        string
}

// casesToMove lists, for each household whose 乡镇 the change list changes, its open cases
// not yet in the new township, locked: those of the household, and those of its members
// that were opened before the registry listed them (a case of a person alone, with no
// registry household of its own: open cases follow people, docs/registry.md).
func (db *DB) casesToMove(ctx context.Context, tx *sqlx.Tx, cs []cases.RegistryChange) ([]caseToMove, error) {
	var out []caseToMove
	for _, c := range cs {
		if c.Change != cases.RegChanged || c.IDNumber != "" || c.From == "" || c.From == c.To {
			continue
		}
		var nos []string
		if err := tx.SelectContext(ctx, &nos, `SELECT case_no FROM cases c WHERE status <> 'closed' AND (household_key = $1 OR household_no = $2
				OR (household_no = '' AND EXISTS (SELECT 1 FROM warnings w JOIN registry_members m ON m.id_number = w.id_number
					WHERE w.case_id = c.id AND w.id_number <> '' AND m.household_no = $2 AND m.removed_at IS NULL)))
			ORDER BY case_no FOR UPDATE`, "hh:"+c.Household, c.Household); err != nil {
			return nil, fmt.Errorf("open cases of %s: %w", c.Household, err)
		}
		for _, no := range nos {
			before, err := caseByNo(ctx, tx, db.Keys, no, true)
			if err != nil {
				return nil, err
			}
			if before.Township != c.To {
				out = append(out, caseToMove{before: before, household: c.Household, to: c.To})
			}
		}
	}
	return out, nil
}

// plannedMoves is what a dry run says of casesToMove: the cases, from and to.
func (db *DB) plannedMoves(ctx context.Context, tx *sqlx.Tx, cs []cases.RegistryChange) ([]cases.CaseMove, error) {
	ms, err := db.casesToMove(ctx, tx, cs)
	if err != nil {
		return nil, err
	}
	out := make([]cases.CaseMove, len(ms))
	for i, m := range ms {
		out[i] = cases.CaseMove{Case: m.before, From: m.before.Township, To: m.to}
	}
	return out, nil
}

// moveCases moves the open cases of households whose 乡镇 changed to the new township
// (casesToMove): township and pending group reminders follow, the due date stays, the move
// is audited.
func (db *DB) moveCases(ctx context.Context, tx *sqlx.Tx, batch string, now time.Time, cs []cases.RegistryChange) ([]cases.CaseMove, error) {
	planned, err := db.casesToMove(ctx, tx, cs)
	if err != nil {
		return nil, err
	}
	var moves []cases.CaseMove
	for _, pm := range planned {
		before, no := pm.before, pm.before.No
		if _, err := execTraced(ctx, tx, `UPDATE cases SET township_id = (SELECT id FROM townships WHERE name = $2), version = version + 1 WHERE id = $1`,
			before.ID, pm.to); err != nil {
			return nil, fmt.Errorf("move case %s: %w", no, err)
		}
		if _, err := execTraced(ctx, tx, `UPDATE reminders SET target = $3, township_id = (SELECT id FROM townships WHERE name = $4)
			WHERE case_id = $1 AND state = 'pending' AND target = $2`,
			before.ID, cases.TargetGroup(before.Township), cases.TargetGroup(pm.to), pm.to); err != nil {
			return nil, fmt.Errorf("reminders of %s: %w", no, err)
		}
		if err := InsertEvent(ctx, tx, db.Keys, before.ID, ActRegistryMove, before.Status, before.Status, cases.System, cases.Source("registry:"+batch), now,
			map[string]any{"from": before.Township, "to": pm.to, "household": pm.household}); err != nil {
			return nil, err
		}
		after, err := caseByNo(ctx, tx, db.Keys, no, false)
		if err != nil {
			return nil, err
		}
		m := cases.CaseMove{Case: after, From: before.Township, To: pm.to, Cadres: map[string][]string{}, Chats: map[string][2]string{}}
		for _, t := range []string{m.From, m.To} {
			n := cases.TownshipNotice{Township: t}
			if err := fillNotice(ctx, tx, &n); err != nil {
				return nil, err
			}
			m.Cadres[t], m.Chats[t] = n.Cadres, [2]string{n.AppChatID, n.WebhookKey}
		}
		var rows []warningRow
		if err := tx.SelectContext(ctx, &rows, warningSelect+` WHERE w.case_id = $1 ORDER BY w.id`, after.ID); err != nil {
			return nil, fmt.Errorf("warnings of %s: %w", no, err)
		}
		if m.Warnings, err = facts(db.Keys, rows); err != nil {
			return nil, fmt.Errorf("warnings of %s: %w", no, err)
		}
		moves = append(moves, m)
	}
	return moves, nil
}

// ImportRegistry is ApplyRegistry for registry.Import, queueing no messages.
func (db *DB) ImportRegistry(ctx context.Context, ms []cases.RegistryMember, opt cases.RegistryImportOptions) (cases.RegistryImportResult, error) {
	return db.ImportRegistryAnnounced(ctx, ms, opt, nil)
}

// ImportRegistryAnnounced is ImportRegistry telling the townships of moved cases.
func (db *DB) ImportRegistryAnnounced(ctx context.Context, ms []cases.RegistryMember, opt cases.RegistryImportOptions, announce cases.MoveAnnouncer) (cases.RegistryImportResult, error) {
	a, err := db.ApplyRegistry(ctx, ms, RegistryOptions{AllowRemovals: opt.AllowRemovals, Filename: opt.Filename, Announce: announce,
		Refusals: opt.Refusals, DryRun: opt.DryRun})
	if err != nil {
		return cases.RegistryImportResult{}, err
	}
	return cases.RegistryImportResult{BatchID: a.BatchID, Diff: a.Diff, CasesMoved: len(a.Moves)}, nil
}

// registryTrace, set by FANGPIN_REGISTRY_TRACE, prints how long each statement of an import
// took to stderr (docs/performance.md), in wall time and in the CPU time of the server's
// backend when it runs on this machine (which the machine's load does not inflate): no
// row's content, only the statement's first words.
var registryTrace = os.Getenv("FANGPIN_REGISTRY_TRACE") != ""

// traceBackend is the import's backend process, for its CPU time.
var traceBackend int

// traceMark is when a traced step began.
type traceMark struct {
	at  time.Time
	cpu time.Duration
}

func traceStart() traceMark {
	if !registryTrace {
		return traceMark{}
	}
	return traceMark{time.Now(), backendCPU()}
}

// backendCPU reads the backend's user and system time from /proc (0 when not local).
func backendCPU() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", traceBackend))
	if err != nil || traceBackend == 0 {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var u, s int64
	fmt.Sscan(f[11], &u)
	fmt.Sscan(f[12], &s)
	return time.Duration(u+s) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// traceStep prints a step's duration when tracing.
func traceStep(what string, m traceMark) {
	if registryTrace {
		fmt.Fprintf(os.Stderr, "registry %8.1f ms wall %6.0f ms server CPU  %s\n", float64(time.Since(m.at).Microseconds())/1000,
			float64((backendCPU() - m.cpu).Milliseconds()), what)
	}
}

// execTraced is tx.ExecContext, traced.
func execTraced(ctx context.Context, tx *sqlx.Tx, q string, args ...any) (sql.Result, error) {
	m := traceStart()
	r, err := tx.ExecContext(ctx, q, args...)
	if registryTrace {
		q = strings.Join(strings.Fields(q), " ")
		traceStep(q[:min(90, len(q))], m)
	}
	return r, err
}
