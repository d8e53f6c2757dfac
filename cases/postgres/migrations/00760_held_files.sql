-- +goose Up
-- A file a liaison sent the AI bot, kept while the bot waits for an answer about it (which
-- category, when the header does not say) or for its turn to be imported. It is deleted
-- once imported, and at the latest a day after it came (docs/files.md).
CREATE TABLE held_files (
    id          text PRIMARY KEY,
    user_id     text NOT NULL,
    department  text NOT NULL DEFAULT '',
    filename    text NOT NULL,
    sha256      text NOT NULL,
    data        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_files_created ON held_files (created_at);

-- +goose Down
DROP TABLE held_files;
