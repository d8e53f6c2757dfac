package pgqueue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// A message under bot.SecretKeyPrefix (a new push token) does not keep its text once sent;
// any other message keeps only its kind (its text may name people).
func TestSentSecretForgetsItsText(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	msg := func(key, s string) bot.Outgoing {
		m := bot.Outgoing{Key: key, Channel: bot.ToUsers, Target: "zhaoliu"}
		m.MsgType, m.Body = bot.Text(s)
		return m
	}
	if err := pgqueue.Enqueue(ctx, db, msg(bot.SecretKeyPrefix+"token:m1", "令牌 SECRET-TOKEN-123"), msg("reply:m1", "普通回复 KEEP-ME")); err != nil {
		t.Fatal(err)
	}
	s := pgqueue.New(db.DB)
	var ids []int64
	if err := db.Select(&ids, `SELECT id FROM outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := s.MarkOutboxSent(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
	}
	var payloads []string
	if err := db.Select(&payloads, `SELECT payload::text FROM outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	// Since bodies carry people's data, every delivered message keeps its kind and not its
	// text (docs/encryption.md); a secret says it was sent.
	if len(payloads) != 2 || strings.Contains(payloads[0], "SECRET-TOKEN-123") || !strings.Contains(payloads[0], "不再保留") ||
		strings.Contains(payloads[1], "KEEP-ME") || !strings.Contains(payloads[1], `"msgtype": "text"`) {
		t.Errorf("payloads after sending: %q", payloads)
	}
}
