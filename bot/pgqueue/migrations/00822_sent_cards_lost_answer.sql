-- +goose Up
-- A card WeCom took whose answer (and so its response_code) was lost: sent_at says it went
-- out, replaced_by names the new card sent in its place when it had to change
-- (docs/sends.md), which is then the one updated.
ALTER TABLE sent_cards ADD COLUMN sent_at timestamptz, ADD COLUMN replaced_by text;

-- +goose Down
ALTER TABLE sent_cards DROP COLUMN sent_at, DROP COLUMN replaced_by;
