package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
}

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
		_, err = q.ExecContext(ctx, `
			INSERT INTO outbox (idem_key, channel, target, payload) VALUES ($1, $2, $3, $4)
			ON CONFLICT (idem_key) DO NOTHING`, m.Key, string(m.Channel), m.Target, payload)
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
		if err := recordQueuedCard(ctx, q, m); err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
	}
	return nil
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
