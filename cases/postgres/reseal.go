package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases/seal"
)

// Keys rotation and the sealing of an upgraded database (docs/encryption.md): every sealed
// column re-sealed under the current key, and values stored in plain before encryption
// sealed (ID numbers replaced by their hash), a batch of rows at a time, each batch its own
// transaction, so that a run stopped half-way is simply run again.

// ResealBatch is how many rows one transaction rewrites.
const ResealBatch = 1000

// Resealed is one table's part of a run.
type Resealed struct {
	Table     string `json:"table"`
	Rewritten int    `json:"rewritten"`
	Left      int    `json:"left"`
}

// resealer rewrites one table: pending selects (after key $3, at most $4 rows) the rows
// that need work, ordered by their key; fix rewrites one in place; update writes a batch.
type resealer struct {
	table   string
	pending string // rows needing work; $1 key prefix "fp1.<current>.", $2 its length, $3 after, $4 limit
	count   string // how many rows need work (same $1, $2)
	rewrite func(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (last string, n int, err error)
	setup   string // run first in each batch's transaction, if set
}

// stale is the condition that column c holds a value not sealed under the current key.
func stale(c string) string { return "(" + c + " <> '' AND left(" + c + ", $2) <> $1)" }

// plainID is the condition that key column c holds a number, not its hash.
func plainID(c string) string { return "(" + c + " <> '' AND length(" + c + ") <> 64)" }

// Reseal re-seals every sealed column under the current key and seals what is plain, at
// most maxBatches batches in all (0: no limit); it reports per table what it rewrote and
// what is left.
func (db *DB) Reseal(ctx context.Context, maxBatches int) ([]Resealed, error) {
	return db.reseal(ctx, "fp1."+db.Keys.Current()+".", maxBatches)
}

// reseal rewrites the rows with a value that does not start with prefix: "fp1.<key>." for
// a rotation, "fp1." for the plain values alone.
func (db *DB) reseal(ctx context.Context, prefix string, maxBatches int) ([]Resealed, error) {
	k := db.Keys
	batches := 0
	var out []Resealed
	for _, r := range resealers() {
		res := Resealed{Table: r.table}
		after := ""
		for maxBatches == 0 || batches < maxBatches {
			var n int
			err := db.InTx(ctx, func(tx *sqlx.Tx) error {
				if r.setup != "" {
					if _, err := tx.ExecContext(ctx, r.setup); err != nil {
						return err
					}
				}
				rows, err := tx.QueryxContext(ctx, r.pending, prefix, len(prefix), after, ResealBatch)
				if err != nil {
					return err
				}
				defer rows.Close()
				last, m, err := r.rewrite(ctx, tx, k, rows)
				if err != nil {
					return err
				}
				after, n = last, m
				return nil
			})
			if err != nil {
				return out, fmt.Errorf("keys rotate: %s: %w", r.table, err)
			}
			batches++
			res.Rewritten += n
			if n < ResealBatch {
				break
			}
		}
		if err := db.GetContext(ctx, &res.Left, r.count, prefix, len(prefix)); err != nil {
			return out, fmt.Errorf("keys rotate: %s: %w", r.table, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// SealPending seals what an older version stored in plain, to the end, once: it runs on
// every start, and after a run that left nothing plain (recorded in the sealing table,
// migration 00931) it only reads that row, since nothing writes plain values any more.
// Values sealed under an older key are left to keys rotate, so that a start after a new key
// was added stays quick.
func (db *DB) SealPending(ctx context.Context) ([]Resealed, error) {
	var done bool
	if err := db.GetContext(ctx, &done, `SELECT plain_sealed_at IS NOT NULL FROM sealing`); err != nil {
		return nil, fmt.Errorf("seal stored values: %w", err)
	}
	if done {
		return nil, nil
	}
	res, err := db.SealPlain(ctx)
	if err != nil {
		return res, err
	}
	for _, r := range res {
		if r.Left > 0 {
			return res, nil
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE sealing SET plain_sealed_at = now()`); err != nil {
		return res, fmt.Errorf("seal stored values: %w", err)
	}
	return res, nil
}

// SealPlain seals every value stored in plain, whatever the sealing table says (tests that
// write rows of their own in plain use it).
func (db *DB) SealPlain(ctx context.Context) ([]Resealed, error) { return db.reseal(ctx, "fp1.", 0) }

func resealers() []resealer {
	warningsWhere := plainID("id_number") + " OR " + plainID("head_id_number") + " OR " + stale("id_sealed") +
		" OR " + stale("name") + " OR " + stale("detail")
	casesWhere := plainID("head_id_number") + " OR " + stale("head_id_sealed") + " OR " + stale("head_name") +
		" OR (household_key LIKE 'head:%' AND length(household_key) <> 69)"
	membersWhere := plainID("id_number") + " OR " + stale("id_sealed") + " OR " + stale("name")
	eventsWhere := `jsonb_typeof(detail) = 'string' AND left(detail #>> '{}', $2) <> $1`
	outboxWhere := `(payload ? 'sealed' AND left(payload ->> 'sealed', $2) <> $1)
		OR (length(attachment) > 0 AND substring(attachment from 1 for $2) <> convert_to($1, 'UTF8'))
		OR (state = 'sent' AND (payload ? 'body' OR payload ? 'sealed') AND NOT starts_with(idem_key, '` + bot.SecretKeyPrefix + `'))`
	inboxWhere := `payload IS NOT NULL AND (jsonb_typeof(payload) <> 'string' OR left(payload #>> '{}', $2) <> $1)`
	heldWhere := `length(data) > 0 AND substring(data from 1 for $2) <> convert_to($1, 'UTF8')`
	return []resealer{
		{
			table: "warnings",
			pending: `SELECT id::text AS key, id_number, id_sealed, name, head_id_number, detail FROM warnings
				WHERE (` + warningsWhere + `) AND ($3 = '' OR id > $3::bigint) ORDER BY id LIMIT $4`,
			count:   `SELECT count(*) FROM warnings WHERE ` + warningsWhere,
			rewrite: resealWarnings,
		},
		{
			table: "cases",
			pending: `SELECT id::text AS key, head_id_number, head_id_sealed, head_name, household_key FROM cases
				WHERE (` + casesWhere + `) AND ($3 = '' OR id > $3::bigint) ORDER BY id LIMIT $4`,
			count:   `SELECT count(*) FROM cases WHERE ` + casesWhere,
			rewrite: resealCases,
		},
		{
			table: "registry_members",
			pending: `SELECT id_number AS key, id_sealed, name FROM registry_members
				WHERE (` + membersWhere + `) AND ($3 = '' OR id_number > $3) ORDER BY id_number LIMIT $4`,
			count:   `SELECT count(*) FROM registry_members WHERE ` + membersWhere,
			rewrite: resealMembers,
		},
		{
			table: "registry_households",
			pending: `SELECT household_no AS key, head_id_number FROM registry_households
				WHERE ` + plainID("head_id_number") + ` AND $1::text <> '' AND $2::int > 0
					AND ($3 = '' OR household_no > $3) ORDER BY household_no LIMIT $4`,
			count: `SELECT count(*) FROM registry_households WHERE ` + plainID("head_id_number") + ` AND $1::text <> '' AND $2::int > 0`,
			rewrite: resealHashes(`UPDATE registry_households h SET head_id_number = u.hash
				FROM unnest($1::text[], $2::text[]) AS u(key, hash) WHERE h.household_no = u.key`),
		},
		{
			table: "registry_history",
			// append-only; this transaction may replace a plain number by its hash (00950)
			setup: `SET LOCAL fangpin.reseal = 'on'`,
			pending: `SELECT id::text AS key, id_number FROM registry_history
				WHERE ` + plainID("id_number") + ` AND $1::text <> '' AND $2::int > 0
					AND ($3 = '' OR id > $3::bigint) ORDER BY id LIMIT $4`,
			count: `SELECT count(*) FROM registry_history WHERE ` + plainID("id_number") + ` AND $1::text <> '' AND $2::int > 0`,
			rewrite: resealHashes(`UPDATE registry_history h SET id_number = u.hash,
					detail = CASE WHEN h.detail ? 'id_number' THEN jsonb_set(h.detail, '{id_number}', to_jsonb(u.hash)) ELSE h.detail END
				FROM unnest($1::text[], $2::text[]) AS u(key, hash) WHERE h.id = u.key::bigint`),
		},
		textResealer("cases", "reason"),
		textResealer("department_tasks", "measure"),
		textResealer("department_tasks", "note"),
		textResealer("spot_checks", "note"),
		textResealer("area_sweeps", "note"),
		{
			table: "case_events",
			// the audit trail is append-only; this transaction may re-seal details (migration 00930)
			setup: `SET LOCAL fangpin.reseal = 'on'`,
			pending: `SELECT id::text AS key, detail FROM case_events
				WHERE (` + eventsWhere + `) AND ($3 = '' OR id > $3::bigint) ORDER BY id LIMIT $4`,
			count:   `SELECT count(*) FROM case_events WHERE ` + eventsWhere,
			rewrite: resealEvents,
		},
		{
			table: "outbox",
			// a sealed body (pgqueue) under an old key; a delivered message's body is dropped
			pending: `SELECT id::text AS key, payload::text AS payload, attachment FROM outbox
				WHERE (` + outboxWhere + `) AND ($3 = '' OR id > $3::bigint) ORDER BY id LIMIT $4`,
			count:   `SELECT count(*) FROM outbox WHERE ` + outboxWhere,
			rewrite: resealOutbox,
		},
		{
			table: "inbox",
			pending: `SELECT key, payload::text AS payload FROM inbox
				WHERE (` + inboxWhere + `) AND ($3 = '' OR key > $3) ORDER BY key LIMIT $4`,
			count:   `SELECT count(*) FROM inbox WHERE ` + inboxWhere,
			rewrite: resealInbox,
		},
		{
			table: "held_files",
			pending: `SELECT id AS key, data FROM held_files
				WHERE (` + heldWhere + `) AND ($3 = '' OR id > $3) ORDER BY id LIMIT $4`,
			count:   `SELECT count(*) FROM held_files WHERE ` + heldWhere,
			rewrite: resealHeld,
		},
	}
}

// textResealer seals a column of typed text (sealText) under the current key: table's rows
// are keyed by id, area_sweeps' by case_id.
func textResealer(table, column string) resealer {
	id := "id"
	if table == "area_sweeps" {
		id = "case_id"
	}
	where := stale(column)
	return resealer{
		table: table + "." + column,
		pending: `SELECT ` + id + `::text AS key, ` + column + ` AS v FROM ` + table + `
			WHERE ` + where + ` AND ($3 = '' OR ` + id + ` > $3::bigint) ORDER BY ` + id + ` LIMIT $4`,
		count: `SELECT count(*) FROM ` + table + ` WHERE ` + where,
		rewrite: func(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
			var keys, vs []string
			for rows.Next() {
				var key, v string
				if err := rows.Scan(&key, &v); err != nil {
					return "", 0, err
				}
				sealed, err := reseal(k, v)
				if err != nil {
					return "", 0, openErr(table+"."+column, err)
				}
				keys, vs = append(keys, key), append(vs, sealed)
			}
			if err := rows.Err(); err != nil || len(keys) == 0 {
				return "", 0, err
			}
			rows.Close()
			_, err := tx.ExecContext(ctx, `UPDATE `+table+` t SET `+column+` = u.v
				FROM unnest($1::bigint[], $2::text[]) AS u(key, v) WHERE t.`+id+` = u.key`, pq.Array(keys), pq.Array(vs))
			return keys[len(keys)-1], len(keys), err
		},
	}
}

// reseal opens a stored value and seals it under the current key.
func reseal(k *seal.Keyring, s string) (string, error) {
	p, err := k.Open(s)
	if err != nil {
		return "", err
	}
	return k.Seal(p), nil
}

func resealWarnings(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var ids []string
	var idNos, sealed, names, heads, details []string
	for rows.Next() {
		var w struct {
			Key    string `db:"key"`
			ID     string `db:"id_number"`
			Sealed string `db:"id_sealed"`
			Name   string `db:"name"`
			Head   string `db:"head_id_number"`
			Detail string `db:"detail"`
		}
		if err := rows.StructScan(&w); err != nil {
			return "", 0, err
		}
		plain, err := openID(k, w.Sealed, w.ID)
		if err != nil {
			return "", 0, err
		}
		detail, err := k.Open(w.Detail)
		if err != nil {
			return "", 0, openErr("预警明细", err)
		}
		if w.Head != "" && !isIDHash(w.Head) {
			// the head's number moves into the sealed detail, its column keeps the hash
			detail = string(withHead(nil, []byte(detail), w.Head))
			w.Head = k.IDHash(w.Head)
		}
		name, err := reseal(k, w.Name)
		if err != nil {
			return "", 0, openErr("姓名", err)
		}
		hash := w.ID
		if plain != "" {
			hash, w.Sealed = k.IDHash(plain), k.Seal(plain)
		}
		ids = append(ids, w.Key)
		idNos, sealed, names, heads, details = append(idNos, hash), append(sealed, w.Sealed), append(names, name),
			append(heads, w.Head), append(details, k.Seal(detail))
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return "", 0, err
	}
	rows.Close()
	_, err := tx.ExecContext(ctx, `
		UPDATE warnings w SET id_number = u.id_number, id_sealed = u.id_sealed, name = u.name,
			head_id_number = u.head, detail = u.detail
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
			AS u(id, id_number, id_sealed, name, head, detail)
		WHERE w.id = u.id`, pq.Array(ids), pq.Array(idNos), pq.Array(sealed), pq.Array(names), pq.Array(heads), pq.Array(details))
	return ids[len(ids)-1], len(ids), err
}

func resealCases(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var ids, heads, sealed, names, keys []string
	for rows.Next() {
		var c struct {
			Key    string `db:"key"`
			Head   string `db:"head_id_number"`
			Sealed string `db:"head_id_sealed"`
			Name   string `db:"head_name"`
			HHKey  string `db:"household_key"`
		}
		if err := rows.StructScan(&c); err != nil {
			return "", 0, err
		}
		plain, err := openID(k, c.Sealed, c.Head)
		if err != nil {
			return "", 0, err
		}
		if plain != "" {
			c.Head, c.Sealed = k.IDHash(plain), k.Seal(plain)
		}
		name, err := reseal(k, c.Name)
		if err != nil {
			return "", 0, openErr("户主姓名", err)
		}
		if len(c.HHKey) > 5 && c.HHKey[:5] == "head:" && !isIDHash(c.HHKey[5:]) {
			c.HHKey = "head:" + k.IDHash(c.HHKey[5:])
		}
		ids = append(ids, c.Key)
		heads, sealed, names, keys = append(heads, c.Head), append(sealed, c.Sealed), append(names, name), append(keys, c.HHKey)
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return "", 0, err
	}
	rows.Close()
	_, err := tx.ExecContext(ctx, `
		UPDATE cases c SET head_id_number = u.head, head_id_sealed = u.sealed, head_name = u.name, household_key = u.key
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, head, sealed, name, key)
		WHERE c.id = u.id`, pq.Array(ids), pq.Array(heads), pq.Array(sealed), pq.Array(names), pq.Array(keys))
	return ids[len(ids)-1], len(ids), err
}

func resealEvents(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var ids, details []string
	for rows.Next() {
		var key string
		var raw []byte
		if err := rows.Scan(&key, &raw); err != nil {
			return "", 0, err
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", 0, fmt.Errorf("event detail: %w", err)
		}
		s, err := reseal(k, s)
		if err != nil {
			return "", 0, openErr("办理记录", err)
		}
		b, _ := json.Marshal(s)
		ids, details = append(ids, key), append(details, string(b))
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return "", 0, err
	}
	rows.Close()
	_, err := tx.ExecContext(ctx, `
		UPDATE case_events e SET detail = u.detail::jsonb
		FROM unnest($1::bigint[], $2::text[]) AS u(id, detail) WHERE e.id = u.id`, pq.Array(ids), pq.Array(details))
	return ids[len(ids)-1], len(ids), err
}

func resealMembers(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var keys, ids, sealed, names []string
	for rows.Next() {
		var m struct {
			Key    string `db:"key"`
			Sealed string `db:"id_sealed"`
			Name   string `db:"name"`
		}
		if err := rows.StructScan(&m); err != nil {
			return "", 0, err
		}
		plain, err := openID(k, m.Sealed, m.Key)
		if err != nil {
			return "", 0, err
		}
		name, err := reseal(k, m.Name)
		if err != nil {
			return "", 0, openErr("名册中的姓名", err)
		}
		keys, ids, sealed, names = append(keys, m.Key), append(ids, k.IDHash(plain)), append(sealed, k.Seal(plain)), append(names, name)
	}
	if err := rows.Err(); err != nil || len(keys) == 0 {
		return "", 0, err
	}
	rows.Close()
	_, err := tx.ExecContext(ctx, `
		UPDATE registry_members m SET id_number = u.id, id_sealed = u.sealed, name = u.name
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(key, id, sealed, name)
		WHERE m.id_number = u.key`, pq.Array(keys), pq.Array(ids), pq.Array(sealed), pq.Array(names))
	return keys[len(keys)-1], len(keys), err
}

// resealHashes replaces the plain ID numbers a table stored before encryption by their hash:
// the rows come as (key, number), update sets them from $1 keys and $2 hashes. The
// households' heads; the history's members, in the column and in the detail naming them.
func resealHashes(update string) func(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	return func(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
		var keys, hashes []string
		for rows.Next() {
			var key, id string
			if err := rows.Scan(&key, &id); err != nil {
				return "", 0, err
			}
			keys, hashes = append(keys, key), append(hashes, k.IDHash(id))
		}
		if err := rows.Err(); err != nil || len(keys) == 0 {
			return "", 0, err
		}
		rows.Close()
		_, err := tx.ExecContext(ctx, update, pq.Array(keys), pq.Array(hashes))
		return keys[len(keys)-1], len(keys), err
	}
}

func resealOutbox(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var ids, payloads []string
	var files [][]byte
	for rows.Next() {
		var key, raw string
		var file []byte
		if err := rows.Scan(&key, &raw, &file); err != nil {
			return "", 0, err
		}
		var p map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return "", 0, fmt.Errorf("outbox %s: %w", key, err)
		}
		if s, ok := p["sealed"]; ok {
			var v string
			json.Unmarshal(s, &v)
			v, err := reseal(k, v)
			if err != nil {
				return "", 0, openErr("消息内容", err)
			}
			p["sealed"], _ = json.Marshal(v)
		} else if b, ok := p["body"]; ok {
			p["sealed"], _ = json.Marshal(k.Seal(string(b)))
			delete(p, "body")
		}
		plainFile, err := k.OpenBytes(file)
		if err != nil {
			return "", 0, openErr("附件", err)
		}
		b, _ := json.Marshal(p)
		ids, payloads, files = append(ids, key), append(payloads, string(b)), append(files, k.SealBytes(plainFile))
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return "", 0, err
	}
	rows.Close()
	// a delivered message keeps only its kind (pgqueue's forgetBody)
	_, err := tx.ExecContext(ctx, `
		UPDATE outbox o SET payload = CASE WHEN o.state = 'sent' THEN u.payload::jsonb - 'sealed' ELSE u.payload::jsonb END,
			attachment = CASE WHEN o.state = 'pending' THEN NULLIF(u.file, ''::bytea) END
		FROM unnest($1::bigint[], $2::text[], $3::bytea[]) AS u(id, payload, file) WHERE o.id = u.id`,
		pq.Array(ids), pq.Array(payloads), pq.ByteaArray(files))
	return ids[len(ids)-1], len(ids), err
}

func resealInbox(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var keys, payloads []string
	for rows.Next() {
		var key, raw string
		if err := rows.Scan(&key, &raw); err != nil {
			return "", 0, err
		}
		plain := raw
		var s string
		if json.Unmarshal([]byte(raw), &s) == nil {
			var err error
			if plain, err = k.Open(s); err != nil {
				return "", 0, openErr("回调消息", err)
			}
		}
		b, _ := json.Marshal(k.Seal(plain))
		keys, payloads = append(keys, key), append(payloads, string(b))
	}
	if err := rows.Err(); err != nil || len(keys) == 0 {
		return "", 0, err
	}
	rows.Close()
	_, err := tx.ExecContext(ctx, `
		UPDATE inbox i SET payload = CASE WHEN i.state = 'pending' THEN u.payload::jsonb END
		FROM unnest($1::text[], $2::text[]) AS u(key, payload) WHERE i.key = u.key`, pq.Array(keys), pq.Array(payloads))
	return keys[len(keys)-1], len(keys), err
}

func resealHeld(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, rows *sqlx.Rows) (string, int, error) {
	var keys []string
	var data [][]byte
	for rows.Next() {
		var key string
		var d []byte
		if err := rows.Scan(&key, &d); err != nil {
			return "", 0, err
		}
		plain, err := k.OpenBytes(d)
		if err != nil {
			return "", 0, openErr("暂存的文件", err)
		}
		keys, data = append(keys, key), append(data, k.SealBytes(plain))
	}
	if err := rows.Err(); err != nil || len(keys) == 0 {
		return "", 0, err
	}
	rows.Close()
	_, err := tx.ExecContext(ctx, `UPDATE held_files h SET data = u.data FROM unnest($1::text[], $2::bytea[]) AS u(key, data)
		WHERE h.id = u.key`, pq.Array(keys), pq.ByteaArray(data))
	return keys[len(keys)-1], len(keys), err
}
