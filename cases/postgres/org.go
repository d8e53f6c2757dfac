package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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

// ApplyOrg upserts townships, departments and users in one transaction (docs/reference.md and docs/registry.md).
// A township whose name is new but lists a former name keeps the former township's row
// (renamed: cases, history and chat stay); several former names merge those townships into
// it. Users no longer in the file are deactivated, never deleted, so history keeps their
// names. An apply that would leave open cases in a township with no cadres is refused.
func (db *DB) ApplyOrg(ctx context.Context, o *cases.Org) (OrgSummary, error) {
	err := db.InTx(ctx, func(tx *sqlx.Tx) error { return applyOrg(ctx, tx, o) })
	if err != nil {
		return OrgSummary{}, fmt.Errorf("apply org: %w", err)
	}
	var s OrgSummary
	err = db.QueryRowxContext(ctx, `SELECT (SELECT count(*) FROM townships), (SELECT count(*) FROM departments), (SELECT count(*) FROM users WHERE role <> 'former')`).
		Scan(&s.Townships, &s.Departments, &s.Users)
	return s, err
}

// PreviewOrg is what ApplyOrg would do, applied in a transaction that is rolled back: the
// users it would deactivate and add, the townships it would rename or merge. An org that
// ApplyOrg refuses (open cases stranded without cadres) is refused here the same way.
func (db *DB) PreviewOrg(ctx context.Context, o *cases.Org) (cases.OrgPreview, error) {
	var p cases.OrgPreview
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return p, fmt.Errorf("preview org: %w", err)
	}
	defer tx.Rollback()
	type user struct {
		UserID string `db:"userid"`
		Name   string `db:"name"`
	}
	active := func() (map[string]string, error) {
		var us []user
		if err := tx.SelectContext(ctx, &us, `SELECT userid, name FROM users WHERE role <> 'former' ORDER BY userid`); err != nil {
			return nil, fmt.Errorf("preview org: users: %w", err)
		}
		m := make(map[string]string, len(us))
		for _, u := range us {
			m[u.UserID] = u.Name
		}
		return m, nil
	}
	before, err := active()
	if err != nil {
		return p, err
	}
	var towns []string
	if err := tx.SelectContext(ctx, &towns, `SELECT name FROM townships ORDER BY id`); err != nil {
		return p, fmt.Errorf("preview org: townships: %w", err)
	}
	if err := applyOrg(ctx, tx, o); err != nil {
		return p, err
	}
	after, err := active()
	if err != nil {
		return p, err
	}
	for id, name := range before {
		if _, ok := after[id]; !ok {
			p.Deactivated = append(p.Deactivated, name+"（"+id+"）")
		}
	}
	for id, name := range after {
		if _, ok := before[id]; !ok {
			p.Added = append(p.Added, name+"（"+id+"）")
		}
	}
	had := map[string]bool{}
	for _, t := range towns {
		had[t] = true
	}
	for _, t := range o.Townships {
		for _, f := range t.Formerly {
			if had[f] && f != t.Name {
				p.Renamed = append(p.Renamed, f+" → "+t.Name)
			}
		}
	}
	sort.Strings(p.Deactivated)
	sort.Strings(p.Added)
	return p, nil
}

// applyOrg is ApplyOrg's work within tx.
func applyOrg(ctx context.Context, tx *sqlx.Tx, o *cases.Org) error {
	for _, t := range o.Townships {
		if err := renameTownship(ctx, tx, t); err != nil {
			return err
		}
		aliases, formerly := t.Aliases, t.Formerly
		if aliases == nil {
			aliases = []string{}
		}
		if formerly == nil {
			formerly = []string{}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO townships (name, aliases, formerly, appchat_id, webhook_key)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET aliases = EXCLUDED.aliases, formerly = EXCLUDED.formerly,
				appchat_id = EXCLUDED.appchat_id, webhook_key = EXCLUDED.webhook_key, updated_at = now()
			WHERE (townships.aliases, townships.formerly, townships.appchat_id, townships.webhook_key)
				IS DISTINCT FROM (EXCLUDED.aliases, EXCLUDED.formerly, EXCLUDED.appchat_id, EXCLUDED.webhook_key)`,
			t.Name, pq.Array(aliases), pq.Array(formerly), t.Chat.AppChat, t.Chat.WebhookKey)
		if err != nil {
			return fmt.Errorf("township %s: %w", t.Name, err)
		}
		if t.Chat.AIBotChat != "" {
			// The org file's word wins over a binding made by use, also another township's.
			if _, err := tx.ExecContext(ctx, `
				UPDATE townships SET aibot_chat_id = NULL, updated_at = now() WHERE aibot_chat_id = $2 AND name <> $1`,
				t.Name, t.Chat.AIBotChat); err != nil {
				return fmt.Errorf("township %s: chat: %w", t.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `
				UPDATE townships SET aibot_chat_id = $2, updated_at = now() WHERE name = $1 AND aibot_chat_id IS DISTINCT FROM $2`,
				t.Name, t.Chat.AIBotChat); err != nil {
				return fmt.Errorf("township %s: chat: %w", t.Name, err)
			}
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
				token_sha256 = `+keptToken+`, updated_at = now()
			WHERE (departments.categories, departments.token_sha256)
				IS DISTINCT FROM (EXCLUDED.categories, `+keptToken+`)`,
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
				township_id = EXCLUDED.township_id, department_id = EXCLUDED.department_id, villages = EXCLUDED.villages,
				former_role = '', deactivated_at = NULL, updated_at = now()
			WHERE (users.name, users.role, users.township_id, users.department_id, users.villages)
				IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.role, EXCLUDED.township_id, EXCLUDED.department_id, EXCLUDED.villages)`,
			u.UserID, u.Name, string(u.Role), township, dept, pq.Array(u.CadreVillages()))
		if err != nil {
			return fmt.Errorf("user %s: %w", u.UserID, err)
		}
		ids = append(ids, u.UserID)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE users SET former_role = role, role = 'former', deactivated_at = now(), updated_at = now()
		WHERE role <> 'former' AND NOT (userid = ANY($1))`, pq.Array(ids)); err != nil {
		return fmt.Errorf("deactivate users who left: %w", err)
	}
	if o.County != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO county (name) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, o.County); err != nil {
			return fmt.Errorf("county: %w", err)
		}
	}
	return refuseStrandedCases(ctx, tx)
}

// renameTownship gives a township's former rows its new name before the upsert: the first
// former township (or the one already under the new name) keeps its row; the others are
// merged into it, their cases, registry, warnings, users and reminders moved over.
func renameTownship(ctx context.Context, tx *sqlx.Tx, t cases.OrgTownship) error {
	if len(t.Formerly) == 0 {
		return nil
	}
	var rows []struct {
		ID   int    `db:"id"`
		Name string `db:"name"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT id, name FROM townships WHERE name = $1 OR name = ANY($2)
		ORDER BY name <> $1, array_position($2, name)`, t.Name, pq.Array(t.Formerly))
	if err != nil {
		return fmt.Errorf("former townships of %s: %w", t.Name, err)
	}
	if len(rows) == 0 {
		return nil
	}
	keep := rows[0]
	if keep.Name != t.Name {
		if _, err := tx.ExecContext(ctx, `UPDATE townships SET name = $2, updated_at = now() WHERE id = $1`, keep.ID, t.Name); err != nil {
			return fmt.Errorf("rename township %s to %s: %w", keep.Name, t.Name, err)
		}
		if err := retargetGroup(ctx, tx, keep.Name, t.Name); err != nil {
			return err
		}
	}
	for _, old := range rows[1:] {
		// Every table that names a township (the migrations' REFERENCES townships).
		for _, table := range []string{"cases", "registry_households", "registry_members", "registry_history", "warnings", "users", "reminders"} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET township_id = $2 WHERE township_id = $1`, old.ID, keep.ID); err != nil {
				return fmt.Errorf("merge township %s into %s (%s): %w", old.Name, t.Name, table, err)
			}
		}
		if err := retargetGroup(ctx, tx, old.Name, t.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM townships WHERE id = $1`, old.ID); err != nil {
			return fmt.Errorf("merge township %s into %s: %w", old.Name, t.Name, err)
		}
	}
	return nil
}

// retargetGroup points pending reminders of a township's group at its new name, under the
// keys cases.Retarget gives them. A reminder whose new key is already planned under the new
// name (a month-end or a digest) is cancelled instead, so the group is not reminded twice.
func retargetGroup(ctx context.Context, tx *sqlx.Tx, from, to string) error {
	var rows []struct {
		ID    int64     `db:"id"`
		Key   string    `db:"key"`
		Kind  string    `db:"kind"`
		DueAt time.Time `db:"due_at"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, key, kind, due_at FROM reminders WHERE target = $1 AND state = 'pending' ORDER BY id`,
		cases.TargetGroup(from)); err != nil {
		return fmt.Errorf("reminders of %s: %w", from, err)
	}
	for _, r := range rows {
		target, key := cases.Retarget(cases.StoredReminder{ID: r.ID, Kind: cases.ReminderKind(r.Kind), Target: cases.TargetGroup(from), DueAt: r.DueAt}, r.Key, to)
		res, err := tx.ExecContext(ctx, `UPDATE reminders SET target = $2, key = $3 WHERE id = $1
			AND NOT EXISTS (SELECT 1 FROM reminders o WHERE o.key = $3 AND o.id <> $1)`, r.ID, target, key)
		if err != nil {
			return fmt.Errorf("reminder %d of %s: %w", r.ID, from, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("reminder %d of %s: %w", r.ID, from, err)
		} else if n == 1 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reminders SET state = 'cancelled', note = $2 WHERE id = $1`, r.ID, "乡镇已更名或合并为"+to); err != nil {
			return fmt.Errorf("reminder %d of %s: %w", r.ID, from, err)
		}
	}
	return nil
}

// refuseStrandedCases refuses an org that leaves open cases in a township with no cadres.
func refuseStrandedCases(ctx context.Context, tx *sqlx.Tx) error {
	var rows []struct {
		Township string         `db:"name"`
		Nos      pq.StringArray `db:"nos"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT t.name, array_agg(c.case_no ORDER BY c.case_no) AS nos
		FROM cases c JOIN townships t ON t.id = c.township_id
		WHERE c.status <> 'closed'
			AND NOT EXISTS (SELECT 1 FROM users u WHERE u.township_id = t.id AND u.role = 'cadre')
		GROUP BY t.id, t.name ORDER BY t.id`)
	if err != nil {
		return fmt.Errorf("open cases without cadres: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprintf("• %s：%d 件未办结（%s）", r.Township, len(r.Nos), cases.ListNos(r.Nos))
	}
	return cases.Errorf(cases.EConflict, "组织文件没有应用：以下乡镇还有未办结的案件，但文件里已没有它的乡村干部：\n%s\n"+
		"如果乡镇改了名或被合并，请在新乡镇下写 formerly: [旧名称]；否则请为这些乡镇保留至少一名乡村干部。",
		strings.Join(lines, "\n"))
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
	err := db.getPrepared(ctx, &a, `
		SELECT u.userid, u.name, u.role, t.name AS township, d.name AS department
		FROM users u LEFT JOIN townships t ON t.id = u.township_id LEFT JOIN departments d ON d.id = u.department_id
		WHERE u.userid = $1`, userid)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Actor{}, cases.Errorf(cases.ENotFound, "您好，系统里还没有您的账号，请联系县扶贫办把您加入名单。")
	}
	if err != nil {
		return cases.Actor{}, fmt.Errorf("look up user %s: %w", userid, err)
	}
	if a.Role == roleFormer {
		return cases.Actor{}, cases.Errorf(cases.EForbidden, "您好，%s，您的账号已不在当前的组织名单中，暂时不能使用防返贫预警助手。如仍负责相关工作，请联系县扶贫办把您重新加入名单。", a.Name)
	}
	return cases.Actor{UserID: a.UserID, Name: a.Name, Role: cases.Role(a.Role),
		Township: a.Township.String, Department: a.Department.String}, nil
}

// roleFormer is the role of a user who left the org file (deactivated, kept for history).
const roleFormer = "former"

// townshipRow is a townships row as sqlx scans it.
type townshipRow struct {
	ID         int            `db:"id"`
	Name       string         `db:"name"`
	Aliases    pq.StringArray `db:"aliases"`
	Formerly   pq.StringArray `db:"formerly"`
	AppChatID  string         `db:"appchat_id"`
	WebhookKey string         `db:"webhook_key"`
}

func (r townshipRow) township() cases.Township {
	return cases.Township{ID: r.ID, Name: r.Name, Aliases: r.Aliases, Formerly: r.Formerly, AppChatID: r.AppChatID, WebhookKey: r.WebhookKey}
}

// Townships lists every township by name.
func (db *DB) Townships(ctx context.Context) ([]cases.Township, error) {
	var rows []townshipRow
	err := db.SelectContext(ctx, &rows, `SELECT id, name, aliases, formerly, appchat_id, webhook_key FROM townships ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list townships: %w", err)
	}
	ts := make([]cases.Township, len(rows))
	for i, r := range rows {
		ts[i] = r.township()
	}
	return ts, nil
}

// TownshipIndex maps every township name, alias and former name to the township's id.
func (db *DB) TownshipIndex(ctx context.Context) (map[string]int, error) {
	ts, err := db.Townships(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]int, len(ts)*2)
	for _, t := range ts {
		m[t.Name] = t.ID
		for _, a := range t.Formerly {
			if _, taken := m[a]; !taken {
				m[a] = t.ID
			}
		}
		for _, a := range t.Aliases {
			m[a] = t.ID
		}
	}
	return m, nil
}

// UsersOf lists the userids with role in a township (cadres) or department (liaisons);
// an empty scope lists everyone with the role.
func (db *DB) UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error) {
	return usersOf(ctx, db.DB, role, township, department)
}

func usersOf(ctx context.Context, q sqlx.QueryerContext, role cases.Role, township, department string) ([]string, error) {
	var ids []string
	err := sqlx.SelectContext(ctx, q, &ids, `
		SELECT u.userid FROM users u
		LEFT JOIN townships t ON t.id = u.township_id LEFT JOIN departments d ON d.id = u.department_id
		WHERE u.role = $1 AND ($2 = '' OR t.name = $2) AND ($3 = '' OR d.name = $3)
		ORDER BY u.userid`, string(role), township, department)
	if err != nil {
		return nil, fmt.Errorf("list %s users: %w", role, err)
	}
	return ids, nil
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

// keptToken is the token hash an org apply leaves a department: the file's, unless the file
// names a revoked token or none while a token issued in chat (令牌) is in force — a YAML file
// kept from before must not bring back a revoked token (docs/office.md).
const keptToken = `CASE WHEN EXCLUDED.token_sha256 IN (SELECT sha256 FROM revoked_tokens)
		OR (EXCLUDED.token_sha256 = '' AND departments.token_issued_at IS NOT NULL)
	THEN departments.token_sha256 ELSE EXCLUDED.token_sha256 END`
