package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// FailedSend is a group message (appchat/send, webhook/send) the worker gave up on and
// the office has not been told of yet.
type FailedSend struct {
	ID       int64
	Key      string
	Channel  Channel
	Target   string // the chat id or the webhook key
	MsgType  string
	Content  string // the text it would have shown (for its title and case numbers)
	Code     int64  // WeCom's errcode of the last attempt, 0 when none
	Attempts int
	// Uncertain: an answer was lost, so the group may have seen it after all.
	Uncertain bool
}

// UnreportedFailures lists up to limit group messages that failed for good and were not
// reported, oldest first.
func UnreportedFailures(ctx context.Context, q sqlx.QueryerContext, limit int) ([]FailedSend, error) {
	var rows []struct {
		ID       int64           `db:"id"`
		Key      string          `db:"idem_key"`
		Channel  string          `db:"channel"`
		Target   string          `db:"target"`
		Payload  json.RawMessage `db:"payload"`
		Code     int64           `db:"last_errcode"`
		Attempts int             `db:"attempts"`
		Lost     bool            `db:"lost"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT id, idem_key, channel, target, payload, last_errcode, attempts, first_lost_at IS NOT NULL AS lost FROM outbox
		WHERE state = 'failed' AND reported_at IS NULL AND channel IN ('appchat', 'webhook')
		ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list failed group messages: %w", err)
	}
	out := make([]FailedSend, 0, len(rows))
	for _, r := range rows {
		var p struct {
			MsgType string `json:"msgtype"`
			Body    struct {
				Content string `json:"content"`
			} `json:"body"`
		}
		json.Unmarshal(r.Payload, &p) // a bad payload still gets reported, without text
		out = append(out, FailedSend{ID: r.ID, Key: r.Key, Channel: Channel(r.Channel), Target: r.Target,
			MsgType: p.MsgType, Content: p.Body.Content, Code: r.Code, Attempts: r.Attempts,
			Uncertain: r.Lost})
	}
	return out, nil
}

// MarkReported records that the office was told of a failed message; run it on the
// transaction that queues the report.
func MarkReported(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE outbox SET reported_at = now() WHERE id = $1`, id); err != nil {
		return fmt.Errorf("mark outbox %d reported: %w", id, err)
	}
	return nil
}
