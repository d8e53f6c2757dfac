-- +goose Up
-- A township's digest gathers the group's pending reminders of its day (FireReminders,
-- DigestReminders). Through reminders_pending (due_at) that read every reminder pending at
-- 09:00, all townships', once for each digest: at 100,000 due that was most of a digest's
-- transaction. Pending rows only, so sent and cancelled ones cost nothing here.
CREATE INDEX reminders_pending_target ON reminders (target, due_at) WHERE state = 'pending';

-- +goose Down
DROP INDEX reminders_pending_target;
