-- +goose Up
-- The callback dedup record becomes a durable inbox: a callback is committed here, with
-- its parsed message, before WeCom gets its 200 (WeCom never resends an acknowledged
-- callback), and an inbox worker hands pending messages to the handler. Rows already
-- recorded were handled by the old in-memory path: they stay as 'done' dedup keys.
ALTER TABLE callback_dedup RENAME TO inbox;
ALTER TABLE inbox RENAME CONSTRAINT callback_dedup_pkey TO inbox_pkey;
ALTER TABLE inbox
    ADD COLUMN source        text NOT NULL DEFAULT '',
    ADD COLUMN payload       jsonb,
    ADD COLUMN state         text NOT NULL DEFAULT 'done' CHECK (state IN ('pending', 'done', 'failed')),
    ADD COLUMN attempts      int NOT NULL DEFAULT 0,
    -- While in the future: a worker holds the row (lease) or a retry waits (back-off).
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN last_error    text NOT NULL DEFAULT '',
    ADD COLUMN done_at       timestamptz;
ALTER TABLE inbox ALTER COLUMN state SET DEFAULT 'pending';
CREATE INDEX inbox_pending ON inbox (received_at) WHERE state = 'pending';
CREATE INDEX inbox_failed ON inbox (received_at) WHERE state = 'failed';

-- +goose Down
DROP INDEX inbox_pending, inbox_failed;
ALTER TABLE inbox
    DROP COLUMN source, DROP COLUMN payload, DROP COLUMN state, DROP COLUMN attempts,
    DROP COLUMN claimed_until, DROP COLUMN last_error, DROP COLUMN done_at;
ALTER TABLE inbox RENAME CONSTRAINT inbox_pkey TO callback_dedup_pkey;
ALTER TABLE inbox RENAME TO callback_dedup;
