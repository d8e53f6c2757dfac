-- Whether the plain values an older version stored have all been sealed (docs/encryption.md):
-- every start asks this one row instead of scanning the tables once nothing is plain, since
-- nothing writes plain values any more.

-- +goose Up
CREATE TABLE sealing (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    plain_sealed_at timestamptz
);
INSERT INTO sealing (id) VALUES (1);
-- A push's prints (00910) are now the first 8 bytes of its people's keyed hash (supersede.go):
-- prints made from plain numbers would match nobody; without prints a push is read whole.
DELETE FROM batch_prints;

-- +goose Down
DROP TABLE sealing;
