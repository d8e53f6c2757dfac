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
	var rows []struct {
		UserID   string         `db:"userid"`
		Name     string         `db:"name"`
		Villages pq.StringArray `db:"villages"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT u.userid, u.name, u.villages FROM users u JOIN townships t ON t.id = u.township_id
		WHERE u.role = 'cadre' AND t.name = $1 ORDER BY u.userid`, n.Township)
	if err != nil {
		return fmt.Errorf("cadres of %s: %w", n.Township, err)
	}
	a := &cases.Assigner{}
	for _, r := range rows {
		a.Cadres = append(a.Cadres, cases.Cadre{UserID: r.UserID, Name: r.Name, Villages: []string(r.Villages)})
	}
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
