-- +goose Up
-- A push is one department, category and period (docs/intake.md): the same file pushed for
-- another period or by another department is a new push, so the file's SHA-256 is unique only
-- within its department, category and period.
ALTER TABLE batches DROP CONSTRAINT batches_sha256_key;
CREATE UNIQUE INDEX batches_push_sha256 ON batches (department_id, category, period, sha256);
-- A later push of the same department, category and period, before the round dispatches the
-- earlier one, replaces the earlier push's row of each person it names: that row is kept (the
-- batch stays as it was received) but marked superseded by the later batch, and no dispatch
-- reads it. replaced is how many of a batch's rows replaced an earlier push's.
ALTER TABLE warnings ADD COLUMN superseded_by text;
ALTER TABLE batches ADD COLUMN replaced int NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE batches DROP COLUMN replaced;
ALTER TABLE warnings DROP COLUMN superseded_by;
DROP INDEX batches_push_sha256;
ALTER TABLE batches ADD CONSTRAINT batches_sha256_key UNIQUE (sha256);
