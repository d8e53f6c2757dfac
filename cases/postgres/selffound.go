package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

type SelfFound = cases.SelfFound

type SelfFoundResult = cases.SelfFoundResult

// ReportSelfFound turns a cadre's 申报/走访 into a case of the cadre's township at once (no
// 交办 step), of kind 更新 for a monitored household and 新增 otherwise, due 20 working days
// later; an open case of the same household takes it as 补充预警 instead. Everything —
// the warning, the case, its tasks, reminders and messages — is one transaction.
func (db *DB) ReportSelfFound(ctx context.Context, r SelfFound) (SelfFoundResult, error) {
	var out SelfFoundResult
	if r.Actor.Role != cases.RoleCadre || r.Actor.Township == "" {
		return out, cases.Errorf(cases.EForbidden, "申报和走访由乡镇干部登记。")
	}
	if r.Source != cases.SourceApplied && r.Source != cases.SourceVisit {
		return out, fmt.Errorf("self-found case of source %q", r.Source)
	}
	now := db.Now()
	today := cases.DateOf(now)
	month := today.MonthKey()
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		// The round's lock: a round running now neither misses nor doubles this household.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(dispatchLockKey)); err != nil {
			return fmt.Errorf("dispatch lock: %w", err)
		}
		reg, err := registryHouseholds(ctx, tx, []string{r.IDNumber})
		if err != nil {
			return err
		}
		detail := map[string]string{"情况": r.Situation}
		if r.Problem != "" {
			detail["问题类型"] = r.Problem
		}
		f := cases.WarningFact{Category: r.Category, Rule: "self_found", IDNumber: r.IDNumber, Name: r.Name,
			Township: r.Actor.Township, Detail: detail, Reg: reg[r.IDNumber]}
		if f.Reg != nil {
			if f.Reg.Township != r.Actor.Township {
				return cases.Errorf(cases.EForbidden, "该户在监测台账中属于%s，请由%s的干部登记。", f.Reg.Township, f.Reg.Township)
			}
			f.Village = f.Reg.Village
		} else {
			f.Village = strings.TrimSpace(r.Village)
			if f.Village == "" && r.AskVillage {
				return cases.ErrVillageNeeded
			}
		}
		hs := cases.GroupWarnings([]cases.WarningFact{f})
		h := hs[0]
		f.ID, err = insertSelfFound(ctx, tx, f, month, r)
		if err != nil {
			return err
		}
		h.Warnings[0].ID = f.ID
		d := cases.Dispatched{Warnings: h.Warnings}
		// The household's open case, else one of the person's (open cases follow people, §4a).
		openNo, err := openCaseOf(ctx, tx, h)
		switch {
		case err == nil:
			id, err := caseID(ctx, tx, openNo)
			if err != nil {
				return err
			}
			known, taskDepts, err := caseProblems(ctx, tx, id)
			if err != nil {
				return err
			}
			cmd := cases.Command{Action: cases.ActAddWarnings, Now: now, Reason: fmt.Sprintf("补充预警（%s）", r.Source)}
			fresh := cases.NewProblems(known, h.Warnings)
			if len(fresh) > 0 {
				cmd.Date = db.Cal.AddWorkingDays(today, 20)
			}
			if _, err := db.TransitionTx(ctx, tx, openNo, r.Actor, cmd, r.Src); err != nil {
				return err
			}
			if err := LinkWarnings(ctx, tx, id, []int64{f.ID}); err != nil {
				return err
			}
			var depts []string
			if dept := cases.TaskDepartment(f); dept != "" && (!taskDepts[dept] || len(fresh) > 0) {
				depts = append(depts, dept)
			}
			opt := DispatchOptions{Date: today, Actor: r.Actor, Source: r.Src}
			if d.Tasks, err = db.addTasks(ctx, tx, id, depts, opt, now); err != nil {
				return err
			}
			d.Merged = true
			if d.Case, err = caseByNo(ctx, tx, openNo, false); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			if err := EnsureNumbering(ctx, tx, month, today); err != nil {
				return err
			}
			known, err := knownDepartments(ctx, tx)
			if err != nil {
				return err
			}
			if h.Department, err = caseDepartment(h, known); err != nil {
				return err
			}
			id, no, err := InsertCase(ctx, tx, NewCase{
				Round: month, Kind: h.Kind(), HouseholdKey: h.Key, HouseholdNo: h.HouseholdNo,
				HeadName: h.HeadName, HeadIDNumber: h.HeadIDNumber, Village: h.Village, Township: r.Actor.Township,
				Department: h.Department, DispatchedAt: now, DueOn: db.Cal.AddWorkingDays(today, 20),
				WarningIDs: []int64{f.ID}, Source: r.Source,
			}, r.Actor, r.Src)
			if err != nil {
				return err
			}
			if err := setResponsible(ctx, tx, id, r.Actor.UserID); err != nil { // who found it handles it
				return err
			}
			opt := DispatchOptions{Date: today, Actor: r.Actor, Source: r.Src}
			if d.Tasks, err = db.addTasks(ctx, tx, id, cases.TaskDepartments(h.Warnings), opt, now); err != nil {
				return err
			}
			if d.Case, err = caseByNo(ctx, tx, no, false); err != nil {
				return err
			}
			if err := db.RunCaseHooks(ctx, tx, cases.Case{}, d.Case); err != nil {
				return fmt.Errorf("after report of %s: %w", no, err)
			}
		default:
			return fmt.Errorf("open case of %s: %w", h.Key, err)
		}
		out = SelfFoundResult{Case: d.Case, Merged: d.Merged, Tasks: d.Tasks}
		if r.Announce == nil {
			return nil
		}
		n := cases.TownshipNotice{Round: d.Case.Round, Township: d.Case.Township, Liaisons: map[string][]string{}, Cases: []cases.Dispatched{d}}
		if err := fillNotice(ctx, tx, &n); err != nil {
			return err
		}
		if err := r.Announce(ctx, unit{tx}, []cases.TownshipNotice{n}); err != nil {
			return fmt.Errorf("queue messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return SelfFoundResult{}, err
	}
	return out, nil
}

// insertSelfFound stores the typed report as a warning without a department batch.
func insertSelfFound(ctx context.Context, tx *sqlx.Tx, f cases.WarningFact, period string, r SelfFound) (int64, error) {
	detail, err := json.Marshal(f.Detail)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowxContext(ctx, `
		INSERT INTO warnings (batch_id, row_no, category, period, rule, id_number, name, township_id, village, detail, reported_by)
		VALUES (NULL, 0, $1, $2, $3, $4, $5, (SELECT id FROM townships WHERE name = $6), $7, $8, $9)
		RETURNING id`,
		string(f.Category), period, f.Rule, f.IDNumber, f.Name, f.Township, f.Village, detail, r.Actor.UserID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", r.Source, err)
	}
	return id, nil
}
