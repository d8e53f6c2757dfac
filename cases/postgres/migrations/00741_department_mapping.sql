-- +goose Up
-- A department's own words for its files' columns and values, asked once of its liaison and
-- used for its later files (docs/intake.md). One row per department; both maps are JSON
-- objects: columns {"file header": "column"}, value_words {"column": {"word": "value"}}.
CREATE TABLE department_mappings (
    department_id int PRIMARY KEY REFERENCES departments (id),
    columns       jsonb NOT NULL DEFAULT '{}',
    value_words   jsonb NOT NULL DEFAULT '{}',
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE department_mappings;
