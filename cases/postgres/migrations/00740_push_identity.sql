-- +goose Up
-- A push is one department, category and period (docs/intake.md): the same file pushed for
-- another period or by another department is a new push, so the file's SHA-256 is unique only
-- within its department, category and period.
ALTER TABLE batches DROP CONSTRAINT batches_sha256_key;
CREATE UNIQUE INDEX batches_push_sha256 ON batches (department_id, category, period, sha256);
-- A later push of the same department, category and period, before the round dispatches the
-- earlier one, replaces the earlier push's row of each person it names: that row is kept (the
-- batch stays as it was received) and listed here, and no dispatch reads it. A table of its
-- own rather than a column of warnings: marking 44,000 rows of a re-sent file by UPDATE
-- rewrote each wide row, its index entries and the statement's reference checks (about 1.5 s),
-- where these narrow rows cost a few tens of milliseconds. replaced is how many of a batch's
-- rows replaced an earlier push's.
CREATE TABLE warnings_superseded (
    warning_id bigint PRIMARY KEY,
    batch_id   text NOT NULL   -- the later push whose row won
);
CREATE INDEX warnings_superseded_batch ON warnings_superseded (batch_id);
ALTER TABLE batches ADD COLUMN replaced int NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE batches DROP COLUMN replaced;
DROP TABLE warnings_superseded;
DROP INDEX batches_push_sha256;
ALTER TABLE batches ADD CONSTRAINT batches_sha256_key UNIQUE (sha256);
