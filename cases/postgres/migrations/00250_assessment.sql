-- +goose Up
-- The assessment (spec §7, §12, §13).
-- A case returned by a spot check is judged by its new due date; the ledger keeps the first
-- one too: original_due_on is due_on as it was before the first return (NULL if never).
ALTER TABLE cases ADD COLUMN original_due_on date;

-- The county's name from the org file, for the ledger's title row. One row.
CREATE TABLE county (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    name text NOT NULL
);

-- +goose Down
DROP TABLE county;
ALTER TABLE cases DROP COLUMN original_due_on;
