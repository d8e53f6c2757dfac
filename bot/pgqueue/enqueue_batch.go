package pgqueue

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/bot"
)

// enqueueBatch queues many messages in one statement, as Enqueue does one at a time: a
// reminder worker queues hundreds in a transaction, and a round trip each was most of its
// time. The rows are those Enqueue would write one at a time.
func enqueueBatch(ctx context.Context, q sqlx.ExecerContext, k Sealer, msgs []bot.Outgoing) error {
	n := len(msgs)
	keys, channels, targets, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	files := make(pq.ByteaArray, n)
	for i, m := range msgs {
		payload, err := outboxPayload(m)
		if err != nil {
			return err
		}
		payload, file, err := sealMessage(k, payload, m.File)
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
		keys[i], channels[i], targets[i], payloads[i], files[i] = m.Key, string(m.Channel), m.Target, string(payload), file
	}
	// fresh leaves out the keys already queued and repeats within the batch (the first wins,
	// as one at a time).
	_, err := q.ExecContext(ctx, `
		WITH x AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
				WITH ORDINALITY AS x(key, channel, target, payload, file, ord)),
		fresh AS (
			SELECT DISTINCT ON (key) * FROM x
			WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idem_key = x.key)
			ORDER BY key, ord)
		INSERT INTO outbox (idem_key, channel, target, payload, attachment)
		SELECT f.key, f.channel, f.target, f.payload::jsonb, NULLIF(f.file, ''::bytea)
		FROM fresh f
		ORDER BY f.ord
		ON CONFLICT (idem_key) DO NOTHING`,
		pq.Array(keys), pq.Array(channels), pq.Array(targets), pq.Array(payloads), files)
	if err != nil {
		return fmt.Errorf("enqueue %d messages (first %s): %w", n, msgs[0].Key, err)
	}
	for _, m := range msgs {
		if err := recordQueuedCard(ctx, q, m); err != nil {
			return fmt.Errorf("enqueue %s: %w", m.Key, err)
		}
	}
	return nil
}
