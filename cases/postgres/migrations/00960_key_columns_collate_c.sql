-- +goose Up
-- The keys imports sort and join on — keyed hashes of ID numbers (64 hex digits) and household
-- numbers — are compared byte by byte (collation "C"): nobody reads them in alphabetical
-- order, and a byte comparison lets the server sort them with abbreviated keys, which it never
-- does under a C library collation such as C.UTF-8 or zh_CN.UTF-8. A 100,000-household first
-- import builds its indexes in about half the time (docs/performance.md, "Fourth pass").
-- Equality is the same under either collation, so no query changes its answer; a join of such
-- a column with a text of the default collation compares in "C". The values stay as they are;
-- only the indexes on these columns are rebuilt.
ALTER TABLE registry_members ALTER COLUMN id_number TYPE text COLLATE "C",
    ALTER COLUMN household_no TYPE text COLLATE "C";
ALTER TABLE registry_households ALTER COLUMN household_no TYPE text COLLATE "C",
    ALTER COLUMN head_id_number TYPE text COLLATE "C";
ALTER TABLE registry_history ALTER COLUMN id_number TYPE text COLLATE "C",
    ALTER COLUMN household_no TYPE text COLLATE "C";
ALTER TABLE cases ALTER COLUMN head_id_number TYPE text COLLATE "C",
    ALTER COLUMN household_no TYPE text COLLATE "C",
    ALTER COLUMN household_key TYPE text COLLATE "C";
ALTER TABLE warnings ALTER COLUMN id_number TYPE text COLLATE "C",
    ALTER COLUMN head_id_number TYPE text COLLATE "C";

-- +goose Down
ALTER TABLE registry_members ALTER COLUMN id_number TYPE text COLLATE "default",
    ALTER COLUMN household_no TYPE text COLLATE "default";
ALTER TABLE registry_households ALTER COLUMN household_no TYPE text COLLATE "default",
    ALTER COLUMN head_id_number TYPE text COLLATE "default";
ALTER TABLE registry_history ALTER COLUMN id_number TYPE text COLLATE "default",
    ALTER COLUMN household_no TYPE text COLLATE "default";
ALTER TABLE cases ALTER COLUMN head_id_number TYPE text COLLATE "default",
    ALTER COLUMN household_no TYPE text COLLATE "default",
    ALTER COLUMN household_key TYPE text COLLATE "default";
ALTER TABLE warnings ALTER COLUMN id_number TYPE text COLLATE "default",
    ALTER COLUMN head_id_number TYPE text COLLATE "default";
