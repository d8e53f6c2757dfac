-- +goose Up
-- Who saw or took a household's data (docs/privacy.md): views of a case's details, exports,
-- file imports and refused links. Append-only like the audit trail (refuse_rewrite, 00500).
CREATE TABLE access_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    user_id  text NOT NULL,
    action   text NOT NULL CONSTRAINT access_log_action_check CHECK (action IN ('view', 'export', 'import', 'refused')),
    case_no  text NOT NULL DEFAULT '',
    batch_id text NOT NULL DEFAULT '',
    channel  text NOT NULL CONSTRAINT access_log_channel_check CHECK (channel IN ('chat', 'group', 'h5', 'cli', 'api')),
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX access_log_case ON access_log (case_no) WHERE case_no <> '';
CREATE INDEX access_log_batch ON access_log (batch_id) WHERE batch_id <> '';
CREATE INDEX access_log_at ON access_log (at);
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite('append-only');
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite('append-only');

-- +goose Down
DROP TABLE access_log;
