-- +goose Up
-- A later push of the same department, category and period replaces the earlier pushes' rows
-- of the people it names (supersede.go). Reading an earlier push's 220,000 warnings to learn
-- its people cost an import of a million rows about a tenth of its time, mostly to find that
-- the two files share nobody. Each push therefore keeps, until a round dispatches it, a
-- 64-bit print of the id_number of each of its warned rows (8 bytes a row, in no order, as
-- the column holds it: a keyed hash there makes the print one of the hash); a later push reads
-- its earlier pushes' warnings only for the people whose prints they share. A push without
-- prints (stored before this table, or dispatched since) is read whole, as before.
CREATE TABLE batch_prints (
    batch_id text PRIMARY KEY REFERENCES batches (id) ON DELETE CASCADE,
    prints   bytea NOT NULL
);
-- Random bytes do not compress: spare the server trying.
ALTER TABLE batch_prints ALTER COLUMN prints SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE batch_prints;
