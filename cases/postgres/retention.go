package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// RetentionCase is a closed case that the retention rule anonymizes.
type RetentionCase struct {
	ID       int64     `db:"id" json:"-"`
	CaseNo   string    `db:"case_no" json:"case_no"`
	ClosedAt time.Time `db:"closed_at" json:"closed_at"`
	Warnings int       `db:"warnings" json:"warnings"`
}

// RetentionDue lists the closed cases closed before the cutoff that are not anonymized yet,
// oldest first.
func (db *DB) RetentionDue(ctx context.Context, closedBefore time.Time) ([]RetentionCase, error) {
	var out []RetentionCase
	err := db.SelectContext(ctx, &out, `
		SELECT c.id, c.case_no, c.closed_at, (SELECT count(*) FROM warnings w WHERE w.case_id = c.id) AS warnings
		FROM cases c
		WHERE c.status = 'closed' AND c.closed_at < $1 AND c.anonymized_at IS NULL
		ORDER BY c.closed_at, c.id`, closedBefore)
	if err != nil {
		return nil, fmt.Errorf("retention due: %w", err)
	}
	return out, nil
}

// strayWarnings is the condition of a warning that no case will ever hold — out of scope
// (no rule), or replaced by a later push of its period before the round — pushed before
// $1 and not yet anonymized. Its person's data would otherwise be kept for ever.
const strayWarnings = `w.case_id IS NULL AND w.created_at < $1 AND (w.name <> '' OR w.id_sealed <> '' OR w.detail <> '{}')
	AND (w.rule = '' OR EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id))`

// StrayWarningsDue counts the warnings no case will hold, pushed before the cutoff, that the
// retention rule anonymizes (AnonymizeStrayWarnings).
func (db *DB) StrayWarningsDue(ctx context.Context, before time.Time) (int, error) {
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM warnings w WHERE `+strayWarnings, before); err != nil {
		return 0, fmt.Errorf("retention: warnings without a case: %w", err)
	}
	return n, nil
}

// AnonymizeStrayWarnings clears, as Anonymize does for a case's warnings, the person of every
// warning no case will hold that was pushed before the cutoff: the keyed hashes stay.
func (db *DB) AnonymizeStrayWarnings(ctx context.Context, before time.Time) (int, error) {
	k := db.Keys
	var n int
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		var ws []struct {
			ID     int64  `db:"id"`
			IDNo   string `db:"id_number"`
			HeadID string `db:"head_id_number"`
		}
		if err := tx.SelectContext(ctx, &ws, `SELECT w.id, w.id_number, w.head_id_number FROM warnings w WHERE `+strayWarnings+` FOR UPDATE`, before); err != nil {
			return fmt.Errorf("retention: warnings without a case: %w", err)
		}
		ids := make([]int64, len(ws))
		idNos, heads := make([]string, len(ws)), make([]string, len(ws))
		for i, w := range ws {
			ids[i], idNos[i], heads[i] = w.ID, storedHash(k, w.IDNo), storedHash(k, w.HeadID)
		}
		n = len(ws)
		return anonymizeWarnings(ctx, tx, ids, idNos, heads)
	})
	return n, err
}

// anonymizeWarnings clears the warnings' sealed person and amount, their key columns set to
// the keyed hashes given.
func anonymizeWarnings(ctx context.Context, tx *sqlx.Tx, ids []int64, idNos, heads []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE warnings w SET id_number = u.id_number, head_id_number = u.head_id_number, id_sealed = '', name = '',
			detail = '{}', amount = NULL
		FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, id_number, head_id_number)
		WHERE w.id = u.id`, pq.Array(ids), pq.Array(idNos), pq.Array(heads))
	if err != nil {
		return fmt.Errorf("anonymize %d warnings: %w", len(ids), err)
	}
	return nil
}

// anonymizedText replaces typed text that a constraint needs non-empty (a 不纳入 reason, a
// done task's measure).
const anonymizedText = "（已按保存期限匿名）"

// Anonymize removes a closed case's personal data: the sealed names, ID numbers and
// warnings' row details, the amounts, and every typed text (reasons, measures, notes, the
// audit trail's details). The key columns keep the keyed hash of each number
// (docs/encryption.md), so the same person stays one person in the counts; every row stays,
// with its dates, statuses and results, so the assessment of its month adds up as before.
// It reports false for a case already anonymized, or not closed.
func (db *DB) Anonymize(ctx context.Context, caseID int64) (bool, error) {
	k := db.Keys
	done := false
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		var c struct {
			HeadID string `db:"head_id_number"`
			Key    string `db:"household_key"`
		}
		err := tx.GetContext(ctx, &c, `SELECT head_id_number, household_key FROM cases
			WHERE id = $1 AND status = 'closed' AND anonymized_at IS NULL FOR UPDATE`, caseID)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return fmt.Errorf("anonymize case %d: %w", caseID, err)
		}
		var ws []struct {
			ID     int64  `db:"id"`
			IDNo   string `db:"id_number"`
			HeadID string `db:"head_id_number"`
		}
		if err := tx.SelectContext(ctx, &ws, `SELECT id, id_number, head_id_number FROM warnings WHERE case_id = $1`, caseID); err != nil {
			return fmt.Errorf("anonymize case %d: warnings: %w", caseID, err)
		}
		ids := make([]int64, len(ws))
		idNos, heads := make([]string, len(ws)), make([]string, len(ws))
		for i, w := range ws {
			// a number an older version kept in plain becomes its hash here too
			ids[i], idNos[i], heads[i] = w.ID, storedHash(k, w.IDNo), storedHash(k, w.HeadID)
		}
		if err := anonymizeWarnings(ctx, tx, ids, idNos, heads); err != nil {
			return fmt.Errorf("anonymize case %d: %w", caseID, err)
		}
		key := c.Key
		if id, ok := strings.CutPrefix(key, "head:"); ok {
			key = "head:" + storedHash(k, id)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE cases SET head_name = '', head_id_number = $2, head_id_sealed = '', household_key = $3,
				reason = CASE WHEN reason <> '' THEN $4 ELSE '' END, anonymized_at = $5
			WHERE id = $1`, caseID, storedHash(k, c.HeadID), key, anonymizedText, db.Now()); err != nil {
			return fmt.Errorf("anonymize case %d: %w", caseID, err)
		}
		// The audit trail lets only this transaction clear its free text (migration 00840).
		for _, q := range []string{
			`SET LOCAL fangpin.retention = 'on'`,
			// the message id goes, its channel (wecom:, form:, api:, cli:) stays for the access log
			`UPDATE case_events SET detail = '{}', source_msg = CASE WHEN source_msg LIKE '%:%' THEN split_part(source_msg, ':', 1) || ':' ELSE source_msg END
				WHERE case_id = $1 AND (detail <> '{}' OR source_msg LIKE '%:_%')`,
			`UPDATE department_tasks SET measure = CASE WHEN measure <> '' THEN '` + anonymizedText + `' ELSE '' END, note = ''
				WHERE case_id = $1`,
			`UPDATE spot_checks SET note = '' WHERE case_id = $1`,
			`UPDATE area_sweeps SET note = '' WHERE case_id = $1`,
			`UPDATE reminders SET note = '' WHERE case_id = $1`,
		} {
			var args []any
			if strings.Contains(q, "$1") {
				args = []any{caseID}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("anonymize case %d: %w", caseID, err)
			}
		}
		done = true
		return nil
	})
	return done, err
}
