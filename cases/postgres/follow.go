package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// notFollowed are the kinds of case a person's risk warnings never join: a 区域排查 task and
// a 信息变更 (the national system's update after a 人员变动 row), which hold no risk.
var notFollowed = []string{string(cases.KindSweep), string(cases.KindInfo)}

// openCaseOf finds the open case a household's warnings join (docs/registry.md, open cases follow
// people): the open case of the household itself; else an open case that already holds a
// warning of one of the warned persons, whatever household the registry now puts them in;
// else an open case of another current member of the registry household. sql.ErrNoRows
// when there is none.
func openCaseOf(ctx context.Context, tx *sqlx.Tx, h cases.Household) (string, error) {
	var no string
	err := tx.GetContext(ctx, &no, `SELECT case_no FROM cases WHERE household_key = $1 AND status <> 'closed'`, h.Key)
	if err == nil || !errors.Is(err, sql.ErrNoRows) || h.Area {
		return no, err
	}
	var ids []string
	for _, w := range h.Warnings {
		if w.IDHash != "" {
			ids = append(ids, w.IDHash)
		}
	}
	err = tx.GetContext(ctx, &no, `
		SELECT case_no FROM (
			SELECT c.case_no, 1 AS pref FROM cases c JOIN warnings w ON w.case_id = c.id
			WHERE c.status <> 'closed' AND NOT c.kind = ANY($3) AND w.id_number = ANY($1)
			UNION ALL
			SELECT c.case_no, 2 FROM cases c JOIN warnings w ON w.case_id = c.id
			JOIN registry_members m ON m.id_number = w.id_number AND m.removed_at IS NULL
			WHERE c.status <> 'closed' AND NOT c.kind = ANY($3) AND $2 <> '' AND m.household_no = $2
		) x ORDER BY pref, case_no LIMIT 1`, pq.Array(ids), h.HouseholdNo, pq.Array(notFollowed))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("open case of the people of %s: %w", h.Key, err)
	}
	return no, err
}

// markOpenCases sets each warning's OpenCase: the open household case (not a 区域排查 or a
// 信息变更) that already holds a warning of the same person, so that the person's new warnings join it.
func markOpenCases(ctx context.Context, tx *sqlx.Tx, facts []cases.WarningFact) error {
	var ids []string
	for _, f := range facts {
		if f.IDHash != "" {
			ids = append(ids, f.IDHash)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		ID string `db:"id_number"`
		No string `db:"case_no"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT DISTINCT ON (w.id_number) w.id_number, c.case_no
		FROM warnings w JOIN cases c ON c.id = w.case_id
		WHERE w.id_number = ANY($1) AND c.status <> 'closed' AND NOT c.kind = ANY($2)
		ORDER BY w.id_number, c.case_no`, pq.Array(ids), pq.Array(notFollowed))
	if err != nil {
		return fmt.Errorf("open cases of warned people: %w", err)
	}
	open := make(map[string]string, len(rows))
	for _, r := range rows {
		open[r.ID] = r.No
	}
	for i := range facts {
		facts[i].OpenCase = open[facts[i].IDHash]
	}
	return nil
}

// followOpenCases is openCaseOf's second look for a whole round at once: for each household
// with no open case of its own (and not a 区域排查), the open case of one of its people, else
// of its registry household. One query whatever the round's size.
func followOpenCases(ctx context.Context, tx *sqlx.Tx, hs []cases.Household, open openCases) (map[string]string, error) {
	var ids, hnos []string
	for _, h := range hs {
		if h.Area {
			continue
		}
		if _, err := open.of(h.Key); err == nil {
			continue
		}
		for _, w := range h.Warnings {
			if w.IDHash != "" {
				ids = append(ids, w.IDHash)
			}
		}
		if h.HouseholdNo != "" {
			hnos = append(hnos, h.HouseholdNo)
		}
	}
	out := map[string]string{}
	if len(ids) == 0 && len(hnos) == 0 {
		return out, nil
	}
	var rows []struct {
		ID          string `db:"id_number"`
		HouseholdNo string `db:"household_no"`
		No          string `db:"case_no"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT w.id_number, COALESCE(m.household_no, '') AS household_no, c.case_no
		FROM cases c JOIN warnings w ON w.case_id = c.id
		LEFT JOIN registry_members m ON m.id_number = w.id_number AND m.removed_at IS NULL
		WHERE c.status <> 'closed' AND NOT c.kind = ANY($3) AND (w.id_number = ANY($1) OR m.household_no = ANY($2))
		ORDER BY c.case_no`, pq.Array(ids), pq.Array(hnos), pq.Array(notFollowed))
	if err != nil {
		return nil, fmt.Errorf("open cases of the round's people: %w", err)
	}
	byID, byHousehold := map[string]string{}, map[string]string{}
	for _, r := range rows {
		if _, ok := byID[r.ID]; !ok {
			byID[r.ID] = r.No
		}
		if _, ok := byHousehold[r.HouseholdNo]; !ok && r.HouseholdNo != "" {
			byHousehold[r.HouseholdNo] = r.No
		}
	}
	for _, h := range hs {
		if h.Area {
			continue
		}
		if _, err := open.of(h.Key); err == nil {
			continue
		}
		best := ""
		for _, w := range h.Warnings {
			if no, ok := byID[w.IDHash]; ok && (best == "" || no < best) {
				best = no
			}
		}
		if best == "" && h.HouseholdNo != "" {
			best = byHousehold[h.HouseholdNo]
		}
		if best != "" {
			out[h.Key] = best
		}
	}
	return out, nil
}
