-- +goose Up
-- A township group is bound to its township (docs/privacy.md): by the app chat's id
-- (appchat_id, from the org file or `fangpin chats create`) and by the chat id the AI bot
-- sees there, recorded the first time a cadre of the township uses the bot in a group
-- while the township has none. A chat belongs to one township at most.
ALTER TABLE townships ADD COLUMN aibot_chat_id text;
CREATE UNIQUE INDEX townships_aibot_chat ON townships (aibot_chat_id) WHERE aibot_chat_id IS NOT NULL;

-- +goose Down
DROP INDEX townships_aibot_chat;
ALTER TABLE townships DROP COLUMN aibot_chat_id;
