package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// OrgSummary counts what an org file holds after it was applied.
type OrgSummary struct {
	Townships   int `json:"townships"`
	Departments int `json:"departments"`
	Users       int `json:"users"`
}

// ApplyOrg upserts townships, departments and users in one transaction. Users no longer in
// the file are removed, so someone who left loses access; townships and departments stay,
// because cases point at them.
func (db *DB) ApplyOrg(ctx context.Context, o *cases.Org) (OrgSummary, error) {
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, t := range o.Townships {
			aliases := t.Aliases
			if aliases == nil {
				aliases = []string{}
			}
			_, err := tx.ExecContext(ctx, `
				INSERT INTO townships (name, aliases, appchat_id, webhook_key)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (name) DO UPDATE SET aliases = EXCLUDED.aliases,
					appchat_id = EXCLUDED.appchat_id, webhook_key = EXCLUDED.webhook_key, updated_at = now()
				WHERE (townships.aliases, townships.appchat_id, townships.webhook_key)
					IS DISTINCT FROM (EXCLUDED.aliases, EXCLUDED.appchat_id, EXCLUDED.webhook_key)`,
				t.Name, pq.Array(aliases), t.Chat.AppChat, t.Chat.WebhookKey)
			if err != nil {
				return fmt.Errorf("township %s: %w", t.Name, err)
			}
		}
		for _, d := range o.Departments {
			cats := make([]string, len(d.Categories))
			for i, c := range d.Categories {
				cats[i] = string(c)
			}
			_, err := tx.ExecContext(ctx, `
				INSERT INTO departments (name, categories, token_sha256) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO UPDATE SET categories = EXCLUDED.categories,
					token_sha256 = EXCLUDED.token_sha256, updated_at = now()
				WHERE (departments.categories, departments.token_sha256)
					IS DISTINCT FROM (EXCLUDED.categories, EXCLUDED.token_sha256)`,
				d.Name, pq.Array(cats), d.TokenSHA256)
			if err != nil {
				return fmt.Errorf("department %s: %w", d.Name, err)
			}
		}
		ids := make([]string, 0, len(o.Users))
		for _, u := range o.Users {
			var township, dept any
			if u.Role == cases.RoleCadre {
				name, _ := o.TownshipName(u.Township)
				township = name
			}
			if u.Role == cases.RoleLiaison {
				dept = u.Department
			}
			_, err := tx.ExecContext(ctx, `
				INSERT INTO users (userid, name, role, township_id, department_id, villages)
				VALUES ($1, $2, $3, (SELECT id FROM townships WHERE name = $4), (SELECT id FROM departments WHERE name = $5), $6)
				ON CONFLICT (userid) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
					township_id = EXCLUDED.township_id, department_id = EXCLUDED.department_id, villages = EXCLUDED.villages, updated_at = now()
				WHERE (users.name, users.role, users.township_id, users.department_id, users.villages)
					IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.role, EXCLUDED.township_id, EXCLUDED.department_id, EXCLUDED.villages)`,
				u.UserID, u.Name, string(u.Role), township, dept, pq.Array(villagesOf(u)))
			if err != nil {
				return fmt.Errorf("user %s: %w", u.UserID, err)
			}
			ids = append(ids, u.UserID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE NOT (userid = ANY($1))`, pq.Array(ids)); err != nil {
			return fmt.Errorf("remove users who left: %w", err)
		}
		if o.County != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO county (name) VALUES ($1)
				ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, o.County); err != nil {
				return fmt.Errorf("county: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return OrgSummary{}, fmt.Errorf("apply org: %w", err)
	}
	var s OrgSummary
	err = db.QueryRowxContext(ctx, `SELECT (SELECT count(*) FROM townships), (SELECT count(*) FROM departments), (SELECT count(*) FROM users)`).
		Scan(&s.Townships, &s.Departments, &s.Users)
	return s, err
}

// Actor looks a WeCom userid up in the org; a user the org file does not know is ENotFound.
func (db *DB) Actor(ctx context.Context, userid string) (cases.Actor, error) {
	var a struct {
		UserID     string         `db:"userid"`
		Name       string         `db:"name"`
		Role       string         `db:"role"`
		Township   sql.NullString `db:"township"`
		Department sql.NullString `db:"department"`
	}
	err := db.GetContext(ctx, &a, `
		SELECT u.userid, u.name, u.role, t.name AS township, d.name AS department
		FROM users u LEFT JOIN townships t ON t.id = u.township_id LEFT JOIN departments d ON d.id = u.department_id
		WHERE u.userid = $1`, userid)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Actor{}, cases.Errorf(cases.ENotFound, "您好，系统里还没有您的账号，请联系县扶贫办把您加入名单。")
	}
	if err != nil {
		return cases.Actor{}, fmt.Errorf("look up user %s: %w", userid, err)
	}
	return cases.Actor{UserID: a.UserID, Name: a.Name, Role: cases.Role(a.Role),
		Township: a.Township.String, Department: a.Department.String}, nil
}

// Township is a township with its chat.
type Township struct {
	ID         int            `db:"id"`
	Name       string         `db:"name"`
	Aliases    pq.StringArray `db:"aliases"`
	AppChatID  string         `db:"appchat_id"`
	WebhookKey string         `db:"webhook_key"`
}

// Townships lists every township by name.
func (db *DB) Townships(ctx context.Context) ([]Township, error) {
	var ts []Township
	err := db.SelectContext(ctx, &ts, `SELECT id, name, aliases, appchat_id, webhook_key FROM townships ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list townships: %w", err)
	}
	return ts, nil
}

// TownshipIndex maps every township name and alias to the township's id.
func (db *DB) TownshipIndex(ctx context.Context) (map[string]int, error) {
	ts, err := db.Townships(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]int, len(ts)*2)
	for _, t := range ts {
		m[t.Name] = t.ID
		for _, a := range t.Aliases {
			m[a] = t.ID
		}
	}
	return m, nil
}

// UsersOf lists the userids with role in a township (cadres) or department (liaisons);
// an empty scope lists everyone with the role.
func (db *DB) UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error) {
	var ids []string
	err := db.SelectContext(ctx, &ids, `
		SELECT u.userid FROM users u
		LEFT JOIN townships t ON t.id = u.township_id LEFT JOIN departments d ON d.id = u.department_id
		WHERE u.role = $1 AND ($2 = '' OR t.name = $2) AND ($3 = '' OR d.name = $3)
		ORDER BY u.userid`, string(role), township, department)
	if err != nil {
		return nil, fmt.Errorf("list %s users: %w", role, err)
	}
	return ids, nil
}

// villagesOf is a cadre's villages, trimmed; never nil (the column is NOT NULL).
func villagesOf(u cases.OrgUser) []string {
	out := []string{}
	if u.Role != cases.RoleCadre {
		return out
	}
	for _, v := range u.Villages {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// County is the county's name from the org file, empty before one was applied.
func (db *DB) County(ctx context.Context) (string, error) {
	var name string
	err := db.GetContext(ctx, &name, `SELECT name FROM county`)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("county: %w", err)
	}
	return name, nil
}
