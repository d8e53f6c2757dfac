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
type storedPersons map[storedPerson]bool

type storedPerson struct {
	hi, lo  uint64
	problem string
}

func (s storedPersons) Has(hi, lo uint64, problem string) bool {
	return s[storedPerson{hi, lo, problem}]
}

// RefileBatch files an undispatched push under another period (期间, docs/intake.md): the
// period is checked as a push's is (cases.ParsePushPeriod); dept, if not empty, must be the
// push's department. The rows the push had replaced in its old period come back, its own rows
// are no longer replaced by its old period's later pushes, and in the new period it counts as
// the latest push: its rows replace the other undispatched pushes' rows of the same people.
func (db *DB) RefileBatch(ctx context.Context, id, dept, period string) (cases.Refiled, error) {
	var out cases.Refiled
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		var b cases.Batch
		var cat string
		var undispatched bool
		var received time.Time
		err := tx.QueryRowxContext(ctx, `
			SELECT b.id, d.name, b.category, b.period, b.sha256, b.undispatched, b.received_at, b.late
			FROM batches b JOIN departments d ON d.id = b.department_id WHERE b.id = $1 FOR UPDATE OF b`, id).
			Scan(&b.ID, &b.Department, &cat, &b.Period, &b.SHA256, &undispatched, &received, &b.Late)
		if errors.Is(err, sql.ErrNoRows) {
			return cases.Errorf(cases.ENotFound, "没有找到批次“%s”，请核对批次号（推送后的回复里有）", id)
		}
		if err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		b.Category = cases.Category(cat)
		if dept != "" && dept != b.Department {
			return cases.Errorf(cases.EForbidden, "批次 %s 是%s的推送，您只能调整本部门（%s）的推送。", b.ID, b.Department, dept)
		}
		newPeriod, err := cases.ParsePushPeriod(b.Category, period, db.Today())
		if err != nil {
			return err
		}
		out.From = b.Period
		if newPeriod == b.Period {
			return cases.Errorf(cases.EInvalid, "批次 %s 已经是 %s 期的推送，无需调整。", b.ID, cases.PeriodLabel(b.Category, newPeriod))
		}
		var dispatched bool
		if err := tx.GetContext(ctx, &dispatched, `SELECT EXISTS (SELECT 1 FROM warnings w WHERE `+inBatch("w.batch_id", "$1")+` AND w.case_id IS NOT NULL)`, b.ID); err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		if dispatched || !undispatched {
			return cases.Errorf(cases.EConflict, "批次 %s 已经集中交办，不能再改期次；如需补充，请按正确期次重新推送，预警进入下一轮交办。", b.ID)
		}
		var same string
		err = tx.GetContext(ctx, &same, `SELECT id FROM batches WHERE department_id = (SELECT department_id FROM batches WHERE id = $1)
			AND category = $2 AND period = $3 AND sha256 = $4`, b.ID, cat, newPeriod, b.SHA256)
		if err == nil {
			return cases.Errorf(cases.EConflict, "%s 期已有同一个文件的推送（批次 %s），无需再改。", cases.PeriodLabel(b.Category, newPeriod), same)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		// Its old period: the rows it replaced come back, unless a push of that period received
		// after theirs names the same person, whose row then replaces them as if this push had
		// never been there.
		if _, err := tx.ExecContext(ctx, `
			WITH restored AS (DELETE FROM warnings_superseded WHERE batch_id = $1 RETURNING warning_id)
			INSERT INTO warnings_superseded (warning_id, batch_id)
			SELECT DISTINCT ON (r.id) r.id, b2.id
			FROM restored x JOIN warnings r ON r.id = x.warning_id
				JOIN batches rb ON rb.id = r.batch_id
				JOIN batches b2 ON b2.department_id = rb.department_id AND b2.category = rb.category AND b2.period = rb.period
					AND b2.received_at > rb.received_at AND b2.id <> $1
				JOIN warnings w ON `+inBatch("w.batch_id", "b2.id")+`
			WHERE w.id_number = r.id_number AND w.case_id IS NULL AND w.rule <> '' AND `+notSuperseded+`
				AND `+problemOf+` = r.problem
			ORDER BY r.id, b2.received_at DESC`, b.ID); err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM warnings_superseded s USING warnings w
			WHERE s.warning_id = w.id AND `+inBatch("w.batch_id", "$1"), b.ID); err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE warnings w SET period = $2 WHERE `+inBatch("w.batch_id", "$1"), b.ID, newPeriod); err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		if b.Category != cases.CatEpidemic { // an epidemic push is late by its events, not its period
			b.Late = cases.PushLate(db.Cal, b.Category, newPeriod, cases.DateOf(received))
		}
		b.Period = newPeriod
		persons := storedPersons{}
		rows, err := tx.QueryContext(ctx, `SELECT w.id_number, `+problemOf+`
			FROM warnings w WHERE `+inBatch("w.batch_id", "$1")+` AND w.id_number <> '' AND w.rule <> ''`, b.ID)
		if err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		for rows.Next() {
			var hash, problem string
			if err := rows.Scan(&hash, &problem); err != nil {
				rows.Close()
				return fmt.Errorf("refile batch %s: %w", id, err)
			}
			if hi, lo, ok := cases.IDHashHalves(hash); ok {
				persons[storedPerson{hi, lo, problem}] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
		}
		b.Persons = persons
		if out.Replaced, err = supersede(ctx, tx, &b); err != nil {
			return err
		}
		b.Persons = nil
		if _, err := tx.ExecContext(ctx, `UPDATE batches SET period = $2, late = $3, replaced = $4 WHERE id = $1`,
			b.ID, newPeriod, b.Late, out.Replaced); err != nil {
			return fmt.Errorf("refile batch %s: %w", id, err)
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
