-- +goose Up
-- The office without a shell (docs/office.md).

-- A push token issued in chat (令牌 <部门>): the department's hash is replaced at once and the
-- old hash kept as revoked, so that an org file naming it (or naming none) cannot bring it back.
ALTER TABLE departments ADD COLUMN token_issued_at timestamptz;
CREATE TABLE revoked_tokens (
    sha256     text PRIMARY KEY,
    department text NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    revoked_by text NOT NULL
);

-- The audit trail of what the office does in chat: spot-check draws, tokens, withdrawn pushes.
ALTER TABLE access_log DROP CONSTRAINT access_log_action_check;
ALTER TABLE access_log ADD CONSTRAINT access_log_action_check
    CHECK (action IN ('view', 'export', 'import', 'refused', 'spotdraw', 'token', 'withdraw'));

-- +goose Down
ALTER TABLE access_log DROP CONSTRAINT access_log_action_check;
ALTER TABLE access_log ADD CONSTRAINT access_log_action_check
    CHECK (action IN ('view', 'export', 'import', 'refused')) NOT VALID;
DROP TABLE revoked_tokens;
ALTER TABLE departments DROP COLUMN token_issued_at;
