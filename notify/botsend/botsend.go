// Package botsend delivers reminders through the bot's outbox: the adapter between notify's
// Sender interface and bot's messages, queued on the store's unit of work, so that neither
// package knows the other.
package botsend

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/notify"
)

// Outbox queues reminders in the bot's outbox on the transaction that marks them sent; the
// idempotency key ("reminder:<id>") makes a second queueing a no-op.
type Outbox struct{}

var _ notify.Sender = Outbox{}

// Send queues ds in one call to the outbox: township groups by appchat (app-created group)
// or webhook (group robot, @ the cadres), everyone else privately.
func (Outbox) Send(ctx context.Context, tx cases.Tx, ds ...notify.Delivery) error {
	msgs := make([]cases.Outgoing, 0, len(ds))
	for _, d := range ds {
		m := bot.Outgoing{Key: d.Key}
		switch {
		case d.AppChat != "":
			m.Channel, m.Target = bot.ToAppChat, d.AppChat
			m.MsgType, m.Body = bot.Text(d.Text)
		case d.Webhook != "":
			m.Channel, m.Target = bot.ToWebhook, d.Webhook
			m.MsgType, m.Body = bot.Text(d.Text, d.Mention...)
		case len(d.Users) > 0:
			m.Channel, m.Target = bot.ToUsers, bot.JoinUsers(d.Users...)
			m.MsgType, m.Body = bot.Text(d.Text)
		default:
			return fmt.Errorf("reminder %s has no recipient", d.Key)
		}
		msgs = append(msgs, m)
	}
	return tx.Enqueue(ctx, msgs...)
}
