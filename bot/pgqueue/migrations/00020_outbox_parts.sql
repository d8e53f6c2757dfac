-- +goose Up
-- A long text goes out as numbered parts; remembering how many were sent lets a retry
-- continue where it stopped instead of sending the first parts twice.
ALTER TABLE outbox ADD COLUMN parts_sent int NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE outbox DROP COLUMN parts_sent;
