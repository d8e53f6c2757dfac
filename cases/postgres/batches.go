package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// PushDepartments lists the departments with the categories they push and the SHA-256 of
// their API token.
func (db *DB) PushDepartments(ctx context.Context) ([]cases.OrgDepartment, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, categories, token_sha256 FROM departments ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	defer rows.Close()
	var out []cases.OrgDepartment
	for rows.Next() {
		var d cases.OrgDepartment
		var cats pq.StringArray
		if err := rows.Scan(&d.Name, &cats, &d.TokenSHA256); err != nil {
			return nil, fmt.Errorf("list departments: %w", err)
		}
		for _, c := range cats {
			d.Categories = append(d.Categories, cases.Category(c))
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// IDSealer hashes ID numbers for an import's look-ups (intake.IDHasher).
func (db *DB) IDSealer() *seal.Sealer { return db.Keys.Sealer() }

// RegistryLookup finds people by the keyed hash of their ID number (docs/encryption.md), as
// registry members or as the 户主身份证号 of a registry household (a head need not be
// listed as a member). A member entry wins. The answer's IDNumber and HeadIDNumber are
// hashes, its name opened.
func (db *DB) RegistryLookup(ctx context.Context, ids []string) (map[string]cases.RegistryMember, error) {
	// A join with the unnested IDs rather than "= ANY($1)": with thousands of IDs the
	// planner would estimate ANY element by element, which cost more than the lookup.
	rows, err := db.QueryContext(ctx, `
		WITH q AS (SELECT DISTINCT id FROM unnest($1::text[]) AS q(id))
		SELECT m.id_number, m.name, m.relation, h.household_no, h.head_id_number, t.name, h.village, h.kind, h.risk_status, m.status, true
		FROM q JOIN registry_members m ON m.id_number = q.id
		JOIN registry_households h ON h.household_no = m.household_no AND h.status = 'active'
		JOIN townships t ON t.id = h.township_id
		WHERE m.removed_at IS NULL
		UNION ALL
		SELECT h.head_id_number, '', '户主', h.household_no, h.head_id_number, t.name, h.village, h.kind, h.risk_status, 'active', false
		FROM q JOIN registry_households h ON h.head_id_number = q.id AND h.status = 'active'
		JOIN townships t ON t.id = h.township_id`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("look up registry: %w", err)
	}
	defer rows.Close()
	out := make(map[string]cases.RegistryMember)
	for rows.Next() {
		var m cases.RegistryMember
		var member bool
		if err := rows.Scan(&m.IDNumber, &m.Name, &m.Relation, &m.HouseholdNo, &m.HeadIDNumber, &m.Township,
			&m.Village, &m.Kind, &m.RiskStatus, &m.Status, &member); err != nil {
			return nil, fmt.Errorf("look up registry: %w", err)
		}
		if _, ok := out[m.IDNumber]; ok && !member {
			continue
		}
		if m.Name, err = db.Keys.Open(m.Name); err != nil {
			return nil, openErr("名册中的姓名", err)
		}
		out[m.IDNumber] = m
	}
	return out, rows.Err()
}

// RegistryIDKeys holds the ID hash of every registry member and household head, removed
// or not: a superset of what RegistryLookup finds, so that an import asks only for people
// the registry may hold (a few megabytes for a county's registry).
func (db *DB) RegistryIDKeys(ctx context.Context) (cases.IDKeySet, error) {
	rows, err := db.QueryContext(ctx, `SELECT id_number FROM registry_members UNION ALL SELECT head_id_number FROM registry_households`)
	if err != nil {
		return nil, fmt.Errorf("registry ID numbers: %w", err)
	}
	defer rows.Close()
	set := cases.IDKeySet{}
	var id string
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("registry ID numbers: %w", err)
		}
		set.Add(id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry ID numbers: %w", err)
	}
	return set, nil
}

const (
	// copyRows is how many warnings one COPY statement carries at most: the statement's rows
	// are kept aside for its reference checks (migration 00550), within work_mem's 4 MB.
	copyRows = 5000
	// firstCopyRows is the first statement's, so that the server starts storing while the
	// importer reads on.
	firstCopyRows = 500
	// copyBytes ends a statement's chunk early when its rows are wide, so that the chunks
	// in flight stay a few megabytes whatever the files hold.
	copyBytes = 2 << 20
)

// warningColumns are the columns a batch COPYs into warnings, in the order copyChunk.add writes them.
var warningColumns = []string{"id", "batch_id", "row_no", "category", "period", "rule", "amount", "id_number",
	"name", "township_id", "village", "head_id_number", "registered", "detail", "created_at", "id_sealed", "problem"}

// ImportBatch stores a department push in one transaction: the batch row, then every row
// fill adds, streamed to PostgreSQL with binary COPY as they come (copywarnings.go), then the
// batch's counts and errors as fill left them in b.
// If a batch with the same SHA-256 exists, that batch is returned, fill is not called and
// nothing changes; two pushes of the same file at once are serialised by the unique index.
func (db *DB) ImportBatch(ctx context.Context, b *cases.Batch, fill func(add func(*cases.Warning) error) error) (*cases.Batch, error) {
	if len(b.SHA256) < 16 {
		return nil, fmt.Errorf("import batch: missing SHA-256")
	}
	if earlier, err := db.pushBySHA256(ctx, b); err == nil {
		return earlier, nil
	} else if cases.ErrorCode(err) != cases.ENotFound {
		return nil, err
	}
	townIDs, err := db.TownshipIndex(ctx)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	b.ID = batchID(b, now)
	pool, conn, err := db.importConn(ctx)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("import batch: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO batches (id, department_id, category, period, sha256, filename, source, received_at)
		VALUES ($1, (SELECT id FROM departments WHERE name = $2), $3, $4, $5, $6, $7, $8)
		ON CONFLICT DO NOTHING`,
		b.ID, b.Department, string(b.Category), b.Period, b.SHA256, b.Filename, b.Source, now)
	if err != nil {
		return nil, fmt.Errorf("import batch: insert batch: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Someone pushed the same content for the same push meanwhile; theirs is the batch.
		tx.Rollback()
		return db.pushBySHA256(ctx, b)
	}
	if err := lockImportReferences(ctx, tx, townIDs); err != nil {
		return nil, err
	}
	ids := &importIDs{db: db.DB}
	stored, err := copyWarnings(ctx, conn, b, townIDs, now, db.Keys, ids, fill)
	if err != nil {
		return nil, err
	}
	// The batch's rows are found by the range of ids they took (migration 00992); rows the
	// statement check adds later (人员变动's) widen it themselves.
	if ids.first != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET first_warning = least(first_warning, $2), last_warning = greatest(last_warning, $3)
			WHERE id = $1`, b.ID, ids.first, ids.last); err != nil {
			return nil, fmt.Errorf("import batch: warning ids: %w", err)
		}
	}
	// Whatever else the transaction inserts into warnings (人员变动's 零就业家庭 rows) is
	// checked by the table's own trigger again.
	if _, err := tx.ExecContext(ctx, `SET LOCAL fangpin.import_refs_locked = 'off'`); err != nil {
		return nil, fmt.Errorf("import batch: %w", err)
	}
	if b.Category == cases.CatPopulation {
		if err := applyPopulation(ctx, tx, db.Keys, b, stored.population, townIDs, now); err != nil {
			return nil, fmt.Errorf("import batch: %w", err)
		}
	}
	if err := storePrints(ctx, tx, b.ID, stored.prints); err != nil {
		return nil, err
	}
	if b.Replaced, err = supersede(ctx, tx, b); err != nil {
		return nil, err
	}
	if cases.PushLate(db.Cal, b.Category, b.Period, cases.DateOf(now)) {
		b.Late = true // after its deadline (docs/reminders.md): accepted, and it counts as late
	}
	if err := recordCounts(ctx, tx, b); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("import batch: commit: %w", err)
	}
	return nil, nil
}

// lockImportReferences makes, once, the check the warnings table's trigger makes of every
// COPY statement's rows (migration 00990), and tells the trigger so for the import's COPY:
// the rows name the batch this transaction inserted and townships of townIDs (copyWarnings
// refuses a row naming any other), which lockTownships holds.
func lockImportReferences(ctx context.Context, tx *sqlx.Tx, townIDs map[string]int) error {
	if err := lockTownships(ctx, tx, townIDs); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL fangpin.import_refs_locked = 'on'`); err != nil {
		return fmt.Errorf("import batch: %w", err)
	}
	return nil
}

// lockTownships locks the townships FOR KEY SHARE until the transaction ends, as a reference
// check locks what it finds, so that none is deleted or renumbered before a load that names
// them commits, and makes sure every township of townIDs is still there: townIDs was read
// before the transaction, and a township gone since then makes the load fail rather than
// store rows naming it. A load whose rows name only townships of townIDs needs no other
// check of their townships.
func lockTownships(ctx context.Context, tx *sqlx.Tx, townIDs map[string]int) error {
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, `SELECT id FROM townships FOR KEY SHARE`); err != nil {
		return fmt.Errorf("import: lock townships: %w", err)
	}
	have := make(map[int64]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	for name, id := range townIDs {
		if !have[int64(id)] {
			return cases.Errorf(cases.EConflict, "乡镇名单刚刚有变动（%s 已不在名单中），请重新导入这个文件", name)
		}
	}
	return nil
}

// rowsSeen makes sure a batch's rows give at most one warning of each category, which the
// statement check makes sure of for every other insert (migration 00992): the rows come in
// the file's order, so only the current row's categories need keeping.
type rowsSeen struct {
	row  int
	cats []cases.Category
}

func (s *rowsSeen) admit(row int, cat cases.Category) error {
	switch {
	case row < s.row:
		return fmt.Errorf("import batch: row %d after row %d", row, s.row)
	case row > s.row:
		s.row, s.cats = row, s.cats[:0]
	case slices.Contains(s.cats, cat):
		return fmt.Errorf("import batch: row %d gives two %s warnings", row, cat)
	}
	s.cats = append(s.cats, cat)
	return nil
}

// copiedRows is what copyWarnings keeps of the rows it stored.
type copiedRows struct {
	population []populationRow // 人员变动 rows, applied to the registry once stored
	prints     []byte          // the warned rows' people, for a later push of the period (supersede.go)
}

// copyWarnings streams the warnings fill produces into the batch's rows over conn's COPY,
// keeping only rows that raised a warning, and returns the 人员变动 rows to apply to the
// registry once stored and the stored rows' prints.
func copyWarnings(ctx context.Context, conn *sqlx.Conn, b *cases.Batch, townIDs map[string]int, now time.Time,
	keys *seal.Keyring, ids *importIDs, fill func(add func(*cases.Warning) error) error) (copiedRows, error) {
	rs := &rowSealer{s: keys.Sealer()}
	// A failed import stops the copier's statement at once rather than letting it finish.
	copyCtx, cancelCopy := context.WithCancel(ctx)
	defer cancelCopy()
	copier := startCopier(copyCtx, conn)
	chunk := copier.next(warningCopy, copyBytes+64<<10)
	chunkRows := firstCopyRows
	createdAt := copyTime(now)
	var out copiedRows
	var seen rowsSeen
	add := func(w *cases.Warning) error {
		if w.Rule == "" {
			// Data minimisation: a row that raised no warning is counted in the batch but not
			// kept; the county has no business storing everyone's medical spending.
			return nil
		}
		if err := seen.admit(w.Row, w.Category); err != nil {
			return err
		}
		tid, ok := townIDs[w.Township]
		if !ok {
			return fmt.Errorf("import batch: unknown township %q", w.Township)
		}
		if w.Category == cases.CatPopulation {
			out.population = append(out.population, populationRow{Row: w.Row, Change: populationChange(w.Change), On: w.ChangedOn, IDNumber: w.IDNumber,
				Name: w.Name, Township: w.Township, Village: w.Village, HeadIDNumber: w.HeadIDNumber})
		}
		id, err := ids.take(ctx)
		if err != nil {
			return err
		}
		chunk.add(id, b.ID, w, int32(tid), createdAt, rs) // makes w.IDSum when the importer did not
		if w.IDNumber != "" {
			out.prints = appendPrint(out.prints, hashPrint(&w.IDSum))
		}
		if chunk.rows == chunkRows || len(chunk.data) >= copyBytes {
			chunk.end()
			err := copier.send(ctx, chunk)
			chunk, chunkRows = copier.next(warningCopy, copyBytes+64<<10), copyRows
			return err
		}
		return nil
	}
	err := fill(add)
	if err == nil && chunk.rows > 0 {
		chunk.end()
		err = copier.send(ctx, chunk)
	}
	if err != nil {
		cancelCopy()
		copier.wait()
		return copiedRows{}, err
	}
	if err := copier.wait(); err != nil {
		return copiedRows{}, err
	}
	return out, nil
}

// recordCounts writes the batch's counts and findings once its rows are stored.
func recordCounts(ctx context.Context, tx *sqlx.Tx, b *cases.Batch) error {
	errs, err := json.Marshal(b.Errors)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE batches SET rows = $2, accepted = $3, rejected = $4, warnings = $5, errors = $6,
		out_of_scope = $7, late = $8, registry_updates = $9, not_in_registry = $10, skipped = $11, sheet = $12, replaced = $13 WHERE id = $1`,
		b.ID, b.Rows, b.Accepted, b.Rejected, b.Warnings, string(errs), b.OutOfScope, b.Late, intOr0(b.RegistryUpdates), intOr0(b.NotInRegistry),
		b.Skipped, b.Sheet, b.Replaced)
	if err != nil {
		return fmt.Errorf("import batch: counts: %w", err)
	}
	return nil
}

func intOr0(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

const batchSelect = `
	SELECT b.id, d.name, b.category, b.period, b.rows, b.accepted, b.rejected, b.warnings, b.errors, b.sha256, b.filename, b.source,
		b.out_of_scope, b.late, b.registry_updates, b.not_in_registry, b.skipped, b.sheet, b.replaced
	FROM batches b JOIN departments d ON d.id = b.department_id`

func (db *DB) scanBatch(ctx context.Context, where string, args ...any) (*cases.Batch, error) {
	var b cases.Batch
	var cat string
	var errs []byte
	var updates, notIn int
	err := db.QueryRowContext(ctx, batchSelect+" WHERE "+where, args...).Scan(&b.ID, &b.Department, &cat, &b.Period,
		&b.Rows, &b.Accepted, &b.Rejected, &b.Warnings, &errs, &b.SHA256, &b.Filename, &b.Source, &b.OutOfScope, &b.Late, &updates, &notIn,
		&b.Skipped, &b.Sheet, &b.Replaced)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cases.Errorf(cases.ENotFound, "没有找到这个批次")
	}
	if err != nil {
		return nil, fmt.Errorf("read batch: %w", err)
	}
	b.Category = cases.Category(cat)
	if b.Category == cases.CatPopulation {
		b.RegistryUpdates, b.NotInRegistry = &updates, &notIn
	}
	if err := json.Unmarshal(errs, &b.Errors); err != nil {
		return nil, fmt.Errorf("read batch %s errors: %w", b.ID, err)
	}
	if b.Errors == nil {
		b.Errors = []cases.RowError{}
	}
	return &b, nil
}

// pushBySHA256 finds the batch of the same content already pushed by b's department for b's
// category and period; ENotFound if none. The same bytes for another period or by another
// department are another push.
func (db *DB) pushBySHA256(ctx context.Context, b *cases.Batch) (*cases.Batch, error) {
	return db.scanBatch(ctx, "d.name = $1 AND b.category = $2 AND b.period = $3 AND b.sha256 = $4",
		b.Department, string(b.Category), b.Period, b.SHA256)
}

// batchID names a new batch by its day and a hash of what makes it this push, with the
// clock's nanoseconds: a push re-filed under another period (RefileBatch) keeps its id, so
// the same bytes pushed again for its old period the same day must not meet that id.
func batchID(b *cases.Batch, now time.Time) string {
	h := sha256.Sum256([]byte(strings.Join([]string{b.SHA256, b.Department, string(b.Category), b.Period,
		strconv.FormatInt(now.UnixNano(), 10)}, "\x00")))
	return fmt.Sprintf("B%s-%s", now.In(cases.Shanghai).Format("20060102"), hex.EncodeToString(h[:6]))
}

// BatchByID reads one batch; ENotFound if there is none.
func (db *DB) BatchByID(ctx context.Context, id string) (*cases.Batch, error) {
	b, err := db.scanBatch(ctx, "b.id = $1", id)
	if cases.ErrorCode(err) == cases.ENotFound {
		return nil, cases.Errorf(cases.ENotFound, "没有找到批次“%s”，请核对批次号", id)
	}
	return b, err
}

// BatchWarning is one warning of a batch as `fangpin warnings` prints it.
type BatchWarning struct {
	IDNumber string       `json:"id_number"`
	Name     string       `json:"name"`
	Township string       `json:"township"`
	Category string       `json:"category"`
	Rule     string       `json:"rule"`
	Amount   *json.Number `json:"amount"`
	Period   string       `json:"period"`
	Row      int          `json:"row"`
}

// BatchWarnings streams the rows of a batch that raised a warning, in file order, to fn.
func (db *DB) BatchWarnings(ctx context.Context, batchID string, fn func(BatchWarning) error) error {
	if _, err := db.BatchByID(ctx, batchID); err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `
		SELECT w.id_sealed, w.id_number, w.name, t.name, w.category, w.rule, w.amount::text, w.period, w.row_no
		FROM warnings w JOIN townships t ON t.id = w.township_id
		WHERE `+inBatch("w", "$1")+` AND w.rule <> '' ORDER BY w.row_no`, batchID)
	if err != nil {
		return fmt.Errorf("list warnings of %s: %w", batchID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var w BatchWarning
		var amount sql.NullString
		var sealed, key string
		if err := rows.Scan(&sealed, &key, &w.Name, &w.Township, &w.Category, &w.Rule, &amount, &w.Period, &w.Row); err != nil {
			return fmt.Errorf("list warnings of %s: %w", batchID, err)
		}
		if w.IDNumber, err = openID(db.Keys, sealed, key); err != nil {
			return err
		}
		if w.Name, err = db.Keys.Open(w.Name); err != nil {
			return openErr("姓名", err)
		}
		if amount.Valid {
			n := json.Number(amount.String)
			w.Amount = &n
		}
		if err := fn(w); err != nil {
			return err
		}
	}
	return rows.Err()
}
