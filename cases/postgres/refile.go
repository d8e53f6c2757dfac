package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// storedPersons is a batch's stored rows' people, for re-filing: a re-filed push's quiet rows
// are not stored (data minimisation), so only the people it warned about replace anyone.
// People are known by their number's keyed hash (docs/encryption.md), its first 16 bytes.
type storedPersons map[storedPerson]bool

type storedPerson struct {
	hi, lo  uint64
	problem string
}

func (s storedPersons) Has(hi, lo uint64, problem string) bool {
	return s[storedPerson{hi, lo, problem}]
}

func (s storedPersons) Each(f func(hi, lo uint64, problem string)) {
	for p := range s {
		f(p.hi, p.lo, p.problem)
	}
}

// refiling is a push as RefileBatch finds it, locked.
type refiling struct {
	b            cases.Batch
	undispatched bool
	received     time.Time
	dispatched   bool   // a case holds one of its warnings
	sameFile     string // the batch of the same file already in the new period, if any
}

// RefileBatch files an undispatched push under another period (期间, docs/intake.md): the
// period is checked as a push's is (cases.ParsePushPeriod); dept, if not empty, must be the
// push's department. The rows the push had replaced in its old period come back, its own rows
// are no longer replaced by its old period's later pushes, and in the new period it counts as
// the latest push: its rows replace the other undispatched pushes' rows of the same people.
func (db *DB) RefileBatch(ctx context.Context, id, dept, period string) (cases.Refiled, error) {
	var out cases.Refiled
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := loadRefiling(ctx, tx, id)
		if err != nil {
			return err
		}
		if dept != "" && dept != r.b.Department {
			return cases.Errorf(cases.EForbidden, "批次 %s 是%s的推送，您只能调整本部门（%s）的推送。", r.b.ID, r.b.Department, dept)
		}
		newPeriod, err := cases.ParsePushPeriod(r.b.Category, period, db.Today())
		if err != nil {
			return err
		}
		if err := r.lookUp(ctx, tx, newPeriod); err != nil {
			return err
		}
		if err := r.refusal(newPeriod); err != nil {
			return err
		}
		out.From = r.b.Period
		if out.Replaced, err = db.refile(ctx, tx, &r, newPeriod); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return cases.Refiled{}, err
	}
	b, err := db.BatchByID(ctx, id)
	if err != nil {
		return cases.Refiled{}, err
	}
	out.Batch = *b
	return out, nil
}

// loadRefiling reads and locks the push id.
func loadRefiling(ctx context.Context, tx *sqlx.Tx, id string) (refiling, error) {
	var r refiling
	var cat string
	err := tx.QueryRowxContext(ctx, `
		SELECT b.id, d.name, b.category, b.period, b.sha256, b.undispatched, b.received_at, b.late
		FROM batches b JOIN departments d ON d.id = b.department_id WHERE b.id = $1 FOR UPDATE OF b`, id).
		Scan(&r.b.ID, &r.b.Department, &cat, &r.b.Period, &r.b.SHA256, &r.undispatched, &r.received, &r.b.Late)
	if errors.Is(err, sql.ErrNoRows) {
		return r, cases.Errorf(cases.ENotFound, "没有找到批次“%s”，请核对批次号（推送后的回复里有）", id)
	}
	if err != nil {
		return r, fmt.Errorf("refile batch %s: %w", id, err)
	}
	r.b.Category = cases.Category(cat)
	return r, nil
}

// lookUp finds whether a case holds one of the push's warnings and whether the new period
// already has a push of the same file.
func (r *refiling) lookUp(ctx context.Context, tx *sqlx.Tx, newPeriod string) error {
	if err := tx.GetContext(ctx, &r.dispatched, `SELECT EXISTS (SELECT 1 FROM warnings w WHERE `+inBatch("w", "$1")+` AND w.case_id IS NOT NULL)`, r.b.ID); err != nil {
		return fmt.Errorf("refile batch %s: %w", r.b.ID, err)
	}
	err := tx.GetContext(ctx, &r.sameFile, `SELECT id FROM batches WHERE department_id = (SELECT department_id FROM batches WHERE id = $1)
			AND category = $2 AND period = $3 AND sha256 = $4`, r.b.ID, string(r.b.Category), newPeriod, r.b.SHA256)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("refile batch %s: %w", r.b.ID, err)
	}
	return nil
}

// refusal is why the push cannot be filed under newPeriod, or nil.
func (r *refiling) refusal(newPeriod string) error {
	b := &r.b
	switch {
	case newPeriod == b.Period:
		return cases.Errorf(cases.EInvalid, "批次 %s 已经是 %s 期的推送，无需调整。", b.ID, cases.PeriodLabel(b.Category, newPeriod))
	case r.dispatched || !r.undispatched:
		return cases.Errorf(cases.EConflict, "批次 %s 已经集中交办，不能再改期次；如需补充，请按正确期次重新推送，预警进入下一轮交办。", b.ID)
	case r.sameFile != "":
		return cases.Errorf(cases.EConflict, "%s 期已有同一个文件的推送（批次 %s），无需再改。", cases.PeriodLabel(b.Category, newPeriod), r.sameFile)
	}
	return nil
}

// refile moves the push to newPeriod: out of its old period, then into the new one as its
// latest push. It returns how many of the push's people replaced an earlier row there.
func (db *DB) refile(ctx context.Context, tx *sqlx.Tx, r *refiling, newPeriod string) (int, error) {
	b := &r.b
	if err := leaveOldPeriod(ctx, tx, b.ID); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE warnings w SET period = $2 WHERE `+inBatch("w", "$1"), b.ID, newPeriod); err != nil {
		return 0, fmt.Errorf("refile batch %s: %w", b.ID, err)
	}
	if b.Category != cases.CatEpidemic { // an epidemic push is late by its events, not its period
		b.Late = cases.PushLate(db.Cal, b.Category, newPeriod, cases.DateOf(r.received))
	}
	b.Period = newPeriod
	persons, err := personsOf(ctx, tx, b.ID)
	if err != nil {
		return 0, err
	}
	b.Persons = persons
	replaced, err := supersede(ctx, tx, b)
	b.Persons = nil
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE batches SET period = $2, late = $3, replaced = $4 WHERE id = $1`,
		b.ID, newPeriod, b.Late, replaced); err != nil {
		return 0, fmt.Errorf("refile batch %s: %w", b.ID, err)
	}
	return replaced, nil
}

// leaveOldPeriod takes push id out of its period: the rows it replaced come back, unless a
// push of that period received after theirs names the same person, whose row then replaces
// them as if this push had never been there; and its own rows are no longer replaced.
func leaveOldPeriod(ctx context.Context, tx *sqlx.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `
		WITH restored AS (DELETE FROM warnings_superseded WHERE batch_id = $1 RETURNING warning_id)
		INSERT INTO warnings_superseded (warning_id, batch_id)
		SELECT DISTINCT ON (r.id) r.id, b2.id
		FROM restored x JOIN warnings r ON r.id = x.warning_id
			JOIN batches rb ON rb.id = r.batch_id
			JOIN batches b2 ON b2.department_id = rb.department_id AND b2.category = rb.category AND b2.period = rb.period
				AND b2.received_at > rb.received_at AND b2.id <> $1
			JOIN warnings w ON `+inBatch("w", "b2")+`
		WHERE w.id_number = r.id_number AND w.case_id IS NULL AND w.rule <> '' AND `+notSuperseded+`
			AND `+problemOf+` = r.problem
		ORDER BY r.id, b2.received_at DESC`, id); err != nil {
		return fmt.Errorf("refile batch %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM warnings_superseded s USING warnings w
		WHERE s.warning_id = w.id AND `+inBatch("w", "$1"), id); err != nil {
		return fmt.Errorf("refile batch %s: %w", id, err)
	}
	return nil
}

// personsOf is the people of push id's stored warned rows.
func personsOf(ctx context.Context, tx *sqlx.Tx, id string) (storedPersons, error) {
	persons := storedPersons{}
	rows, err := tx.QueryContext(ctx, `SELECT w.id_number, `+problemOf+`
		FROM warnings w WHERE `+inBatch("w", "$1")+` AND w.id_number <> '' AND w.rule <> ''`, id)
	if err != nil {
		return nil, fmt.Errorf("refile batch %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var hash, problem string
		if err := rows.Scan(&hash, &problem); err != nil {
			return nil, fmt.Errorf("refile batch %s: %w", id, err)
		}
		if hi, lo, ok := cases.IDHashHalves(hash); ok {
			persons[storedPerson{hi, lo, problem}] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("refile batch %s: %w", id, err)
	}
	return persons, nil
}
