-- +goose Up
-- The outbox worker makes each private message unique by its row id (docs/sends.md, part
-- marks), so queueing no longer counts the equal messages queued lately: their hash and its
-- index only cost each enqueue. outbox.salt stays (0) for rows queued before.
DROP INDEX outbox_same_payload;
ALTER TABLE outbox DROP COLUMN payload_md5;

-- +goose Down
ALTER TABLE outbox ADD COLUMN payload_md5 uuid GENERATED ALWAYS AS (md5(payload::text)::uuid) STORED;
CREATE INDEX outbox_same_payload ON outbox (channel, target, payload_md5, created_at);
