package postgres

import (
	"context"
	"fmt"
)

// GroupWords lists what no group message may show of the open cases: the 病种 their
// warnings name and the names of their people (heads and members).
func (db *DB) GroupWords(ctx context.Context) (diagnoses, names []string, err error) {
	rows, err := db.DB.QueryxContext(ctx, `
		SELECT DISTINCT w.name,
		       CASE WHEN w.detail LIKE '%病种%' THEN coalesce(w.detail::json->>'病种', '') ELSE '' END
		FROM cases c JOIN warnings w ON w.case_id = c.id
		WHERE c.status <> 'closed'
		UNION
		SELECT head_name, '' FROM cases WHERE status <> 'closed'`)
	if err != nil {
		return nil, nil, fmt.Errorf("list group words: %w", err)
	}
	defer rows.Close()
	seenD, seenN := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			return nil, nil, fmt.Errorf("list group words: %w", err)
		}
		if n != "" && !seenN[n] {
			seenN[n] = true
			names = append(names, n)
		}
		if d != "" && !seenD[d] {
			seenD[d] = true
			diagnoses = append(diagnoses, d)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list group words: %w", err)
	}
	return diagnoses, names, nil
}
