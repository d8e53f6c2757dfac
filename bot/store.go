package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// The bot's storage: the inbox of callbacks, the outbox of messages and the sent cards'
// response codes. The bot keeps the transport, the crypto, parsing, pacing and the workers'
// logic; its SQL lives in a storage package of its own (bot/pgqueue implements these
// interfaces on PostgreSQL).

// InboxStore is the durable inbox's table.
type InboxStore interface {
	// InsertInbox records callbacks and returns the keys that were new; a key already
	// recorded is left as it is.
	InsertInbox(ctx context.Context, rows []InboxEntry) (fresh map[string]bool, err error)
	// RowRefused reports whether err says the database refused a row's data (so that the
	// rest of a batch may still go in one by one).
	RowRefused(err error) bool
	// ClaimInbox marks the pending rows done handled and leases up to n pending rows whose
	// lease ran out, oldest first, counting an attempt on each, in one transaction.
	ClaimInbox(ctx context.Context, done []string, n int, lease time.Duration) ([]InboxRow, error)
	// ClaimInboxKeys is ClaimInbox for the pending rows among keys whose lease ran out.
	ClaimInboxKeys(ctx context.Context, done, keys []string, lease time.Duration) ([]InboxRow, error)
	// MarkInboxDone marks pending rows handled.
	MarkInboxDone(ctx context.Context, keys []string) error
	// FailInbox gives a pending row up, keeping its last error.
	FailInbox(ctx context.Context, key, lastErr string) error
	// RetryInbox leases a pending row again for d, keeping its last error.
	RetryInbox(ctx context.Context, key string, d time.Duration, lastErr string) error
	// RecordCardCode keeps a card's newest response_code (message/send's answer or a click's).
	RecordCardCode(ctx context.Context, taskID, userID, code string) error
}

// InboxEntry is a callback to record.
type InboxEntry struct {
	Key     string
	Source  string
	Payload []byte // the Message as JSON
}

// InboxRow is a claimed inbox row.
type InboxRow struct {
	Key      string `db:"key"`
	Payload  []byte `db:"payload"`
	Attempts int    `db:"attempts"`
}

// OutboxStore is the outbox's table and the sent cards' codes, as the Worker uses them.
type OutboxStore interface {
	// ClaimOutbox leases up to batch due pending rows for lease, counting an attempt on each.
	ClaimOutbox(ctx context.Context, batch int, lease time.Duration) ([]OutboxRow, error)
	// ReleaseOutbox hands a claimed row back without counting the attempt.
	ReleaseOutbox(ctx context.Context, id int64) error
	// PaceOutbox puts a row off by wait without counting the attempt.
	PaceOutbox(ctx context.Context, id int64, wait time.Duration) error
	// RecordPartsSent records how many parts of a row went out.
	RecordPartsSent(ctx context.Context, id int64, parts int) error
	// MarkOutboxSent marks a row sent (its file content dropped).
	MarkOutboxSent(ctx context.Context, id int64, parts int) error
	// RecordLostAnswer counts an attempt whose answer was lost and returns how long ago the
	// first was, in seconds.
	RecordLostAnswer(ctx context.Context, id int64) (float64, error)
	// RescheduleOutbox tries a row again in d, keeping its last error.
	RescheduleOutbox(ctx context.Context, id int64, d time.Duration, lastErr string, code int64) error
	// FailOutbox gives a row up (its file content dropped), keeping its last error.
	FailOutbox(ctx context.Context, id int64, lastErr string, code int64) error
	// RecordUpload keeps a file message's media_id.
	RecordUpload(ctx context.Context, id int64, mediaID string) error
	// TakeCardCode claims an unused response_code of a card for one update: the latest, or
	// else the one before it (ErrCardNotSent, ErrCardSpent).
	TakeCardCode(ctx context.Context, taskID string) (string, error)
	// GiveCardCodeBack returns a code whose update did not reach WeCom.
	GiveCardCodeBack(ctx context.Context, taskID, code string)
	// RecordCardCode keeps a card's newest response_code.
	RecordCardCode(ctx context.Context, taskID, userID, code string) error
	// RecordCardSent notes that WeCom took a card, whether or not its answer (with the
	// card's response_code) came back.
	RecordCardSent(ctx context.Context, taskID string) error
	// ReplaceCard records newTaskID, sent to userID in place of taskID (a card whose code
	// was lost): later updates of the case's cards go to the new one.
	ReplaceCard(ctx context.Context, taskID, newTaskID, userID string) error
}

// OutboxRow is a claimed outbox row.
type OutboxRow struct {
	ID        int64           `db:"id"`
	Key       string          `db:"idem_key"`
	Channel   Channel         `db:"channel"`
	Target    string          `db:"target"`
	Payload   json.RawMessage `db:"payload"`
	Attempts  int             `db:"attempts"`
	PartsSent int             `db:"parts_sent"`
	// File messages: the content, and its upload once made (reused on resend).
	Attachment []byte `db:"attachment"`
	MediaID    string `db:"media_id"`
	// LostFor is how long ago the first lost answer was, in seconds (-1: none).
	LostFor float64 `db:"lost_for"`
}

// QueueStats reads the inbox's and the outbox's depth for the metrics, at scrape time.
type QueueStats interface {
	// OutboxStats: messages pending and failed, and the oldest pending one's age in seconds.
	OutboxStats(ctx context.Context) (pending, failed int64, oldest float64, err error)
	// InboxStats: callbacks pending and failed, and the oldest pending one's age in seconds.
	InboxStats(ctx context.Context) (pending, failed int64, oldest float64, err error)
}

// ErrCardNotSent: the card is still in the outbox; its update waits for it.
var ErrCardNotSent = errors.New("card not sent yet: no response_code to update it with")

// ErrCardCodeLost: WeCom took the card but its answer, with the response_code, was lost (a
// crash, a dropped connection): the card cannot be updated, so a new one is sent instead.
var ErrCardCodeLost = errors.New("card sent but its response_code was lost")

// ErrCardSpent: the card's code was used or is too old; WeCom cannot change it any more.
var ErrCardSpent = errors.New("card already updated or older than 72 hours")
