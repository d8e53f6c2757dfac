package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// DrawSpotChecks draws the month's spot-check sample (cases.SampleSpotChecks) among every
// case of the month, open or closed (docs/chat.md: an open case is checked for progress), and
// records a spot_checks row for each pick; a case already picked for the month keeps its
// row, so running the draw twice changes nothing. then, if not nil, runs in the same
// transaction (the caller queues the supervisors' messages there).
func (db *DB) DrawSpotChecks(ctx context.Context, month string, rate float64, seed int64,
	then cases.SpotDrawHook) ([]cases.SpotPick, error) {
	if rate <= 0 || rate > 1 {
		return nil, cases.Errorf(cases.EInvalid, "抽查比例应在 0 到 1 之间（例如 0.1 表示 10%%），这里是 %g。", rate)
	}
	a, err := db.Assess(ctx, month)
	if err != nil {
		return nil, err
	}
	var cands []cases.SpotCandidate
	for _, f := range a.Cases {
		cands = append(cands, cases.SpotCandidate{No: f.No, Township: f.Township, Categories: f.Categories})
	}
	drawn := cases.SampleSpotChecks(cands, a.Month, rate, seed)
	picks := make([]cases.SpotPick, len(drawn))
	for i, c := range drawn {
		picks[i] = cases.SpotPick{CaseNo: c.No, Township: c.Township, Category: cases.PrimaryCategory(c.Categories)}
	}
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, p := range picks {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO spot_checks (case_id, month, seed, sampled, picked_at)
				SELECT id, $2, $3, true, $4 FROM cases WHERE case_no = $1
				ON CONFLICT (case_id, month) DO NOTHING`, p.CaseNo, a.Month, seed, db.Now())
			if err != nil {
				return fmt.Errorf("record spot check of %s: %w", p.CaseNo, err)
			}
		}
		if then != nil {
			return then(ctx, unit{tx, db.Keys}, picks)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spot check draw %s: %w", a.Month, err)
	}
	return picks, nil
}

// SpotCheck records a supervisor's finding on any case of the month: 合格 leaves it as it
// is; 不合格 returns a closed case (cases.ActSpotFail: status returned, due 10 working days
// later) and leaves an open case as it is, due date and all (the caller's hook tells the
// township: 督办). The transition
// goes through Transition, so every CaseHook (reminder renewal among them) runs; the
// spot_checks row for the case's round and then, if not nil, the caller's hook (its messages)
// are written in the same transaction.
func (db *DB) SpotCheck(ctx context.Context, no string, actor cases.Actor, pass bool, note string, src cases.Source, then cases.CaseHook) (cases.Case, error) {
	act, result := cases.ActSpotFail, cases.SpotFail
	if pass {
		act, result = cases.ActSpotPass, cases.SpotPass
	}
	note = strings.TrimSpace(note)
	record := func(ctx context.Context, u cases.Tx, before, after cases.Case) error {
		tx := sqlTx(u)
		failures := 0
		if !pass {
			failures = 1
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO spot_checks (case_id, month, seed, supervisor, result, note, decided_at, failures)
			VALUES ($1, $2, 0, $3, $4, $5, $6, $7)
			ON CONFLICT (case_id, month) DO UPDATE SET supervisor = EXCLUDED.supervisor, result = EXCLUDED.result,
				note = EXCLUDED.note, decided_at = EXCLUDED.decided_at, failures = spot_checks.failures + EXCLUDED.failures`,
			after.ID, before.Round, actor.UserID, result, sealText(db.Keys, note), db.Now(), failures)
		if err != nil {
			return fmt.Errorf("record spot check of %s: %w", after.No, err)
		}
		if then != nil {
			return then(ctx, u, before, after)
		}
		return nil
	}
	return db.transition(ctx, no, actor, cases.Command{Action: act, Reason: note}, src, record)
}

// TownshipContacts returns a township's chat and its cadres' userids, on q (a transaction
// inside a hook, or the pool).
func TownshipContacts(ctx context.Context, q sqlx.QueryerContext, name string) (cases.Township, []string, error) {
	var r townshipRow
	if err := sqlx.GetContext(ctx, q, &r, `SELECT id, name, aliases, appchat_id, webhook_key FROM townships WHERE name = $1`, name); err != nil {
		return cases.Township{}, nil, fmt.Errorf("township %s: %w", name, err)
	}
	t := r.township()
	cs, err := townshipCadres(ctx, q, t.Name)
	if err != nil {
		return t, nil, err
	}
	cadres := make([]string, len(cs))
	for i, c := range cs {
		cadres[i] = c.UserID
	}
	return t, cadres, nil
}
