-- +goose Up
-- Each case has one responsible cadre (spec §8, a round at county scale): by village when the
-- org file gives the cadre villages, else spread evenly over the township's cadres.
ALTER TABLE users ADD COLUMN villages text[] NOT NULL DEFAULT '{}';
-- the cadre's userid; no foreign key: a cadre who leaves keeps the history readable
ALTER TABLE cases ADD COLUMN responsible text NOT NULL DEFAULT '';
CREATE INDEX cases_open_responsible ON cases (responsible) WHERE status <> 'closed';

-- +goose Down
DROP INDEX cases_open_responsible;
ALTER TABLE cases DROP COLUMN responsible;
ALTER TABLE users DROP COLUMN villages;
