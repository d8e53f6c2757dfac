// Package pgqueue is the bot's storage on PostgreSQL: the inbox of callbacks, the outbox of
// messages and the sent cards' response codes (tables inbox, outbox, sent_cards). Every SQL
// statement of the bot lives here; package bot keeps the transport, the crypto, parsing,
// pacing and the workers, and reaches the tables through the interfaces it declares
// (bot.InboxStore, bot.OutboxStore, bot.QueueStats), which Store implements.
package pgqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/bot"
)

// Store is the bot's tables on a connection pool.
type Store struct {
	DB *sqlx.DB
	// Keys opens the bodies and callbacks the queues keep sealed and seals callbacks
	// (docs/encryption.md); nil keeps them plain.
	Keys Sealer

	// The statements run for every callback are prepared once per connection: unprepared,
	// lib/pq spends a round trip to the server on parsing each before running it, and
	// under load each round trip waits for the server process to be scheduled.
	stmts sync.Map // query text → *sqlx.Stmt
}

// prepared returns query prepared on the pool (database/sql prepares it again on each
// connection it runs on, once).
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.DB.PreparexContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if old, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return old.(*sqlx.Stmt), nil
	}
	return st, nil
}

// New returns the store on db.
func New(db *sqlx.DB) *Store { return &Store{DB: db} }

var (
	_ bot.InboxStore  = (*Store)(nil)
	_ bot.OutboxStore = (*Store)(nil)
	_ bot.QueueStats  = (*Store)(nil)
)

// Enqueue puts messages into the outbox. A key already queued is ignored, so retrying a
// whole operation never sends twice. Run it on the transaction of the change it reports.
func Enqueue(ctx context.Context, q sqlx.ExecerContext, msgs ...bot.Outgoing) error {
	return enqueue(ctx, q, nil, nil, msgs)
}

// EnqueueSealed is Enqueue with the messages' bodies and attachments sealed by k
// (docs/encryption.md): the worker's Store opens them with the same keys.
func EnqueueSealed(ctx context.Context, q sqlx.ExecerContext, k Sealer, msgs ...bot.Outgoing) error {
	return enqueue(ctx, q, nil, k, msgs)
}

// enqueueOne inserts one message. Two equal messages need nothing more: the worker marks
// each part of a private text with its row's id (bot.partMark).
const enqueueOne = `
	INSERT INTO outbox (idem_key, channel, target, payload, attachment) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (idem_key) DO NOTHING`

// outboxPayload checks that m can be queued and gives the payload stored for it.
func outboxPayload(m bot.Outgoing) ([]byte, error) {
	if m.Key == "" || m.Channel == "" || m.Target == "" || m.MsgType == "" {
		return nil, fmt.Errorf("enqueue: message needs key, channel, target and msgtype (key %q)", m.Key)
	}
	if (m.MsgType == "file" || m.MsgType == "image") && len(m.File) == 0 {
		return nil, fmt.Errorf("enqueue %s: %s message without content", m.Key, m.MsgType)
	}
	payload, err := json.Marshal(struct {
		MsgType string          `json:"msgtype"`
		Body    json.RawMessage `json:"body"`
		Group   bool            `json:"group,omitempty"`
	}{m.MsgType, m.Body, m.Group})
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", m.Key, err)
	}
	return payload, nil
}

// enqueue runs Enqueue, through insert when it is prepared (on a pool); many messages go
// in one statement (enqueueBatch).
func enqueue(ctx context.Context, q sqlx.ExecerContext, insert *sqlx.Stmt, k Sealer, msgs []bot.Outgoing) error {
	if len(msgs) > 1 {
		return enqueueBatch(ctx, q, k, msgs)
	}
	for _, m := range msgs {
		payload, err := outboxPayload(m)
		if err != nil {
			return err
		}
		payload, file, err := sealMessage(k, payload, m.File)
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
		args := []any{m.Key, string(m.Channel), m.Target, payload, nullBytes(file)}
		if insert != nil {
			_, err = insert.ExecContext(ctx, args...)
		} else {
			_, err = q.ExecContext(ctx, enqueueOne, args...)
		}
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
		if err := recordQueuedCard(ctx, q, m); err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
	}
	return nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Pending counts the messages queued and not yet sent (nor given up on).
func Pending(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM outbox WHERE state = 'pending'`); err != nil {
		return 0, fmt.Errorf("count pending outbox messages: %w", err)
	}
	return n, nil
}

// Outbox queues messages on a database pool (see Enqueue for transactions).
type Outbox struct {
	DB sqlx.ExecerContext
	// Keys seals the bodies queued (docs/encryption.md); nil queues them plain.
	Keys Sealer

	// A chat command's reply is queued on the pool: prepared once per connection, the
	// insert is neither parsed nor planned again for each (see Store.prepared).
	insert atomic.Pointer[sqlx.Stmt]
}

// Enqueue queues messages; keys already queued are ignored.
func (o *Outbox) Enqueue(ctx context.Context, msgs ...bot.Outgoing) error {
	return enqueue(ctx, o.DB, o.prepared(ctx), o.Keys, msgs)
}

// prepared is the insert prepared on the pool, or nil when DB is not a pool (or the
// statement could not be prepared: the unprepared insert then reports why).
func (o *Outbox) prepared(ctx context.Context) *sqlx.Stmt {
	if st := o.insert.Load(); st != nil {
		return st
	}
	pool, ok := o.DB.(interface {
		PreparexContext(ctx context.Context, query string) (*sqlx.Stmt, error)
		BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error)
	})
	if !ok {
		return nil
	}
	st, err := pool.PreparexContext(ctx, enqueueOne)
	if err != nil {
		return nil
	}
	if !o.insert.CompareAndSwap(nil, st) {
		st.Close()
	}
	return o.insert.Load()
}

// Outbox: the worker's side.

func (s *Store) ClaimOutbox(ctx context.Context, batch int, lease time.Duration) ([]bot.OutboxRow, error) {
	var rows []bot.OutboxRow
	err := s.DB.SelectContext(ctx, &rows, `
		WITH due AS (
			SELECT id FROM outbox
			WHERE state = 'pending' AND next_attempt_at <= now()
			ORDER BY next_attempt_at, id
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		UPDATE outbox o SET attempts = o.attempts + 1,
		       next_attempt_at = now() + make_interval(secs => $2)
		FROM due WHERE o.id = due.id
		RETURNING o.id, o.idem_key, o.channel, o.target, o.payload, o.attempts, o.parts_sent,
		          o.attachment, o.media_id,
		          COALESCE(EXTRACT(EPOCH FROM now() - o.first_lost_at)::float8, -1) AS lost_for`,
		batch, lease.Seconds())
	if err != nil {
		return nil, err
	}
	return rows, openRows(s.Keys, rows)
}

func (s *Store) ReleaseOutbox(ctx context.Context, id int64) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE outbox SET attempts = attempts - 1, next_attempt_at = now() WHERE id = $1 AND state = 'pending'`, id)
	return err
}

// PaceOutbox is bookkeeping (see bookkeep): should a database crash lose it, the row comes
// back when its lease ends and the pacer is asked again. A burst of replies to the same
// few users has most of its rows paced, each once; waiting for the disk for each held up
// the sender and the callbacks' commits alike.
func (s *Store) PaceOutbox(ctx context.Context, id int64, wait time.Duration) error {
	st, err := s.prepared(ctx, paceOutbox)
	if err != nil {
		return err
	}
	return s.bookkeep(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.StmtxContext(ctx, st).ExecContext(ctx, id, wait.Seconds())
		return err
	})
}

const paceOutbox = `UPDATE outbox SET attempts = attempts - 1, next_attempt_at = now() + make_interval(secs => $2) WHERE id = $1`

func (s *Store) RecordPartsSent(ctx context.Context, id int64, parts int) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE outbox SET parts_sent = $2 WHERE id = $1`, id, parts)
	return err
}

// forgetSecret is the payload kept of a message given up on: a secret's text
// (bot.SecretKeyPrefix) is replaced by a note that it was sent; any other stays (sealed) for
// the office's failure report.
const forgetSecret = `CASE WHEN starts_with(idem_key, '` + bot.SecretKeyPrefix + `')
		THEN jsonb_build_object('msgtype', 'text', 'body', jsonb_build_object('content', '（内容已发送，不再保留）'))
		ELSE payload END`

// forgetBody is the payload kept of a delivered message: its kind, not its text, which
// carried people's data (docs/encryption.md). What exactly-once needs — the key, the parts
// sent, the salt, the card's codes in sent_cards — is kept apart from the body.
const forgetBody = `CASE WHEN starts_with(idem_key, '` + bot.SecretKeyPrefix + `')
		THEN jsonb_build_object('msgtype', 'text', 'body', jsonb_build_object('content', '（内容已发送，不再保留）'))
		ELSE payload - 'body' - 'sealed' END`

func (s *Store) MarkOutboxSent(ctx context.Context, id int64, parts int) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE outbox SET state = 'sent', sent_at = now(), parts_sent = $2, last_error = '', attachment = NULL,
		payload = `+forgetBody+` WHERE id = $1`, id, parts)
	return err
}

func (s *Store) RecordLostAnswer(ctx context.Context, id int64) (float64, error) {
	var lostFor float64
	err := s.DB.GetContext(ctx, &lostFor, `
		UPDATE outbox SET lost_answers = lost_answers + 1, first_lost_at = COALESCE(first_lost_at, now())
		WHERE id = $1 RETURNING EXTRACT(EPOCH FROM now() - first_lost_at)::float8`, id)
	return lostFor, err
}

func (s *Store) RescheduleOutbox(ctx context.Context, id int64, d time.Duration, lastErr string, code int64) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3, last_errcode = $4 WHERE id = $1`,
		id, d.Seconds(), lastErr, code)
	return err
}

func (s *Store) FailOutbox(ctx context.Context, id int64, lastErr string, code int64) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE outbox SET state = 'failed', last_error = $2, last_errcode = $3, attachment = NULL,
		payload = `+forgetSecret+` WHERE id = $1`,
		id, lastErr, code)
	return err
}

func (s *Store) RecordUpload(ctx context.Context, id int64, mediaID string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE outbox SET media_id = $2 WHERE id = $1`, id, mediaID)
	return err
}

// FailedSends: the group messages given up on, for the office.

// UnreportedFailures lists up to limit group messages that failed for good and were not
// reported, oldest first.
func UnreportedFailures(ctx context.Context, q sqlx.QueryerContext, k Sealer, limit int) ([]bot.FailedSend, error) {
	var rows []failedRow
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT id, idem_key, channel, target, payload, last_errcode, attempts, first_lost_at IS NOT NULL AS lost,
			early_reported_at IS NOT NULL AS warned FROM outbox
		WHERE state = 'failed' AND reported_at IS NULL AND channel IN ('appchat', 'webhook')
		ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list failed group messages: %w", err)
	}
	return failedSends(k, rows), nil
}

// RefusedGroupSends lists up to limit group messages still being retried after WeCom
// refused them for good (bot.RefusedGroupCode) that the office has not been told of yet.
func RefusedGroupSends(ctx context.Context, q sqlx.QueryerContext, k Sealer, limit int) ([]bot.FailedSend, error) {
	var rows []failedRow
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT id, idem_key, channel, target, payload, last_errcode, attempts, false AS lost, false AS warned FROM outbox
		WHERE state = 'pending' AND early_reported_at IS NULL AND last_errcode IN (86003, 93000, 60011)
			AND channel IN ('appchat', 'webhook')
		ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list refused group messages: %w", err)
	}
	out := failedSends(k, rows)
	for i := range out {
		out[i].Pending = true
	}
	return out, nil
}

// MarkWarned records that the office was told at once of a refused group message; run it on
// the transaction that queues the report.
func MarkWarned(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE outbox SET early_reported_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark outbox %d warned: %w", id, err)
	}
	return nil
}

type failedRow struct {
	ID       int64           `db:"id"`
	Key      string          `db:"idem_key"`
	Channel  string          `db:"channel"`
	Target   string          `db:"target"`
	Payload  json.RawMessage `db:"payload"`
	Code     int64           `db:"last_errcode"`
	Attempts int             `db:"attempts"`
	Lost     bool            `db:"lost"`
	Warned   bool            `db:"warned"`
}

func failedSends(k Sealer, rows []failedRow) []bot.FailedSend {
	out := make([]bot.FailedSend, 0, len(rows))
	for _, r := range rows {
		if p, err := openPayload(k, r.Payload); err == nil {
			r.Payload = p
		}
		var p struct {
			MsgType string `json:"msgtype"`
			Body    struct {
				Content string `json:"content"`
			} `json:"body"`
		}
		json.Unmarshal(r.Payload, &p) // a bad payload still gets reported, without text
		out = append(out, bot.FailedSend{ID: r.ID, Key: r.Key, Channel: bot.Channel(r.Channel), Target: r.Target,
			MsgType: p.MsgType, Content: p.Body.Content, Code: r.Code, Attempts: r.Attempts,
			Uncertain: r.Lost, Warned: r.Warned})
	}
	return out
}

// MarkReported records that the office was told of a failed message; run it on the
// transaction that queues the report.
func MarkReported(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE outbox SET reported_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark outbox %d reported: %w", id, err)
	}
	return nil
}

// Sent cards (see bot.CardUpdate): the latest response_code of every card the bot sent, so
// that whoever handles the case later can have the card updated by its task_id alone.

// recordQueuedCard notes a template card as it is queued (task_id taken from its body).
func recordQueuedCard(ctx context.Context, q sqlx.ExecerContext, m bot.Outgoing) error {
	if m.MsgType != "template_card" || m.Channel != bot.ToUsers {
		return nil
	}
	var card struct {
		TaskID string `json:"task_id"`
	}
	if json.Unmarshal(m.Body, &card) != nil || card.TaskID == "" {
		return nil
	}
	for _, u := range bot.SplitUsers(m.Target) {
		// task_id is unique per app and each card goes to one user
		if _, err := q.ExecContext(ctx, `INSERT INTO sent_cards (task_id, userid, subject) VALUES ($1, $2, $3) ON CONFLICT (task_id) DO NOTHING`,
			card.TaskID, u, cardSubject(card.TaskID)); err != nil {
			return fmt.Errorf("record card %s: %w", card.TaskID, err)
		}
	}
	return nil
}

// RecordCardCode keeps a card's newest response_code (message/send's answer or a click's).
func RecordCardCode(ctx context.Context, q sqlx.ExecerContext, taskID, userID, code string) error {
	if taskID == "" || code == "" {
		return nil
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO sent_cards (task_id, userid, response_code, code_at, subject) VALUES ($1, $2, $3, now(), $4)
		ON CONFLICT (task_id) DO UPDATE SET response_code = EXCLUDED.response_code, code_at = now(), used_at = NULL,
			older_code = CASE WHEN sent_cards.used_at IS NULL AND sent_cards.response_code <> '' THEN sent_cards.response_code ELSE sent_cards.older_code END,
			older_at = CASE WHEN sent_cards.used_at IS NULL AND sent_cards.response_code <> '' THEN sent_cards.code_at ELSE sent_cards.older_at END
		WHERE sent_cards.response_code <> EXCLUDED.response_code`, // a repeated callback revives no spent code
		taskID, userID, code, cardSubject(taskID))
	if err != nil {
		return fmt.Errorf("record response_code of card %s: %w", taskID, err)
	}
	return nil
}

func (s *Store) RecordCardCode(ctx context.Context, taskID, userID, code string) error {
	return RecordCardCode(ctx, s.DB, taskID, userID, code)
}

// CardsWithPrefix lists the cards whose task_id is prefix, "_" and a suffix of its own (the
// cards of one case: announce.TaskID puts the case number first).
func CardsWithPrefix(ctx context.Context, q sqlx.QueryerContext, prefix string) ([]bot.SentCard, error) {
	var rows []struct {
		TaskID string `db:"task_id"`
		UserID string `db:"userid"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT task_id, userid FROM sent_cards WHERE subject = $1 AND replaced_by IS NULL ORDER BY created_at, task_id`, prefix)
	if err != nil {
		return nil, fmt.Errorf("cards of %s: %w", prefix, err)
	}
	out := make([]bot.SentCard, len(rows))
	for i, r := range rows {
		out[i] = bot.SentCard{TaskID: r.TaskID, UserID: r.UserID}
	}
	return out, nil
}

// cardSubject is a task_id up to its last "_" ("" when it has none).
func cardSubject(taskID string) string {
	if i := strings.LastIndexByte(taskID, '_'); i > 0 {
		return taskID[:i]
	}
	return ""
}

func (s *Store) TakeCardCode(ctx context.Context, taskID string) (string, error) {
	var r struct {
		Code    string       `db:"response_code"`
		CodeAt  sql.NullTime `db:"code_at"`
		UsedAt  sql.NullTime `db:"used_at"`
		SentAt  sql.NullTime `db:"sent_at"`
		Older   string       `db:"older_code"`
		OlderAt sql.NullTime `db:"older_at"`
	}
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	defer tx.Rollback()
	err = tx.GetContext(ctx, &r, `SELECT response_code, code_at, used_at, sent_at, older_code, older_at FROM sent_cards WHERE task_id = $1 FOR UPDATE`, taskID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", bot.ErrCardNotSent // perhaps queued by a transaction still to commit
	}
	if err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	var code, set string
	switch {
	case r.Code == "" && r.SentAt.Valid && r.Older == "":
		return "", bot.ErrCardCodeLost
	case r.Code == "" && r.Older == "":
		return "", bot.ErrCardNotSent
	case !r.UsedAt.Valid && time.Since(r.CodeAt.Time) < bot.CardCodeLife:
		code, set = r.Code, `used_at = now()`
	case r.Older != "" && time.Since(r.OlderAt.Time) < bot.CardCodeLife:
		code, set = r.Older, `older_code = ''`
	default:
		return "", bot.ErrCardSpent
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sent_cards SET `+set+` WHERE task_id = $1`, taskID); err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("take code of card %s: %w", taskID, err)
	}
	return code, nil
}

// RecordCardSent implements bot.OutboxStore.
func (s *Store) RecordCardSent(ctx context.Context, taskID string) error {
	if _, err := s.DB.ExecContext(ctx, `UPDATE sent_cards SET sent_at = coalesce(sent_at, now()) WHERE task_id = $1`, taskID); err != nil {
		return fmt.Errorf("record card %s sent: %w", taskID, err)
	}
	return nil
}

// ReplaceCard implements bot.OutboxStore.
func (s *Store) ReplaceCard(ctx context.Context, taskID, newTaskID, userID string) error {
	_, err := s.DB.ExecContext(ctx, `
		WITH old AS (UPDATE sent_cards SET replaced_by = $2 WHERE task_id = $1 RETURNING subject)
		INSERT INTO sent_cards (task_id, userid, subject, sent_at)
		SELECT $2, $3, coalesce((SELECT subject FROM old), $4), now()
		ON CONFLICT (task_id) DO UPDATE SET sent_at = coalesce(sent_cards.sent_at, now())`, taskID, newTaskID, userID, cardSubject(taskID))
	if err != nil {
		return fmt.Errorf("replace card %s: %w", taskID, err)
	}
	return nil
}

func (s *Store) GiveCardCodeBack(ctx context.Context, taskID, code string) {
	s.DB.ExecContext(ctx, `
		UPDATE sent_cards SET used_at = CASE WHEN response_code = $2 THEN NULL ELSE used_at END,
			older_code = CASE WHEN response_code = $2 THEN older_code ELSE $2 END
		WHERE task_id = $1`, taskID, code)
}

// Inbox.

// insertInbox records a group of callbacks in one statement (one commit); a key twice in
// the group (DO NOTHING skips the second), or already recorded, is stored once.
const insertInbox = `
	INSERT INTO inbox (key, source, payload, state)
	SELECT k, s, p::jsonb, 'pending' FROM unnest($1::text[], $2::text[], $3::text[]) AS t(k, s, p)
	ON CONFLICT (key) DO NOTHING
	RETURNING key`

func (s *Store) InsertInbox(ctx context.Context, batch []bot.InboxEntry) (map[string]bool, error) {
	keys := make([]string, len(batch))
	sources := make([]string, len(batch))
	payloads := make([]string, len(batch))
	for i, r := range batch {
		keys[i], sources[i], payloads[i] = r.Key, r.Source, sealCallback(s.Keys, r.Payload)
	}
	st, err := s.prepared(ctx, insertInbox)
	if err != nil {
		return nil, fmt.Errorf("inbox: record %d callbacks: %w", len(batch), err)
	}
	rows, err := st.QueryContext(ctx, pq.Array(keys), pq.Array(sources), pq.Array(payloads))
	if err != nil {
		return nil, fmt.Errorf("inbox: record %d callbacks: %w", len(batch), err)
	}
	defer rows.Close()
	fresh := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("inbox: record callbacks: %w", err)
		}
		fresh[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox: record %d callbacks: %w", len(batch), err)
	}
	return fresh, nil
}

// RowRefused: data exceptions (class 22) and integrity violations (class 23).
func (s *Store) RowRefused(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code.Class() == "22" || pe.Code.Class() == "23")
}

func (s *Store) ClaimInbox(ctx context.Context, done []string, n int, lease time.Duration) ([]bot.InboxRow, error) {
	if n <= 0 {
		return nil, s.MarkInboxDone(ctx, done)
	}
	return s.claimInbox(ctx, done, claimInbox, n, lease.Seconds())
}

func (s *Store) ClaimInboxKeys(ctx context.Context, done, keys []string, lease time.Duration) ([]bot.InboxRow, error) {
	if len(keys) == 0 {
		return nil, s.MarkInboxDone(ctx, done)
	}
	return s.claimInbox(ctx, done, claimInboxKeys, pq.Array(keys), lease.Seconds())
}

// claimInbox records the done rows and runs the claim query, in one transaction.
func (s *Store) claimInbox(ctx context.Context, done []string, query string, args ...any) ([]bot.InboxRow, error) {
	mark, err := s.prepared(ctx, markInboxDone)
	if err != nil {
		return nil, fmt.Errorf("claim inbox: %w", err)
	}
	claim, err := s.prepared(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("claim inbox: %w", err)
	}
	var rows []bot.InboxRow
	err = s.bookkeep(ctx, func(tx *sqlx.Tx) error {
		if len(done) > 0 {
			if _, err := tx.StmtxContext(ctx, mark).ExecContext(ctx, pq.Array(done)); err != nil {
				return err
			}
		}
		return tx.StmtxContext(ctx, claim).SelectContext(ctx, &rows, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("claim inbox: %w", err)
	}
	return rows, openCallbacks(s.Keys, rows)
}

// claimInboxKeys leases rows by key: the primary key finds them, where claimInbox's scan
// of the pending rows in received order steps over the dead entries of every row handled
// since the table was last vacuumed (thousands after a burst). Two claims of one key: the
// second waits for the first to commit and then finds the row leased.
const claimInboxKeys = `
	UPDATE inbox SET attempts = attempts + 1, claimed_until = now() + make_interval(secs => $2)
	WHERE key = ANY($1) AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= now())
	RETURNING key, payload, attempts`

const claimInbox = `
	WITH due AS (
		SELECT key FROM inbox
		WHERE state = 'pending' AND (claimed_until IS NULL OR claimed_until <= now())
		ORDER BY received_at
		LIMIT $1
		FOR UPDATE SKIP LOCKED)
	UPDATE inbox i SET attempts = i.attempts + 1, claimed_until = now() + make_interval(secs => $2)
	FROM due WHERE i.key = due.key
	RETURNING i.key, i.payload, i.attempts`

// bookkeep runs the workers' own writes that a crash may lose (the inbox's claims and
// "done" marks, the outbox's pacing) without waiting for the disk (synchronous_commit off
// for this transaction only). Losing one of them in a database crash only repeats a
// message, which at-least-once allows, or asks the pacer again; it keeps these commits
// from competing with the inbox inserts, which must wait for the disk before WeCom gets
// its 200.
func (s *Store) bookkeep(ctx context.Context, f func(tx *sqlx.Tx) error) error {
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) MarkInboxDone(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	st, err := s.prepared(ctx, markInboxDone)
	if err != nil {
		return fmt.Errorf("mark inbox rows done: %w", err)
	}
	err = s.bookkeep(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.StmtxContext(ctx, st).ExecContext(ctx, pq.Array(keys))
		return err
	})
	if err != nil {
		return fmt.Errorf("mark inbox rows done: %w", err)
	}
	return nil
}

// markInboxDone also forgets a handled callback's message (it may carry an ID number typed
// in a chat); the key keeps refusing a repeat.
const markInboxDone = `
	UPDATE inbox SET state = 'done', done_at = now(), claimed_until = NULL, last_error = '', payload = NULL
	WHERE key = ANY($1) AND state = 'pending'`

func (s *Store) FailInbox(ctx context.Context, key, lastErr string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE inbox SET state = 'failed', claimed_until = NULL, last_error = $2 WHERE key = $1 AND state = 'pending'`, key, lastErr)
	return err
}

func (s *Store) RetryInbox(ctx context.Context, key string, d time.Duration, lastErr string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE inbox SET claimed_until = now() + make_interval(secs => $2), last_error = $3 WHERE key = $1 AND state = 'pending'`,
		key, d.Seconds(), lastErr)
	return err
}

// PruneInbox forgets handled (and failed) callbacks older than age. Callbacks older than
// Callback.MaxAge are refused anyway, so keep age above it; pending rows are never pruned.
func PruneInbox(ctx context.Context, db sqlx.ExecerContext, age time.Duration) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM inbox WHERE state <> 'pending' AND received_at < now() - make_interval(secs => $1)`, age.Seconds())
	if err != nil {
		return 0, fmt.Errorf("prune inbox: %w", err)
	}
	return res.RowsAffected()
}

// Metrics.

func (s *Store) OutboxStats(ctx context.Context) (pending, failed int64, oldest float64, err error) {
	var age sql.NullFloat64
	err = s.DB.QueryRowxContext(ctx, `
		SELECT count(*) FILTER (WHERE state = 'pending'),
		       count(*) FILTER (WHERE state = 'failed'),
		       extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending'))::float8
		FROM outbox`).Scan(&pending, &failed, &age)
	return pending, failed, age.Float64, err
}

func (s *Store) InboxStats(ctx context.Context) (pending, failed int64, oldest float64, err error) {
	var age sql.NullFloat64
	err = s.DB.QueryRowxContext(ctx, `
		SELECT (SELECT count(*) FROM inbox WHERE state = 'pending'),
		       (SELECT count(*) FROM inbox WHERE state = 'failed'),
		       (SELECT extract(epoch FROM now() - min(received_at))::float8 FROM inbox WHERE state = 'pending')`).Scan(&pending, &failed, &age)
	return pending, failed, age.Float64, err
}
