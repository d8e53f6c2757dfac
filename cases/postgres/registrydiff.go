package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// MoveAnnouncer queues what the townships are told when open cases move with their
// households, on the re-import's own transaction (handlers.Announcer.AnnounceMoves).
type MoveAnnouncer func(ctx context.Context, tx *sqlx.Tx, moves []cases.CaseMove) error

// RegistryOptions configures a registry re-import.
type RegistryOptions struct {
	AllowRemovals bool   // take a file that removes more than 20 % of households
	Filename      string // for the import record
	Announce      MoveAnnouncer
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

// ApplyRegistry applies a whole exported registry as a diff (spec §4a), in one transaction:
// households and members added, changed and moved; households absent from the file marked
// removed (退出, kept, never monitored again) and members absent from their household
// likewise; every change in registry_history under the import's batch id; open cases moved
// with their households to a new township, the townships told through opt.Announce. A file
// that removes more than 20 % of households is refused unless opt.AllowRemovals; an
// identical file changes nothing.
func (db *DB) ApplyRegistry(ctx context.Context, ms []cases.RegistryMember, opt RegistryOptions) (RegistryApplied, error) {
	var out RegistryApplied
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		// Dispatch rounds must not see half a re-import, nor move cases under it.
		for _, k := range []int64{registryLockKey, dispatchLockKey} {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, k); err != nil {
				return fmt.Errorf("registry lock: %w", err)
			}
		}
		snap, err := registrySnapshot(ctx, tx)
		if err != nil {
			return err
		}
		// A file may still name a township by an alias or its former name.
		names, err := db.TownshipNames(ctx)
		if err != nil {
			return err
		}
		ms = append([]cases.RegistryMember(nil), ms...)
		for i := range ms {
			if n, ok := names[ms[i].Township]; ok {
				ms[i].Township = n
			}
		}
		out.Diff = cases.DiffRegistry(snap, ms)
		if out.Diff.TooManyRemovals() && !opt.AllowRemovals {
			return cases.Errorf(cases.EConflict, "名册没有导入：这份文件会让 %d 户退出名册（现有 %d 户的 %.0f%%），超过 %.0f%%，可能是只导出了部分乡镇或部分户。"+
				"请确认导出的是全县完整名册；如确需让这些户退出，请加 --allow-removals 重新导入。",
				out.Diff.RemovedHouseholds, out.Diff.ActiveBefore, 100*float64(out.Diff.RemovedHouseholds)/float64(out.Diff.ActiveBefore), 100*cases.MaxRemovalShare)
		}
		if out.Diff.Empty() {
			return nil
		}
		now := db.Now()
		b := make([]byte, 6)
		rand.Read(b)
		out.BatchID = "R" + now.In(cases.Shanghai).Format("20060102") + "-" + hex.EncodeToString(b)
		if err := upsertRegistryTx(ctx, tx, ms); err != nil {
			return err
		}
		var goneH, goneM []string
		for _, c := range out.Diff.Changes {
			if c.Change != cases.RegRemoved {
				continue
			}
			if c.IDNumber == "" {
				goneH = append(goneH, c.Household)
			} else {
				goneM = append(goneM, c.IDNumber)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE registry_households SET status = 'removed', removed_at = $2, updated_at = $2
			WHERE household_no = ANY($1)`, pq.Array(goneH), now); err != nil {
			return fmt.Errorf("remove households: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE registry_members SET removed_at = $2, updated_at = $2 WHERE id_number = ANY($1)`,
			pq.Array(goneM), now); err != nil {
			return fmt.Errorf("remove members: %w", err)
		}
		if err := insertRegistryHistory(ctx, tx, out.BatchID, cases.DateOf(now), now, out.Diff.Changes); err != nil {
			return err
		}
		d := out.Diff
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO registry_imports (id, sha256, filename, rows, added, changed, moved, removed, at)
			VALUES ($1, '', $2, $3, $4, $5, $6, $7, $8)`,
			out.BatchID, opt.Filename, len(ms), d.Added, d.Changed, d.Moved, d.Removed, now); err != nil {
			return fmt.Errorf("registry import record: %w", err)
		}
		if out.Moves, err = db.moveCases(ctx, tx, out.BatchID, now, d.Changes); err != nil {
			return err
		}
		if opt.Announce != nil && len(out.Moves) > 0 {
			if err := opt.Announce(ctx, tx, out.Moves); err != nil {
				return fmt.Errorf("queue case move messages: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return RegistryApplied{}, fmt.Errorf("apply registry: %w", err)
	}
	return out, nil
}

func registrySnapshot(ctx context.Context, tx *sqlx.Tx) (cases.RegistrySnapshot, error) {
	snap := cases.RegistrySnapshot{Households: map[string]cases.RegistryHouseholdState{}, Members: map[string]cases.RegistryMemberState{}}
	rows, err := tx.QueryContext(ctx, `
		SELECT h.household_no, h.head_id_number, t.name, h.village, h.kind, h.risk_status, h.status = 'removed'
		FROM registry_households h JOIN townships t ON t.id = h.township_id FOR UPDATE OF h`)
	if err != nil {
		return snap, fmt.Errorf("registry households: %w", err)
	}
	for rows.Next() {
		var no string
		var h cases.RegistryHouseholdState
		if err := rows.Scan(&no, &h.Head, &h.Township, &h.Village, &h.Kind, &h.Risk, &h.Removed); err != nil {
			rows.Close()
			return snap, fmt.Errorf("registry households: %w", err)
		}
		snap.Households[no] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT id_number, household_no, name, relation, removed_at IS NOT NULL FROM registry_members`)
	if err != nil {
		return snap, fmt.Errorf("registry members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var m cases.RegistryMemberState
		if err := rows.Scan(&id, &m.Household, &m.Name, &m.Relation, &m.Removed); err != nil {
			return snap, fmt.Errorf("registry members: %w", err)
		}
		snap.Members[id] = m
	}
	return snap, rows.Err()
}

func insertRegistryHistory(ctx context.Context, tx *sqlx.Tx, batch string, on cases.Date, at time.Time, cs []cases.RegistryChange) error {
	n := len(cs)
	ids, hs, words, statuses, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, c := range cs {
		ids[i], hs[i], words[i], statuses[i] = c.IDNumber, c.Household, c.HistoryWord(), "active"
		if c.Change == cases.RegRemoved {
			statuses[i] = "removed"
		}
		b, _ := json.Marshal(c)
		details[i] = string(b)
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO registry_history (id_number, household_no, change, changed_on, batch_id, status, detail, created_at)
		SELECT i, h, w, $6, $7, s, d::jsonb, $8 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(i, h, w, s, d)`,
		pq.Array(ids), pq.Array(hs), pq.Array(words), pq.Array(statuses), pq.Array(details), on, batch, at)
	if err != nil {
		return fmt.Errorf("registry history: %w", err)
	}
	return nil
}

// moveCases moves the open cases of households whose 乡镇 changed to the new township:
// township and pending group reminders follow, the due date stays, the move is audited.
func (db *DB) moveCases(ctx context.Context, tx *sqlx.Tx, batch string, now time.Time, cs []cases.RegistryChange) ([]cases.CaseMove, error) {
	var moves []cases.CaseMove
	for _, c := range cs {
		if c.Change != cases.RegChanged || c.IDNumber != "" || c.From == "" || c.From == c.To {
			continue
		}
		var nos []string
		if err := tx.SelectContext(ctx, &nos, `SELECT case_no FROM cases WHERE status <> 'closed' AND (household_key = $1 OR household_no = $2)
			ORDER BY case_no FOR UPDATE`, "hh:"+c.Household, c.Household); err != nil {
			return nil, fmt.Errorf("open cases of %s: %w", c.Household, err)
		}
		for _, no := range nos {
			before, err := caseByNo(ctx, tx, no, true)
			if err != nil {
				return nil, err
			}
			if before.Township == c.To {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET township_id = (SELECT id FROM townships WHERE name = $2), version = version + 1 WHERE id = $1`,
				before.ID, c.To); err != nil {
				return nil, fmt.Errorf("move case %s: %w", no, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE reminders SET target = $3, township_id = (SELECT id FROM townships WHERE name = $4)
				WHERE case_id = $1 AND state = 'pending' AND target = $2`,
				before.ID, cases.TargetGroup(before.Township), cases.TargetGroup(c.To), c.To); err != nil {
				return nil, fmt.Errorf("reminders of %s: %w", no, err)
			}
			if err := InsertEvent(ctx, tx, before.ID, ActRegistryMove, before.Status, before.Status, cases.System, Source("registry:"+batch), now,
				map[string]any{"from": before.Township, "to": c.To, "household": c.Household}); err != nil {
				return nil, err
			}
			after, err := caseByNo(ctx, tx, no, false)
			if err != nil {
				return nil, err
			}
			m := cases.CaseMove{Case: after, From: before.Township, To: c.To, Cadres: map[string][]string{}, Chats: map[string][2]string{}}
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
			for _, r := range rows {
				m.Warnings = append(m.Warnings, r.fact())
			}
			moves = append(moves, m)
		}
	}
	return moves, nil
}

// ImportRegistry is ApplyRegistry for registry.Import, queueing no messages.
func (db *DB) ImportRegistry(ctx context.Context, ms []cases.RegistryMember, opt cases.RegistryImportOptions) (cases.RegistryImportResult, error) {
	return db.ImportRegistryAnnounced(ctx, ms, opt, nil)
}

// ImportRegistryAnnounced is ImportRegistry telling the townships of moved cases.
func (db *DB) ImportRegistryAnnounced(ctx context.Context, ms []cases.RegistryMember, opt cases.RegistryImportOptions, announce MoveAnnouncer) (cases.RegistryImportResult, error) {
	a, err := db.ApplyRegistry(ctx, ms, RegistryOptions{AllowRemovals: opt.AllowRemovals, Filename: opt.Filename, Announce: announce})
	if err != nil {
		return cases.RegistryImportResult{}, err
	}
	return cases.RegistryImportResult{BatchID: a.BatchID, Diff: a.Diff, CasesMoved: len(a.Moves)}, nil
}
