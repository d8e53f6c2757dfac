-- +goose Up
-- warnings.detail is written once, by an import (which builds the JSON itself; the intake fuzz
-- test checks that it is always valid) or by encoding/json, and is read whole by the program.
-- As json, PostgreSQL parsed every imported row's detail again only to check it: 7 % of the
-- server's work for an import (issue 18, docs/performance.md). As text it is stored as sent;
-- the one query that reads a key casts it (caseProblems in tasks.go).
ALTER TABLE warnings ALTER COLUMN detail DROP DEFAULT,
    ALTER COLUMN detail TYPE text,
    ALTER COLUMN detail SET DEFAULT '{}';

-- +goose Down
ALTER TABLE warnings ALTER COLUMN detail DROP DEFAULT,
    ALTER COLUMN detail TYPE json USING detail::json,
    ALTER COLUMN detail SET DEFAULT '{}';
