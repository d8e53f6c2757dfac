-- +goose Up
-- Every interactive template card the bot sends, with the latest response_code WeCom gave
-- for it (message/send's answer, then each click): update_template_card needs that code,
-- which works once and for 72 hours. task_id begins with the case number (handlers.TaskID).
CREATE TABLE sent_cards (
    task_id       text PRIMARY KEY,
    userid        text NOT NULL,
    -- what the card is about: task_id up to its last "_" (a case number)
    subject       text NOT NULL DEFAULT '',
    response_code text NOT NULL DEFAULT '',
    code_at       timestamptz,
    used_at       timestamptz,
    -- the code before the latest while still unused (message/send's, after a click's
    -- was spent on turning the card back): WeCom gives no rule that a click voids it
    older_code    text NOT NULL DEFAULT '',
    older_at      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sent_cards_subject ON sent_cards (subject);

-- +goose Down
DROP TABLE sent_cards;
