package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// The store's half of a round (docs/dispatch.md): load the facts cases.PlanRound decides on,
// then carry its plan out inside the round's transaction. No decision is taken here.

// loadRoundFacts loads, for the round's households, the open case each joins (its own, else
// one of its people's) with what that case holds, and the latest case of the others that had
// one, for the hold rule. The caller sets the day, time and calendar.
func loadRoundFacts(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, hs []cases.Household) (cases.RoundFacts, error) {
	rf := cases.RoundFacts{Households: hs, Open: map[string]cases.OpenCase{}, Earlier: map[string]cases.EarlierResult{}}
	open, err := loadOpenCases(ctx, tx, hs)
	if err != nil {
		return rf, err
	}
	// Open cases follow people: a household with no open case of its own joins the open case
	// of one of its people, or of its registry household.
	follow, err := followOpenCases(ctx, tx, hs, open)
	if err != nil {
		return rf, err
	}
	loaded := map[string]cases.OpenCase{}
	for _, h := range hs {
		no, err := open.of(h.Key)
		if f, ok := follow[h.Key]; ok && err != nil {
			no, err = f, nil
		}
		if err == nil {
			o, ok := loaded[no]
			if !ok {
				if o, err = openCaseFacts(ctx, tx, k, no); err != nil {
					return rf, err
				}
				loaded[no] = o
			}
			rf.Open[h.Key] = o
			continue
		}
		if !h.Area && open.hadCase(h.Key) {
			if rf.Earlier[h.Key], err = earlierResult(ctx, tx, k, h.Key); err != nil {
				return rf, err
			}
		}
	}
	return rf, nil
}

// openCaseFacts loads an open case as the plan needs it: its problems and task departments.
func openCaseFacts(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, no string) (cases.OpenCase, error) {
	id, err := caseID(ctx, tx, no)
	if err != nil {
		return cases.OpenCase{}, err
	}
	problems, keys, taskDepts, err := caseProblems(ctx, tx, k, id)
	if err != nil {
		return cases.OpenCase{}, err
	}
	o := cases.OpenCase{ID: id, No: no, Problems: problems, Warnings: keys}
	for d := range taskDepts {
		o.TaskDepartments = append(o.TaskDepartments, d)
	}
	sort.Strings(o.TaskDepartments)
	return o, nil
}

// executePlan carries out a round's plan: merges and holds in household order, then the new
// cases together (createCases). It counts into res and returns what the townships are told of.
func (db *DB) executePlan(ctx context.Context, tx *sqlx.Tx, p cases.RoundPlan, opt cases.DispatchOptions, at time.Time, res *cases.DispatchResult) ([]cases.Outcome, error) {
	var outs []cases.Outcome
	merged := map[string]bool{} // merged counts cases: two households may join one
	for _, ph := range p.Households {
		switch ph.Action {
		case cases.PlanMerge:
			d, err := db.mergeInto(ctx, tx, ph, opt, at)
			if err != nil {
				return nil, err
			}
			if !merged[ph.Into.No] {
				merged[ph.Into.No] = true
				res.Merged++
			}
			res.DepartmentTasks += len(d.Tasks)
			outs = append(outs, cases.Outcome{Dispatched: d, OtherTownships: ph.Household.OtherTownships})
			res.Duplicates += len(ph.Duplicates)
		case cases.PlanRepeat:
			if err := LinkWarnings(ctx, tx, ph.Into.ID, warningIDs(ph.Duplicates)); err != nil {
				return nil, err
			}
			res.Duplicates += len(ph.Duplicates)
		case cases.PlanHold:
			if err := holdWarnings(ctx, tx, ph, opt, at); err != nil {
				return nil, err
			}
			res.Held += len(ph.Held)
			res.HeldList = append(res.HeldList, ph.Held...)
		}
	}
	fresh := p.Of(cases.PlanCreate)
	created, err := db.createCases(ctx, tx, fresh, opt, at)
	if err != nil {
		return nil, err
	}
	for i, c := range created {
		ph := fresh[i]
		d := cases.Dispatched{Case: c, Area: ph.Household.Area, Warnings: ph.Household.Warnings}
		if d.Tasks, err = db.addTasks(ctx, tx, c.ID, ph.Departments, opt, at); err != nil {
			return nil, err
		}
		if ph.Household.Area {
			if err := recordSweep(ctx, tx, c.ID, ph.Household); err != nil {
				return nil, err
			}
		}
		for _, t := range d.Tasks {
			d.Case.TaskDepartments = append(d.Case.TaskDepartments, t.Department)
		}
		sort.Strings(d.Case.TaskDepartments)
		if err := db.runCreated(ctx, tx, d.Case); err != nil {
			return nil, err
		}
		res.CasesCreated++
		res.ByTownship[c.Township]++
		res.DepartmentTasks += len(d.Tasks)
		outs = append(outs, cases.Outcome{Dispatched: d, OtherTownships: ph.Household.OtherTownships})
	}
	return outs, nil
}

// mergeInto is 补充预警 as planned: the open case takes the warnings through the lifecycle
// (refused for a closed case, audited like every change), and the planned departments' tasks.
func (db *DB) mergeInto(ctx context.Context, tx *sqlx.Tx, ph cases.PlannedHousehold, opt cases.DispatchOptions, at time.Time) (cases.Dispatched, error) {
	h := ph.Household
	d := cases.Dispatched{Merged: true, Area: h.Area, Warnings: h.Warnings}
	if _, err := db.TransitionTx(ctx, tx, ph.Into.No, opt.Actor, ph.Command, opt.Source); err != nil {
		return d, err
	}
	if err := LinkWarnings(ctx, tx, ph.Into.ID, append(h.WarningIDs(), warningIDs(ph.Duplicates)...)); err != nil {
		return d, err
	}
	if h.Area {
		if err := recordSweep(ctx, tx, ph.Into.ID, h); err != nil {
			return d, err
		}
	}
	var err error
	if d.Tasks, err = db.addTasks(ctx, tx, ph.Into.ID, ph.Departments, opt, at); err != nil {
		return d, err
	}
	d.Case, err = caseByNo(ctx, tx, db.Keys, ph.Into.No, false)
	return d, err
}

func warningIDs(ws []cases.WarningFact) []int64 {
	ids := make([]int64, len(ws))
	for i, w := range ws {
		ids[i] = w.ID
	}
	return ids
}

// holdWarnings links a household's warnings to the case that verified them (比对已核) and
// records it in that case's history.
func holdWarnings(ctx context.Context, tx *sqlx.Tx, ph cases.PlannedHousehold, opt cases.DispatchOptions, at time.Time) error {
	e, h := ph.Earlier, ph.Household
	_, err := tx.ExecContext(ctx, `UPDATE warnings SET case_id = $1, held_round = $3 WHERE id = ANY($2) AND case_id IS NULL`,
		e.CaseID, pq.Array(h.WarningIDs()), opt.Month)
	if err != nil {
		return fmt.Errorf("hold warnings against %s: %w", e.CaseNo, err)
	}
	return InsertEvent(ctx, tx, nil, e.CaseID, cases.ActHeld, cases.StatusClosed, cases.StatusClosed, opt.Actor, opt.Source, at,
		map[string]any{"round": opt.Month, "warnings": len(h.Warnings), "categories": cases.CategoryLabels(h.Categories())})
}
