package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Channel is where an outgoing message goes.
type Channel string

const (
	ToUsers       Channel = "message"      // message/send; Target: userids joined by "|"
	ToAppChat     Channel = "appchat"      // appchat/send; Target: chatid
	ToWebhook     Channel = "webhook"      // webhook/send; Target: the group robot's key
	ToResponseURL Channel = "response_url" // the AI bot's response_url; Target: the URL
	UpdateCard    Channel = "update_card"  // message/update_template_card; Target: userids
)

// Outgoing is one message to send. Key makes queueing idempotent: the same key is sent
// at most once, however often it is queued.
type Outgoing struct {
	Key     string          `json:"key"`
	Channel Channel         `json:"channel"`
	Target  string          `json:"target"`
	MsgType string          `json:"msgtype"` // text, markdown, template_card, file, textcard
	Body    json.RawMessage `json:"body"`    // the msgtype's object, e.g. {"content":"…"}
	// File is a file message's content (Body: {"filename":"…"}). It is stored with the
	// message in the database, so any instance can send it, and dropped once sent.
	File []byte `json:"-"`
}

// File makes a file message: the worker uploads content under filename and sends it.
func File(filename string, content []byte) (string, json.RawMessage, []byte) {
	b, _ := json.Marshal(map[string]any{"filename": filename})
	return "file", b, content
}

// saltWindow is how far back Enqueue looks for an equal message to the same users:
// WeCom's longest duplicate_check_interval (4 hours).
const saltWindow = 4 * time.Hour

// Text makes a text message; mention lists userids to @ (groups) — "@all" for everyone.
func Text(content string, mention ...string) (string, json.RawMessage) {
	body := map[string]any{"content": content}
	if len(mention) > 0 {
		body["mentioned_list"] = mention
	}
	b, _ := json.Marshal(body)
	return "text", b
}

// Markdown makes a markdown message.
func Markdown(content string) (string, json.RawMessage) {
	b, _ := json.Marshal(map[string]any{"content": content})
	return "markdown", b
}

// Enqueue puts messages into the outbox. A key already queued is ignored, so retrying a
// whole operation never sends twice. Run it on the transaction of the change it reports.
func Enqueue(ctx context.Context, q sqlx.ExecerContext, msgs ...Outgoing) error {
	for _, m := range msgs {
		if m.Key == "" || m.Channel == "" || m.Target == "" || m.MsgType == "" {
			return fmt.Errorf("enqueue: message needs key, channel, target and msgtype (key %q)", m.Key)
		}
		payload, err := json.Marshal(struct {
			MsgType string          `json:"msgtype"`
			Body    json.RawMessage `json:"body"`
		}{m.MsgType, m.Body})
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
		if m.MsgType == "file" && len(m.File) == 0 {
			return fmt.Errorf("enqueue %s: file message without content", m.Key)
		}
		// salt counts the equal messages to the same users queued lately, so that the
		// worker can make this one's body differ from theirs (see Worker.body).
		_, err = q.ExecContext(ctx, `
			INSERT INTO outbox (idem_key, channel, target, payload, attachment, salt)
			SELECT $1, $2, $3, $4, $5,
			       CASE WHEN $2 = 'message' THEN (SELECT count(*) FROM outbox o
			            WHERE o.channel = $2 AND o.target = $3 AND o.payload = $4::jsonb
			              AND o.created_at > now() - make_interval(secs => $6)) ELSE 0 END
			ON CONFLICT (idem_key) DO NOTHING`, m.Key, string(m.Channel), m.Target, payload, nullBytes(m.File), saltWindow.Seconds())
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

// JoinUsers joins userids for ToUsers / UpdateCard targets.
func JoinUsers(ids ...string) string { return strings.Join(ids, "|") }

// Outbox queues messages on a database pool (see Enqueue for transactions).
type Outbox struct {
	DB sqlx.ExecerContext
}

// Enqueue queues messages; keys already queued are ignored.
func (o *Outbox) Enqueue(ctx context.Context, msgs ...Outgoing) error {
	return Enqueue(ctx, o.DB, msgs...)
}

// OutboxKey is the message's idempotency key (it makes Outgoing a cases.Outgoing, which a
// hook queues through the store's unit of work).
func (m Outgoing) OutboxKey() string { return m.Key }
