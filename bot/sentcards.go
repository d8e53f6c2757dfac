package bot

import (
	"encoding/json"
	"time"
)

// Interactive template cards can be changed after they were sent
// (message/update_template_card), but only with a response_code: message/send answers one
// for the card and every click on it brings a fresh one; each works once, within 72 hours.
// The bot keeps the latest code of every card it sent (the store's sent cards), so that whoever
// handles the case later can have the card updated by its task_id alone.

// CardCodeLife is how long WeCom accepts a response_code.
const CardCodeLife = 72 * time.Hour

// SentCard is one interactive card the bot queued for a user.
type SentCard struct {
	TaskID string
	UserID string
}

// CardUpdate makes an outbox message that changes the card taskID once the bot has a
// response_code for it (the worker takes the newest). card is the whole new template card
// (with replace_text to show it handled: WeCom then greys its button out).
func CardUpdate(key, user, taskID string, card any) Outgoing {
	body, _ := json.Marshal(map[string]any{"task_id": taskID, "template_card": card})
	return Outgoing{Key: key, Channel: UpdateCard, Target: user, MsgType: "template_card", Body: body}
}
