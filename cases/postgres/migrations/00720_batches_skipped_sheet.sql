-- +goose Up
-- What a push's answer says besides its counts (docs/intake.md): the 合计 rows and footer lines
-- it skipped, and the workbook sheet it read, so that the same file pushed again answers the same.
ALTER TABLE batches ADD COLUMN skipped int NOT NULL DEFAULT 0,
    ADD COLUMN sheet text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE batches DROP COLUMN skipped, DROP COLUMN sheet;
