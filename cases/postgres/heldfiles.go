package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// HoldFile keeps f until TakeHeldFile or a day has passed; files older than a day are
// deleted on the way, so nothing is kept longer whoever forgets to answer. Holding the
// same id again keeps the first.
func (db *DB) HoldFile(ctx context.Context, f cases.HeldFile) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM held_files WHERE created_at < now() - $1::interval`,
		fmt.Sprintf("%d seconds", int(cases.HeldFileTTL.Seconds()))); err != nil {
		return fmt.Errorf("drop old held files: %w", err)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO held_files (id, user_id, department, filename, sha256, data)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		f.ID, f.UserID, f.Department, f.Filename, f.SHA256, db.Keys.SealBytes(f.Data)) // a file of people: sealed
	if err != nil {
		return fmt.Errorf("hold file %s: %w", f.ID, err)
	}
	return nil
}

// HeldFile returns the file held under id (younger than a day), or cases.ENotFound.
func (db *DB) HeldFile(ctx context.Context, id string) (cases.HeldFile, error) {
	var f cases.HeldFile
	err := db.QueryRowContext(ctx, `SELECT id, user_id, department, filename, sha256, data, created_at
		FROM held_files WHERE id = $1 AND created_at >= now() - $2::interval`,
		id, fmt.Sprintf("%d seconds", int(cases.HeldFileTTL.Seconds()))).
		Scan(&f.ID, &f.UserID, &f.Department, &f.Filename, &f.SHA256, &f.Data, &f.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.HeldFile{}, cases.Errorf(cases.ENotFound, "这个文件已不在系统中（文件最多保留一天），请重新发送文件。")
	}
	if err != nil {
		return cases.HeldFile{}, fmt.Errorf("held file %s: %w", id, err)
	}
	if f.Data, err = db.Keys.OpenBytes(f.Data); err != nil {
		return cases.HeldFile{}, openErr("暂存的文件", err)
	}
	return f, nil
}

// DropHeldFile deletes a held file (imported, or no longer wanted).
func (db *DB) DropHeldFile(ctx context.Context, id string) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM held_files WHERE id = $1`, id); err != nil {
		return fmt.Errorf("drop held file %s: %w", id, err)
	}
	return nil
}

// LatestHeldFile returns the youngest file held with one of the department marks (younger
// than a day), or cases.ENotFound.
func (db *DB) LatestHeldFile(ctx context.Context, marks ...string) (cases.HeldFile, error) {
	var id string
	err := db.QueryRowContext(ctx, `SELECT id FROM held_files WHERE department = ANY($1) AND created_at >= now() - $2::interval
		ORDER BY created_at DESC, id LIMIT 1`, pq.Array(marks), fmt.Sprintf("%d seconds", int(cases.HeldFileTTL.Seconds()))).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.HeldFile{}, cases.Errorf(cases.ENotFound, "没有待确认的文件。")
	}
	if err != nil {
		return cases.HeldFile{}, fmt.Errorf("latest held file: %w", err)
	}
	return db.HeldFile(ctx, id)
}
