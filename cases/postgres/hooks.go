package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// Hooks are the side effects every change of their kind carries in its own transaction:
// reminders planned or cancelled, cards brought up to date, messages queued. They are fixed
// when the store opens (WithHooks); RunCaseHooks and runTaskHooks are the only places that
// run them.
type Hooks struct {
	// Case runs after every case change — created, transitioned, merged, closed — once the
	// case row and its audit event are written.
	Case []cases.CaseHook
	// Task runs after a department task is added or completed.
	Task []cases.TaskHook
}

// Option configures the store at Open.
type Option func(*DB)

// WithKeys makes the store seal and open personal data with keys (FANGPIN_DATA_KEYS and
// FANGPIN_HASH_KEY); without it, the published demo keys are used.
func WithKeys(keys *seal.Keyring) Option {
	return func(db *DB) {
		if keys != nil {
			db.Keys = keys
		}
	}
}

// WithHooks fixes the store's hooks. build is given the store itself, whose clock and
// calendar the reminder hooks read when they run (so a test's clock applies).
func WithHooks(build func(db *DB) Hooks) Option {
	return func(db *DB) { db.hooks = build(db) }
}

// AddHooks adds hooks to a store opened without them. Tests use it, whose stores the test
// helpers open (pgtest, dispatchtest); a served store takes its hooks at Open.
func (db *DB) AddHooks(h Hooks) {
	db.hooks.Case = append(db.hooks.Case, h.Case...)
	db.hooks.Task = append(db.hooks.Task, h.Task...)
}

// RunCaseHooks runs, on tx, what every case change carries: first the store's own
// invariants (a 走访 household joins its 区域排查), then the store's case hooks, then the
// caller's own hooks for this change only (extra). InsertCase leaves it to its caller,
// which may write more of the case first.
func (db *DB) RunCaseHooks(ctx context.Context, tx *sqlx.Tx, before, after cases.Case, extra ...cases.CaseHook) error {
	if err := linkSweep(ctx, tx, before, after); err != nil {
		return err
	}
	for _, h := range db.hooks.Case {
		if err := h(ctx, unit{tx, db.Keys}, before, after); err != nil {
			return err
		}
	}
	for _, h := range extra {
		if err := h(ctx, unit{tx, db.Keys}, before, after); err != nil {
			return err
		}
	}
	return nil
}

// runTaskHooks runs the store's task hooks on a department task just added or completed
// on tx (notify plans or cancels its reminders there).
func (db *DB) runTaskHooks(ctx context.Context, tx *sqlx.Tx, t cases.Task) error {
	for _, h := range db.hooks.Task {
		if err := h(ctx, unit{tx, db.Keys}, t); err != nil {
			return fmt.Errorf("after task %d: %w", t.ID, err)
		}
	}
	return nil
}

// linkSweep links a household a cadre reports with 走访 (干部走访, 因灾 or 因疫) after a
// 区域排查 of the same township to that task: the latest task of the township and category
// that is open, or was done at most 30 days before the household case was opened. It acts
// on creations only.
func linkSweep(ctx context.Context, tx *sqlx.Tx, before, after cases.Case) error {
	if before.ID != 0 || after.Kind == cases.KindSweep || after.Source != cases.SourceVisit {
		return nil
	}
	var cats []string
	for _, c := range after.Categories {
		if c == cases.CatDisaster || c == cases.CatEpidemic {
			cats = append(cats, string(c))
		}
	}
	if len(cats) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE cases SET sweep_case_id = (
			SELECT s.case_id FROM area_sweeps s JOIN cases sc ON sc.id = s.case_id
			WHERE sc.township_id = (SELECT township_id FROM cases WHERE id = $1) AND s.category = ANY($2)
				AND sc.dispatched_at <= $3
				AND (sc.status <> 'closed' OR sc.closed_at >= $3 - interval '30 days')
			ORDER BY sc.dispatched_at DESC, sc.id DESC LIMIT 1)
		WHERE id = $1 AND sweep_case_id IS NULL`, after.ID, pq.Array(cats), after.DispatchedAt)
	if err != nil {
		return fmt.Errorf("link case %s to its 区域排查: %w", after.No, err)
	}
	return nil
}
