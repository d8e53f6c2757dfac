package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// departmentID finds a department by name; ENotFound names it.
func departmentID(ctx context.Context, q sqlx.QueryerContext, name string) (int, error) {
	var id int
	err := q.QueryRowxContext(ctx, `SELECT id FROM departments WHERE name = $1`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, cases.Errorf(cases.ENotFound, "部门“%s”不在组织文件中，请核对部门名称", name)
	}
	if err != nil {
		return 0, fmt.Errorf("find department %s: %w", name, err)
	}
	return id, nil
}

// DepartmentMapping reads a department's stored column and value mapping; an empty mapping
// (never nil maps) when none is stored. ENotFound for an unknown department.
func (db *DB) DepartmentMapping(ctx context.Context, dept string) (cases.ColumnMapping, error) {
	m := cases.ColumnMapping{Department: dept, Columns: map[string]string{}, Values: map[string]map[string]string{}}
	id, err := departmentID(ctx, db, dept)
	if err != nil {
		return m, err
	}
	var cols, vals []byte
	err = db.QueryRowContext(ctx, `SELECT columns, value_words FROM department_mappings WHERE department_id = $1`, id).Scan(&cols, &vals)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("mapping of %s: %w", dept, err)
	}
	if err := json.Unmarshal(cols, &m.Columns); err != nil {
		return m, fmt.Errorf("mapping of %s: %w", dept, err)
	}
	if err := json.Unmarshal(vals, &m.Values); err != nil {
		return m, fmt.Errorf("mapping of %s: %w", dept, err)
	}
	return m, nil
}

// SetDepartmentMapping adds m's entries to the department's stored mapping (m.Department),
// an entry of m replacing a stored one for the same header text or value word.
func (db *DB) SetDepartmentMapping(ctx context.Context, m cases.ColumnMapping) error {
	return db.InTx(ctx, func(tx *sqlx.Tx) error {
		id, err := departmentID(ctx, tx, m.Department)
		if err != nil {
			return err
		}
		stored := cases.ColumnMapping{}
		var cols, vals []byte
		err = tx.QueryRowContext(ctx, `SELECT columns, value_words FROM department_mappings WHERE department_id = $1 FOR UPDATE`, id).Scan(&cols, &vals)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mapping of %s: %w", m.Department, err)
		}
		if err == nil {
			if err := json.Unmarshal(cols, &stored.Columns); err != nil {
				return fmt.Errorf("mapping of %s: %w", m.Department, err)
			}
			if err := json.Unmarshal(vals, &stored.Values); err != nil {
				return fmt.Errorf("mapping of %s: %w", m.Department, err)
			}
		}
		stored.Merge(m)
		cols, _ = json.Marshal(stored.Columns)
		vals, _ = json.Marshal(stored.Values)
		_, err = tx.ExecContext(ctx, `
			INSERT INTO department_mappings (department_id, columns, value_words, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (department_id) DO UPDATE SET columns = $2, value_words = $3, updated_at = $4`, id, cols, vals, db.Now())
		if err != nil {
			return fmt.Errorf("store mapping of %s: %w", m.Department, err)
		}
		return nil
	})
}

// ClearDepartmentMapping forgets a department's mapping: its next file is read by the
// built-in names alone (and the liaison asked again where they do not suffice).
func (db *DB) ClearDepartmentMapping(ctx context.Context, dept string) error {
	id, err := departmentID(ctx, db, dept)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM department_mappings WHERE department_id = $1`, id); err != nil {
		return fmt.Errorf("clear mapping of %s: %w", dept, err)
	}
	return nil
}
