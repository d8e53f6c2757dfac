package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// IssueToken replaces dept's push token hash with sha (令牌 <部门>, docs/office.md): the old
// hash is revoked in the same transaction, so the push API refuses the old token from the
// next request on, and an org file that still names it cannot bring it back. ev is recorded
// in the access log with the change.
func (db *DB) IssueToken(ctx context.Context, dept, sha string, ev cases.AccessEvent) error {
	return db.InTx(ctx, func(tx *sqlx.Tx) error {
		var old string
		err := tx.QueryRowxContext(ctx, `SELECT token_sha256 FROM departments WHERE name = $1 FOR UPDATE`, dept).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return cases.Errorf(cases.ENotFound, "组织名单里没有“%s”这个部门，请核对部门名称。", dept)
		}
		if err != nil {
			return fmt.Errorf("token of %s: %w", dept, err)
		}
		if old != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO revoked_tokens (sha256, department, revoked_by) VALUES ($1, $2, $3)
				ON CONFLICT (sha256) DO NOTHING`, old, dept, ev.User); err != nil {
				return fmt.Errorf("revoke token of %s: %w", dept, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE departments SET token_sha256 = $2, token_issued_at = now(), updated_at = now()
			WHERE name = $1`, dept, sha); err != nil {
			return fmt.Errorf("new token of %s: %w", dept, err)
		}
		return recordAccesses(ctx, tx, []cases.AccessEvent{ev})
	})
}

// WithdrawBatch withdraws a push none of whose warnings a case holds yet (撤回 <批次号>,
// docs/office.md): its warnings and the batch are deleted, so that the round never sees them
// and the same file may be pushed again. A liaison may withdraw only their department's
// pushes. A 人员变动 push is refused: it changed the registry when it arrived. The access
// log keeps the withdrawal (ev, with the batch id and the file's SHA-256 in its detail).
func (db *DB) WithdrawBatch(ctx context.Context, id string, a cases.Actor, ev cases.AccessEvent) (*cases.Batch, error) {
	b, err := db.BatchByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Role == cases.RoleLiaison && a.Department != b.Department {
		return nil, cases.Errorf(cases.EForbidden, "批次 %s 是%s推送的，您只能撤回本部门（%s）的推送。", b.ID, b.Department, a.Department)
	}
	if b.Category == cases.CatPopulation {
		return nil, cases.Errorf(cases.EConflict, "批次 %s 是人员变动数据，收到时已更新了监测对象名册，不能撤回。如有错误，请推送更正后的数据。", b.ID)
	}
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		var found bool
		// the batch row locked: a dispatch running now waits, or has already taken the warnings
		if err := tx.QueryRowxContext(ctx, `SELECT true FROM batches WHERE id = $1 FOR UPDATE`, b.ID).Scan(&found); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return cases.Errorf(cases.ENotFound, "批次 %s 已经撤回了。", b.ID)
			}
			return fmt.Errorf("lock batch %s: %w", b.ID, err)
		}
		var held int
		if err := tx.QueryRowxContext(ctx, `SELECT count(*) FROM warnings w WHERE `+inBatch("w", "$1")+` AND w.case_id IS NOT NULL`,
			b.ID).Scan(&held); err != nil {
			return fmt.Errorf("dispatched warnings of %s: %w", b.ID, err)
		}
		if held > 0 {
			return cases.Errorf(cases.EConflict, "批次 %s 的 %d 条预警已经交办（或已作为比对已核归入案件），不能撤回。如数据有误，请联系县扶贫办在案件中说明。", b.ID, held)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM warnings w WHERE `+inBatch("w", "$1"), b.ID); err != nil {
			return fmt.Errorf("withdraw warnings of %s: %w", b.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM batches WHERE id = $1`, b.ID); err != nil {
			return fmt.Errorf("withdraw batch %s: %w", b.ID, err)
		}
		ev.BatchID = b.ID
		ev.Detail += "；文件 SHA-256 " + b.SHA256
		return recordAccesses(ctx, tx, []cases.AccessEvent{ev})
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}
