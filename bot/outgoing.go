package bot

import (
	"encoding/json"
	"strings"
)

// Channel is where an outgoing message goes.
type Channel string

const (
	ToUsers       Channel = "message"      // message/send; Target: userids joined by "|"
	ToAppChat     Channel = "appchat"      // appchat/send; Target: chatid
	ToWebhook     Channel = "webhook"      // webhook/send; Target: the group robot's key
	ToResponseURL Channel = "response_url" // the AI bot's response_url; Target: the URL
	UpdateCard    Channel = "update_card"  // message/update_template_card; Target: userids
)

// Outgoing is one message to send. Key makes queueing idempotent: the same key is sent
// at most once, however often it is queued.
type Outgoing struct {
	Key     string          `json:"key"`
	Channel Channel         `json:"channel"`
	Target  string          `json:"target"`
	MsgType string          `json:"msgtype"` // text, markdown, template_card, file, image, textcard
	Body    json.RawMessage `json:"body"`    // the msgtype's object, e.g. {"content":"…"}
	// Group marks a message read in a group chat on a channel that does not say so itself
	// (an AI bot answer through response_url): the worker's group guard applies to it.
	Group bool `json:"group,omitempty"`
	// File is a file message's content (Body: {"filename":"…"}). It is stored with the
	// message in the database, so any instance can send it, and dropped once sent.
	File []byte `json:"-"`
}

// File makes a file message: the worker uploads content under filename and sends it.
func File(filename string, content []byte) (string, json.RawMessage, []byte) {
	b, _ := json.Marshal(map[string]any{"filename": filename})
	return "file", b, content
}

// Image makes an image message (a PNG or JPG, at most 2 MB): the worker uploads content as
// type=image and sends its media_id; a group robot takes the bytes inline (base64 and md5).
// Like a file, the content is stored with the message until it is sent.
func Image(filename string, content []byte) (string, json.RawMessage, []byte) {
	b, _ := json.Marshal(map[string]any{"filename": filename})
	return "image", b, content
}

// carriesMedia reports whether a message type's content travels as an upload.
func carriesMedia(msgtype string) bool { return msgtype == "file" || msgtype == "image" }

// Text makes a text message; mention lists userids to @ (groups) — "@all" for everyone.
func Text(content string, mention ...string) (string, json.RawMessage) {
	body := map[string]any{"content": content}
	if len(mention) > 0 {
		body["mentioned_list"] = mention
	}
	b, _ := json.Marshal(body)
	return "text", b
}

// Markdown makes a markdown message.
func Markdown(content string) (string, json.RawMessage) {
	b, _ := json.Marshal(map[string]any{"content": content})
	return "markdown", b
}

// JoinUsers joins userids for ToUsers / UpdateCard targets.
func JoinUsers(ids ...string) string { return strings.Join(ids, "|") }

// OutboxKey is the message's idempotency key (it makes Outgoing a cases.Outgoing, which a
// hook queues through the store's unit of work).
func (m Outgoing) OutboxKey() string { return m.Key }

// GroupChat is how a township's group is reached: the chat the app created, else the group
// robot's webhook key; both empty when the township has no group.
type GroupChat struct {
	AppChat string
	Webhook string
}

// ToGroup addresses text to a group, the one rule for every group message: the app-created
// chat; else the group robot, @ mention (a robot can @ by userid, an app chat cannot);
// else fallback privately, so the cadres still hear of it. ok is false when there is
// nobody to tell (no group and no fallback).
func ToGroup(key string, chat GroupChat, mention, fallback []string, text string) (m Outgoing, ok bool) {
	m = Outgoing{Key: key}
	switch {
	case chat.AppChat != "":
		m.Channel, m.Target = ToAppChat, chat.AppChat
		m.MsgType, m.Body = Text(text)
	case chat.Webhook != "":
		m.Channel, m.Target = ToWebhook, chat.Webhook
		m.MsgType, m.Body = Text(text, mention...)
	case len(fallback) > 0:
		m.Channel, m.Target = ToUsers, JoinUsers(fallback...)
		m.MsgType, m.Body = Text(text)
	default:
		return Outgoing{}, false
	}
	return m, true
}
