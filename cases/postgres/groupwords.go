package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// GroupWords lists what no group message may show of the open cases: the 病种 their
// warnings name and the names of their people (heads and members).
func (db *DB) GroupWords(ctx context.Context) (diagnoses, names []string, err error) {
	rows, err := db.DB.QueryxContext(ctx, `
		SELECT DISTINCT w.name, w.detail
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
		var n, detail string
		if err := rows.Scan(&n, &detail); err != nil {
			return nil, nil, fmt.Errorf("list group words: %w", err)
		}
		// names and details are sealed (docs/encryption.md)
		if err := db.Keys.OpenAll(&n, &detail); err != nil {
			return nil, nil, openErr("群消息过滤词", err)
		}
		d := ""
		if strings.Contains(detail, "病种") {
			var m map[string]any
			if json.Unmarshal([]byte(detail), &m) == nil {
				d, _ = m["病种"].(string)
			}
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
