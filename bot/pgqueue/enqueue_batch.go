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
// time. The rows are those Enqueue would write one at a time, salts included.
func enqueueBatch(ctx context.Context, q sqlx.ExecerContext, msgs []bot.Outgoing) error {
	n := len(msgs)
	keys, channels, targets, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	files := make(pq.ByteaArray, n)
	for i, m := range msgs {
		payload, err := outboxPayload(m)
		if err != nil {
			return err
		}
		keys[i], channels[i], targets[i], payloads[i], files[i] = m.Key, string(m.Channel), m.Target, string(payload), m.File
	}
	// fresh leaves out the keys already queued and repeats within the batch, so that salt
	// counts, as one at a time, only the equal messages queued before this one.
	_, err := q.ExecContext(ctx, `
		WITH x AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[])
				WITH ORDINALITY AS x(key, channel, target, payload, file, ord)),
		fresh AS (
			SELECT DISTINCT ON (key) * FROM x
			WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idem_key = x.key)
			ORDER BY key, ord)
		INSERT INTO outbox (idem_key, channel, target, payload, attachment, salt)
		SELECT f.key, f.channel, f.target, f.payload::jsonb, NULLIF(f.file, ''::bytea),
		       CASE WHEN f.channel = 'message' THEN (SELECT count(*) FROM (SELECT FROM outbox o
		            WHERE o.channel = f.channel AND o.target = f.target AND o.payload_md5 = md5(f.payload::jsonb::text)::uuid
		              AND o.created_at > now() - make_interval(secs => $6) LIMIT $7) AS equal)
		          + row_number() OVER (PARTITION BY f.channel, f.target, f.payload ORDER BY f.ord) - 1
		       ELSE 0 END
		FROM fresh f
		ORDER BY f.ord
		ON CONFLICT (idem_key) DO NOTHING`,
		pq.Array(keys), pq.Array(channels), pq.Array(targets), pq.Array(payloads), files, bot.SaltWindow.Seconds(), bot.MaxSalt)
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
