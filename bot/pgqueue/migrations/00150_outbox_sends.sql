-- +goose Up
-- Sends that never double, files from the database, failures the office hears of.
-- attachment: a file message's bytes (the ledger), sent from here by whichever instance
--   claims the row and cleared once the row is sent or failed: no copy on any disk.
-- media_id: the upload of attachment, reused when the message is resent so that the resent
--   body is byte-identical (WeCom's duplicate check compares bodies).
-- salt: how many equal messages to the same users were queued in the last four hours;
--   the worker makes the body differ by it, so that a reply asked for twice (帮助, 帮助)
--   is not taken for a resend by the duplicate check.
-- first_lost_at, lost_answers: attempts whose answer was lost (connection dropped, 5xx):
--   WeCom may have taken them, so resending is bounded by a window.
-- last_errcode: WeCom's errcode of the last attempt (0: none or not an errcode).
-- reported_at: when the office was told that this group message failed for good.
ALTER TABLE outbox ADD COLUMN attachment bytea;
ALTER TABLE outbox ADD COLUMN media_id text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN salt int NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN first_lost_at timestamptz;
ALTER TABLE outbox ADD COLUMN lost_answers int NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_errcode bigint NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN reported_at timestamptz;
CREATE INDEX outbox_same_target ON outbox (channel, target, created_at);
-- Failures from before this change are not news.
UPDATE outbox SET reported_at = now() WHERE state = 'failed';
CREATE INDEX outbox_unreported ON outbox (id) WHERE state = 'failed' AND reported_at IS NULL;

-- +goose Down
DROP INDEX outbox_unreported;
DROP INDEX outbox_same_target;
ALTER TABLE outbox DROP COLUMN reported_at, DROP COLUMN last_errcode, DROP COLUMN lost_answers,
    DROP COLUMN first_lost_at, DROP COLUMN salt, DROP COLUMN media_id, DROP COLUMN attachment;
