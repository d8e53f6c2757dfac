-- +goose Up
-- A group message refused for good (86003 chat not found, 93000 invalid webhook key, 60011
-- no privilege) is still retried, since the office may fix the chat meanwhile; the office is
-- told at once, on the first such refusal, and again if it finally fails (reported_at).
-- early_reported_at records the first report; the partial index finds the rows still to tell.
ALTER TABLE outbox ADD COLUMN early_reported_at timestamptz;
CREATE INDEX outbox_refused_groups ON outbox (id)
	WHERE state = 'pending' AND early_reported_at IS NULL AND last_errcode IN (86003, 93000, 60011);

-- +goose Down
DROP INDEX outbox_refused_groups;
ALTER TABLE outbox DROP COLUMN early_reported_at;
