-- +goose Up
-- A push reminder names the period whose push is due (spec §10): its nudge may fall in the
-- month before its deadline, so the day it fires no longer says which period it is about.
ALTER TABLE reminders ADD COLUMN period text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reminders DROP COLUMN period;
