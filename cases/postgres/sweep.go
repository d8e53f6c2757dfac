package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// recordSweep keeps a 区域排查 task's event and villages (docs/registry.md). A later round's rows of
// the same township and event join the open task and add their villages.
func recordSweep(ctx context.Context, tx *sqlx.Tx, caseID int64, h cases.Household) error {
	first := h.Warnings[0]
	villages := cases.SweepVillages(h.Warnings)
	if villages == nil {
		villages = []string{}
	}
	var all pq.StringArray
	err := tx.GetContext(ctx, &all, `
		INSERT INTO area_sweeps (case_id, category, event, villages) VALUES ($1, $2, $3, $4)
		ON CONFLICT (case_id) DO UPDATE SET villages = area_sweeps.villages ||
			ARRAY(SELECT v FROM unnest(EXCLUDED.villages) v WHERE NOT v = ANY(area_sweeps.villages))
		RETURNING villages`,
		caseID, string(first.Category), cases.AreaEvent(first), pq.Array(villages))
	if err != nil {
		return fmt.Errorf("area sweep of case %d: %w", caseID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET village = $2 WHERE id = $1`, caseID, strings.Join(all, "、")); err != nil {
		return fmt.Errorf("villages of case %d: %w", caseID, err)
	}
	return nil
}

// CompleteSweep records 排查 <编号> 完成 <发现户数> <说明>: the task closes (never as a
// 纳入), with its audit event and the hooks (reminders cancelled) in one transaction.
func (db *DB) CompleteSweep(ctx context.Context, no string, actor cases.Actor, d cases.SweepDone, src cases.Source) (cases.Sweep, error) {
	if d.Now.IsZero() {
		d.Now = db.Now()
	}
	var out cases.Sweep
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		before, err := caseByNo(ctx, tx, db.Keys, cases.NormalizeCaseNo(no), true)
		if err != nil {
			return err
		}
		after, err := cases.CompleteSweep(before, actor, d)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET status = $2, reason = $3, closed_at = $4, version = version + 1 WHERE id = $1`,
			after.ID, string(after.Status), sealText(db.Keys, after.Reason), after.ClosedAt); err != nil {
			return fmt.Errorf("close sweep %s: %w", after.No, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE area_sweeps SET found = $2, note = $3, done_by = $4, done_at = $5 WHERE case_id = $1`,
			after.ID, d.Found, sealText(db.Keys, after.Reason), actor.UserID, d.Now); err != nil {
			return fmt.Errorf("sweep %s: %w", after.No, err)
		}
		if err := InsertEvent(ctx, tx, db.Keys, after.ID, cases.ActSweepDone, before.Status, after.Status, actor, src, d.Now,
			map[string]any{"found": d.Found, "reason": after.Reason}); err != nil {
			return err
		}
		if err := db.RunCaseHooks(ctx, tx, before, after); err != nil {
			return fmt.Errorf("after sweep of %s: %w", after.No, err)
		}
		out, err = sweepOf(ctx, tx, db.Keys, after)
		return err
	})
	if err != nil {
		return cases.Sweep{}, err
	}
	return out, nil
}

// SweepOf loads a 区域排查 task with its villages and linked households.
func (db *DB) SweepOf(ctx context.Context, no string) (cases.Sweep, error) {
	c, err := caseByNo(ctx, db, db.Keys, cases.NormalizeCaseNo(no), false)
	if err != nil {
		return cases.Sweep{}, err
	}
	return sweepOf(ctx, db, db.Keys, c)
}

func sweepOf(ctx context.Context, q sqlx.QueryerContext, k *seal.Keyring, c cases.Case) (cases.Sweep, error) {
	var r struct {
		Category string         `db:"category"`
		Event    string         `db:"event"`
		Villages pq.StringArray `db:"villages"`
		Found    *int           `db:"found"`
		Note     string         `db:"note"`
		Linked   pq.StringArray `db:"linked"`
	}
	err := sqlx.GetContext(ctx, q, &r, `
		SELECT s.category, s.event, s.villages, s.found, s.note,
			COALESCE((SELECT array_agg(f.case_no ORDER BY f.case_no) FROM cases f WHERE f.sweep_case_id = s.case_id), '{}') AS linked
		FROM area_sweeps s WHERE s.case_id = $1`, c.ID)
	if err != nil {
		return cases.Sweep{}, fmt.Errorf("sweep %s: %w", c.No, err)
	}
	note, err := openText(k, r.Note, "排查说明")
	if err != nil {
		return cases.Sweep{}, err
	}
	return cases.Sweep{Case: c, Category: cases.Category(r.Category), Event: r.Event, Villages: r.Villages,
		Found: r.Found, Note: note, Linked: r.Linked}, nil
}

// sweepFacts reads the month's 区域排查 tasks, as of today.
func (db *DB) sweepFacts(ctx context.Context, month string, today cases.Date) ([]cases.SweepFact, []cases.SweepTownship, error) {
	var rows []struct {
		No           string         `db:"case_no"`
		Township     string         `db:"township"`
		Category     string         `db:"category"`
		Event        string         `db:"event"`
		Villages     pq.StringArray `db:"villages"`
		DispatchedAt time.Time      `db:"dispatched_at"`
		DueOn        cases.Date     `db:"due_on"`
		Status       string         `db:"status"`
		Found        *int           `db:"found"`
		Note         string         `db:"note"`
		DoneAt       *time.Time     `db:"closed_at"`
		Linked       int            `db:"linked"`
	}
	err := db.SelectContext(ctx, &rows, `
		SELECT c.case_no, t.name AS township, s.category, s.event, s.villages, c.dispatched_at, c.due_on,
			c.status, s.found, s.note, c.closed_at,
			(SELECT count(*) FROM cases f WHERE f.sweep_case_id = c.id) AS linked
		FROM cases c JOIN area_sweeps s ON s.case_id = c.id JOIN townships t ON t.id = c.township_id
		WHERE c.round = $1 AND c.kind = $2 ORDER BY c.case_no`, month, string(cases.KindSweep))
	if err != nil {
		return nil, nil, fmt.Errorf("area sweeps of %s: %w", month, err)
	}
	var facts []cases.SweepFact
	var towns []cases.SweepTownship
	idx := map[string]int{}
	for _, r := range rows {
		var err error
		if r.Note, err = openText(db.Keys, r.Note, "排查说明"); err != nil {
			return nil, nil, err
		}
		c := cases.Case{Status: cases.Status(r.Status), DueOn: r.DueOn, ClosedAt: r.DoneAt}
		f := cases.SweepFact{No: r.No, Township: r.Township, Category: cases.Category(r.Category), Event: r.Event,
			Villages: r.Villages, DispatchedAt: r.DispatchedAt, DueOn: r.DueOn, Status: c.Status, Found: r.Found,
			Note: r.Note, DoneAt: r.DoneAt, Linked: r.Linked}
		if ot := cases.OnTime(c); ot != nil {
			f.OnTime = *ot
		}
		f.Overdue = cases.Late(c, today)
		facts = append(facts, f)
		i, ok := idx[f.Township]
		if !ok {
			i = len(towns)
			idx[f.Township] = i
			towns = append(towns, cases.SweepTownship{Name: f.Township})
		}
		t := &towns[i]
		t.Tasks++
		t.Linked += f.Linked
		if f.Status == cases.StatusClosed {
			t.Done++
		}
		if f.Overdue {
			t.Overdue++
		}
		if f.Found != nil {
			t.Found += *f.Found
		}
	}
	return facts, towns, nil
}
