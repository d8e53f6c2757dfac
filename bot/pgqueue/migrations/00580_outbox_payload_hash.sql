-- +goose Up
-- Queueing a private message counts the equal messages queued to the same users in the
-- last four hours (the salt that keeps WeCom's duplicate check from dropping a reply asked
-- for twice). Compared as jsonb, every equal message of the window was read and compared
-- in full for each new one; the payload's MD5 (of jsonb's canonical text) lets an index
-- answer the count instead.
ALTER TABLE outbox ADD COLUMN payload_md5 uuid GENERATED ALWAYS AS (md5(payload::text)::uuid) STORED;
CREATE INDEX outbox_same_payload ON outbox (channel, target, payload_md5, created_at);
DROP INDEX outbox_same_target;

-- +goose Down
CREATE INDEX outbox_same_target ON outbox (channel, target, created_at);
DROP INDEX outbox_same_payload;
ALTER TABLE outbox DROP COLUMN payload_md5;
