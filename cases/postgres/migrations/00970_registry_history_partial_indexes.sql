-- +goose Up
-- Two of registry_history's indexes keep only the rows their look-ups can find. A registry
-- import's rows have no row number (only 人员变动's rows do) and its household-level rows no
-- ID number (''), yet every one of them had an entry in both: a first import of 100,000
-- households built 200,000 entries nobody asks for (docs/performance.md, "Fifth pass").
-- The uniqueness is the same: rows without a row number never conflicted (NULLs are distinct).
-- A member's history is asked by their keyed hash, never by '', and a query naming a hash
-- uses the partial index.
ALTER TABLE registry_history DROP CONSTRAINT registry_history_batch_id_row_no_key;
CREATE UNIQUE INDEX registry_history_batch_row ON registry_history (batch_id, row_no) WHERE row_no IS NOT NULL;
DROP INDEX registry_history_member;
CREATE INDEX registry_history_member ON registry_history (id_number, id) WHERE id_number <> '';

-- +goose Down
DROP INDEX registry_history_member;
CREATE INDEX registry_history_member ON registry_history (id_number, id);
DROP INDEX registry_history_batch_row;
ALTER TABLE registry_history ADD CONSTRAINT registry_history_batch_id_row_no_key UNIQUE (batch_id, row_no);
