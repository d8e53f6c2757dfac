-- +goose Up
-- Reminders are planned inside the transaction of the change that calls for them, but Redis
-- is not part of that transaction: `scheduled` marks the rows a worker has put into the Redis
-- schedule, so a planned reminder reaches Redis after its transaction commits (never before,
-- never not at all). `note` says why a reminder was not sent (case closed, data pushed...).
ALTER TABLE reminders ADD COLUMN scheduled boolean NOT NULL DEFAULT false;
ALTER TABLE reminders ADD COLUMN note text NOT NULL DEFAULT '';
CREATE INDEX reminders_unscheduled ON reminders (id) WHERE state = 'pending' AND NOT scheduled;

-- +goose Down
DROP INDEX reminders_unscheduled;
ALTER TABLE reminders DROP COLUMN note;
ALTER TABLE reminders DROP COLUMN scheduled;
