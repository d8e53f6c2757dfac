package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// knownDepartments is the set of departments in the org file.
func knownDepartments(ctx context.Context, q sqlx.QueryerContext) (map[string]bool, error) {
	var names []string
	if err := sqlx.SelectContext(ctx, q, &names, `SELECT name FROM departments`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	return known, nil
}
