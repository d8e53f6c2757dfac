-- +goose Up
-- An import stores up to hundreds of thousands of warning rows, and two things cost the server
-- more per row than they give back (docs/performance.md, issue 18):
--
-- detail is written once and read whole (the cadre's private view, dispatch); nothing indexes
-- into it and the code reads one key of it at most, for one case at a time. As json it is still
-- refused unless it is JSON, but stored as written instead of being rebuilt into jsonb's tree on
-- every insert.
ALTER TABLE warnings ALTER COLUMN detail DROP DEFAULT,
    ALTER COLUMN detail TYPE json USING detail::json,
    ALTER COLUMN detail SET DEFAULT '{}';

-- warnings_id_number served only the look-ups of a person's open case (follow.go), which join
-- cases on case_id: a warning no case holds is never looked up by ID number. Indexing only the
-- warnings a case holds spares each import a random insert per row into a large index; dispatch
-- adds the entry when it links a warning, as it writes every other index of that row anyway.
DROP INDEX warnings_id_number;
CREATE INDEX warnings_id_number ON warnings (id_number) WHERE case_id IS NOT NULL;

-- +goose Down
DROP INDEX warnings_id_number;
CREATE INDEX warnings_id_number ON warnings (id_number);
ALTER TABLE warnings ALTER COLUMN detail DROP DEFAULT,
    ALTER COLUMN detail TYPE jsonb USING detail::jsonb,
    ALTER COLUMN detail SET DEFAULT '{}';
