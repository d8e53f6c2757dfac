package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// unit is a transaction as hooks see it (cases.Tx): the outbox and the few reads hooks
// need, all on the one transaction of the change that runs them.
type unit struct {
	tx   *sqlx.Tx
	keys *seal.Keyring // opens what reads through the unit return
}

var _ cases.Tx = unit{}

// sqlTx is the transaction behind a cases.Tx the store handed out, for the store's own
// hooks (SpotCheck's record).
func sqlTx(tx cases.Tx) *sqlx.Tx {
	u, ok := tx.(unit)
	if !ok {
		panic(fmt.Sprintf("postgres: %T is not a transaction of this store", tx))
	}
	return u.tx
}

// Atomically runs fn as one unit of work: what it queues and marks commits together, or
// nothing does when it returns an error.
func (db *DB) Atomically(ctx context.Context, fn func(tx cases.Tx) error) error {
	return db.InTx(ctx, func(tx *sqlx.Tx) error { return fn(unit{tx, db.Keys}) })
}

func (u unit) Enqueue(ctx context.Context, msgs ...cases.Outgoing) error {
	out := make([]bot.Outgoing, 0, len(msgs))
	for _, m := range msgs {
		o, ok := m.(bot.Outgoing)
		if !ok {
			return fmt.Errorf("enqueue %s: %T is not a bot message", m.OutboxKey(), m)
		}
		out = append(out, o)
	}
	return pgqueue.EnqueueSealed(ctx, u.tx, u.keys, out...) // bodies carry people's data: sealed
}

func (u unit) SentCards(ctx context.Context, prefix string) ([]cases.SentCard, error) {
	cards, err := pgqueue.CardsWithPrefix(ctx, u.tx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]cases.SentCard, len(cards))
	for i, c := range cards {
		out[i] = cases.SentCard{TaskID: c.TaskID, UserID: c.UserID}
	}
	return out, nil
}

func (u unit) MarkSendReported(ctx context.Context, outboxID int64) error {
	return pgqueue.MarkReported(ctx, u.tx, outboxID)
}

func (u unit) MarkSendWarned(ctx context.Context, outboxID int64) error {
	return pgqueue.MarkWarned(ctx, u.tx, outboxID)
}

func (u unit) TownshipContacts(ctx context.Context, township string) (cases.Township, []string, error) {
	return TownshipContacts(ctx, u.tx, township)
}

func (u unit) UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error) {
	return usersOf(ctx, u.tx, role, township, department)
}

// UnreportedFailures lists failed group messages the office has not been told of yet.
func (db *DB) UnreportedFailures(ctx context.Context, limit int) ([]bot.FailedSend, error) {
	return pgqueue.UnreportedFailures(ctx, db.DB, db.Keys, limit)
}

// RefusedGroupSends lists group messages WeCom refused for good that are still being retried
// and that the office has not been told of yet.
func (db *DB) RefusedGroupSends(ctx context.Context, limit int) ([]bot.FailedSend, error) {
	return pgqueue.RefusedGroupSends(ctx, db.DB, db.Keys, limit)
}
