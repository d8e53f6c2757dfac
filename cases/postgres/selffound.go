package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// ReportSelfFound turns a cadre's 申报/走访 into a case of the cadre's township at once (no
// 交办 step), of kind 更新 for a monitored household and 新增 otherwise, due
// cases.CaseWorkingDays working days later; an open case of the same household takes it as
// 补充预警 instead. The round's plan decides (cases.PlanRound on its 申报/走访 path).
// Everything — the warning, the case, its tasks, reminders and messages — is one transaction.
func (db *DB) ReportSelfFound(ctx context.Context, r cases.SelfFound) (cases.SelfFoundResult, error) {
	var out cases.SelfFoundResult
	if r.Actor.Role != cases.RoleCadre || r.Actor.Township == "" {
		return out, cases.Errorf(cases.EForbidden, "申报和走访由乡镇干部登记。")
	}
	if r.Source != cases.SourceApplied && r.Source != cases.SourceVisit {
		return out, fmt.Errorf("self-found case of source %q", r.Source)
	}
	now := db.Now()
	today := cases.DateOf(now)
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		// The round's lock: a round running now neither misses nor doubles this household.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(dispatchLockKey)); err != nil {
			return fmt.Errorf("dispatch lock: %w", err)
		}
		f, err := selfFoundWarning(ctx, tx, db.Keys, r)
		if err != nil {
			return err
		}
		h := cases.GroupWarnings([]cases.WarningFact{f})[0]
		if h.Warnings[0].ID, err = insertSelfFound(ctx, tx, db.Keys, f, today.MonthKey(), r); err != nil {
			return err
		}
		rf := cases.RoundFacts{Date: today, At: now, Cal: db.Cal, Households: []cases.Household{h},
			Open:      map[string]cases.OpenCase{},
			SelfFound: &cases.SelfFoundPath{Source: r.Source, Reporter: r.Actor.UserID}}
		// The household's open case, else one of the person's (open cases follow people).
		no, err := openCaseOf(ctx, tx, h)
		switch {
		case err == nil:
			if rf.Open[h.Key], err = openCaseFacts(ctx, tx, db.Keys, no); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("open case of %s: %w", h.Key, err)
		}
		d, err := db.executeSelfFound(ctx, tx, cases.PlanRound(rf).Households[0], r, today, now)
		if err != nil {
			return err
		}
		out = cases.SelfFoundResult{Case: d.Case, Merged: d.Merged, Tasks: d.Tasks}
		if r.Announce == nil {
			return nil
		}
		n := cases.GroupNotices(d.Case.Round, []cases.Outcome{{Dispatched: d}})
		if err := fillNotice(ctx, tx, &n[0]); err != nil {
			return err
		}
		if err := r.Announce(ctx, unit{tx, db.Keys}, n); err != nil {
			return fmt.Errorf("queue messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return cases.SelfFoundResult{}, err
	}
	return out, nil
}

// selfFoundWarning is the report as a warning of the cadre's township, with the registry
// household of the person: the registry's township must be the cadre's, its village wins.
func selfFoundWarning(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, r cases.SelfFound) (cases.WarningFact, error) {
	hash := k.IDHash(r.IDNumber)
	reg, err := registryHouseholds(ctx, tx, k, []string{hash})
	if err != nil {
		return cases.WarningFact{}, err
	}
	detail := map[string]string{"情况": r.Situation}
	if r.Problem != "" {
		detail["问题类型"] = r.Problem
	}
	f := cases.WarningFact{Category: r.Category, Rule: "self_found", IDNumber: r.IDNumber, Name: r.Name,
		Township: r.Actor.Township, Detail: detail, Reg: reg[hash], IDHash: hash}
	if f.Reg != nil {
		if f.Reg.Township != r.Actor.Township {
			return f, cases.Errorf(cases.EForbidden, "该户在监测台账中属于%s，请由%s的干部登记。", f.Reg.Township, f.Reg.Township)
		}
		f.Village = f.Reg.Village
		return f, nil
	}
	f.Village = strings.TrimSpace(r.Village)
	if f.Village == "" && r.AskVillage {
		return f, cases.ErrVillageNeeded
	}
	return f, nil
}

// executeSelfFound carries out the plan of one 申报/走访: a merge as in a round, or a case of
// the cadre's township handled by the cadre who found it.
func (db *DB) executeSelfFound(ctx context.Context, tx *sqlx.Tx, ph cases.PlannedHousehold, r cases.SelfFound, today cases.Date, now time.Time) (cases.Dispatched, error) {
	opt := cases.DispatchOptions{Date: today, Actor: r.Actor, Source: r.Src}
	if ph.Action == cases.PlanMerge {
		return db.mergeInto(ctx, tx, ph, opt, now)
	}
	h := ph.Household
	d := cases.Dispatched{Warnings: h.Warnings}
	month := today.MonthKey()
	if err := EnsureNumbering(ctx, tx, month, today); err != nil {
		return d, err
	}
	known, err := knownDepartments(ctx, tx)
	if err != nil {
		return d, err
	}
	if h.Department, err = cases.CaseDepartment(h, known); err != nil {
		return d, err
	}
	id, no, err := InsertCase(ctx, tx, db.Keys, NewCase{
		Round: month, Kind: ph.Kind, HouseholdKey: h.Key, HouseholdNo: h.HouseholdNo,
		HeadName: h.HeadName, HeadIDNumber: h.HeadIDNumber, Village: h.Village, Township: r.Actor.Township,
		Department: h.Department, DispatchedAt: now, DueOn: ph.DueOn,
		WarningIDs: h.WarningIDs(), Source: ph.Source,
	}, r.Actor, r.Src)
	if err != nil {
		return d, err
	}
	if ph.Responsible != "" {
		if err := setResponsible(ctx, tx, id, ph.Responsible); err != nil {
			return d, err
		}
	}
	if d.Tasks, err = db.addTasks(ctx, tx, id, ph.Departments, opt, now); err != nil {
		return d, err
	}
	if d.Case, err = caseByNo(ctx, tx, db.Keys, no, false); err != nil {
		return d, err
	}
	return d, db.runCreated(ctx, tx, d.Case)
}

// insertSelfFound stores the typed report as a warning without a department batch.
func insertSelfFound(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, f cases.WarningFact, period string, r cases.SelfFound) (int64, error) {
	detail, err := json.Marshal(f.Detail)
	if err != nil {
		return 0, err
	}
	sw := SealWarning(k, f.Category, f.IDNumber, f.Name, "", detail)
	var id int64
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, id_sealed, name, township_id, village, detail, problem, reported_by)
		VALUES (NULL, 0, $1, $2, $3, $4, $5, $6, (SELECT id FROM townships WHERE name = $7), $8, $9, $10, $11)
		RETURNING id`,
		string(f.Category), period, f.Rule, sw.IDHash, sw.IDSealed, sw.Name, f.Township, f.Village, sw.Detail, sw.Problem, r.Actor.UserID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", r.Source, err)
	}
	return id, nil
}
