package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// assignResponsible gives every case of a township's round that has no responsible cadre
// yet one (cases.Assigner: by village, else evenly) and stores it, in one statement.
func assignResponsible(ctx context.Context, tx *sqlx.Tx, n *cases.TownshipNotice) error {
	cadres, err := townshipCadres(ctx, tx, n.Township)
	if err != nil {
		return err
	}
	a := &cases.Assigner{Cadres: cadres}
	var ids []int64
	var users []string
	for i := range n.Cases {
		c := &n.Cases[i].Case
		if c.Responsible != "" {
			continue
		}
		if c.Responsible = a.Assign(c.Village); c.Responsible != "" {
			ids = append(ids, c.ID)
			users = append(users, c.Responsible)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE cases SET responsible = x.userid FROM unnest($1::bigint[], $2::text[]) AS x(id, userid)
		WHERE cases.id = x.id`, pq.Array(ids), pq.Array(users))
	if err != nil {
		return fmt.Errorf("responsible cadres of %s: %w", n.Township, err)
	}
	return nil
}

// setResponsible makes a cadre the responsible one of a case.
func setResponsible(ctx context.Context, tx *sqlx.Tx, caseID int64, userid string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET responsible = $2 WHERE id = $1`, caseID, userid); err != nil {
		return fmt.Errorf("responsible cadre of case %d: %w", caseID, err)
	}
	return nil
}

// townshipCadres is the one lookup of a township's cadres (by its current name), in userid
// order: for the round's notices, the responsible cadre and a spot check's contacts.
func townshipCadres(ctx context.Context, q sqlx.QueryerContext, township string) ([]cases.Cadre, error) {
	var rows []struct {
		UserID   string         `db:"userid"`
		Name     string         `db:"name"`
		Villages pq.StringArray `db:"villages"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT u.userid, u.name, u.villages FROM users u JOIN townships t ON t.id = u.township_id
		WHERE u.role = 'cadre' AND t.name = $1 ORDER BY u.userid`, township)
	if err != nil {
		return nil, fmt.Errorf("cadres of %s: %w", township, err)
	}
	out := make([]cases.Cadre, len(rows))
	for i, r := range rows {
		out[i] = cases.Cadre{UserID: r.UserID, Name: r.Name, Villages: []string(r.Villages)}
	}
	return out, nil
}

// VillageWarnings compares the cadres' villages with the registry's active households
// (cases.VillageWarnings): what `org apply` and `registry import` warn about.
func (db *DB) VillageWarnings(ctx context.Context) ([]string, error) {
	var cadres []struct {
		Township string         `db:"township"`
		UserID   string         `db:"userid"`
		Name     string         `db:"name"`
		Villages pq.StringArray `db:"villages"`
	}
	if err := db.SelectContext(ctx, &cadres, `
		SELECT t.name AS township, u.userid, u.name, u.villages FROM users u JOIN townships t ON t.id = u.township_id
		WHERE u.role = 'cadre' ORDER BY t.name, u.userid`); err != nil {
		return nil, fmt.Errorf("cadres' villages: %w", err)
	}
	var villages []struct {
		Township   string `db:"township"`
		Village    string `db:"village"`
		Households int    `db:"households"`
	}
	// Grouped by the township's id before its name is joined: grouped by the name, the
	// planner (which has no statistics of villages) sorted every household of a county's
	// registry, on disk, for a few dozen villages.
	if err := db.SelectContext(ctx, &villages, `
		SELECT t.name AS township, v.village, v.households
		FROM (SELECT township_id, village, count(*) AS households FROM registry_households
			WHERE status = 'active' AND village <> '' GROUP BY township_id, village) v
		JOIN townships t ON t.id = v.township_id`); err != nil {
		return nil, fmt.Errorf("registry villages: %w", err)
	}
	byTown := map[string][]cases.Cadre{}
	for _, c := range cadres {
		byTown[c.Township] = append(byTown[c.Township], cases.Cadre{UserID: c.UserID, Name: c.Name, Villages: c.Villages})
	}
	registry := map[string]map[string]int{}
	for _, v := range villages {
		if registry[v.Township] == nil {
			registry[v.Township] = map[string]int{}
		}
		registry[v.Township][v.Village] = v.Households
	}
	return cases.VillageWarnings(byTown, registry), nil
}
