// Package bot is the WeCom (企业微信) transport: callback crypto and parsing into a Message,
// the callback http.Handlers, sending through a durable outbox, and (in bot/wecomtest) an
// offline simulator of WeCom. It knows nothing of cases.
package bot

import (
	"context"
	"time"
)

// Source says which callback a message came through.
type Source string

const (
	FromApp   Source = "app"   // app callback (XML): private chat with the app, card clicks
	FromAIBot Source = "aibot" // AI bot callback (JSON): @-mentions in groups, single chats
)

// Message is one thing a user said or clicked, whichever callback brought it.
type Message struct {
	// ID is unique per message: WeCom's MsgId / msgid, or for events a key built from
	// FromUserName+CreateTime+TaskId+EventKey. The audit trail points at it.
	ID       string
	Source   Source
	UserID   string
	ChatID   string // group chat id when said in a group, else ""
	ChatType string // "single" or "group"
	Text     string // text content, with the @bot mention removed
	Card     *CardEvent
	// File is a file sent to the AI bot in single chat (msgtype=file), to be downloaded.
	File *FileRef `json:",omitempty"`
	// ResponseURL is the AI bot's single-use reply address (valid one hour).
	ResponseURL string
	At          time.Time
}

// InGroup reports whether the message was said in a group chat.
func (m Message) InGroup() bool { return m.ChatType == "group" }

// CardEvent is a click on an interactive template card (template_card_event).
type CardEvent struct {
	TaskID       string
	EventKey     string
	CardType     string
	ResponseCode string              // lets the app update the card once, within 72 hours
	Selected     map[string][]string // question_key → option ids
}

// Handler receives every accepted, deduplicated message. It runs after WeCom was answered,
// so it may take its time; what it wants to say goes through the outbox.
type Handler interface {
	HandleMessage(ctx context.Context, m Message)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m Message)

// HandleMessage calls f.
func (f HandlerFunc) HandleMessage(ctx context.Context, m Message) { f(ctx, m) }

// SecretKeyPrefix begins the outbox key of a message whose text must not outlive its
// delivery (a department's new push token): the outbox blanks its text once it is sent or
// given up on.
const SecretKeyPrefix = "secret:"
