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
		m, ok := bot.ToGroup(d.Key, bot.GroupChat{AppChat: d.AppChat, Webhook: d.Webhook}, d.Mention, d.Users, d.Text)
		if !ok {
			return fmt.Errorf("reminder %s has no recipient", d.Key)
		}
		msgs = append(msgs, m)
	}
	return tx.Enqueue(ctx, msgs...)
}
