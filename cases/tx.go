package cases

import "context"

// Tx is a unit of work: the store's transaction as a hook sees it. Whatever a hook reads
// and queues through it commits or rolls back with the change that ran the hook, so that a
// case never changes without its messages, nor messages leave for a change that did not
// happen. The store implements it; edges (handlers, notify) never see SQL.
type Tx interface {
	// Enqueue queues outgoing messages in the transaction. A message is the transport's own
	// type (bot.Outgoing); keys already queued are ignored, so a retried change sends nothing
	// twice.
	Enqueue(ctx context.Context, msgs ...Outgoing) error
	// SentCards lists the interactive cards queued so far whose task id starts with prefix
	// (a case number), in the order they were queued.
	SentCards(ctx context.Context, prefix string) ([]SentCard, error)
	// MarkSendReported notes that the office was told of a failed outbox message.
	MarkSendReported(ctx context.Context, outboxID int64) error
	// MarkSendWarned notes that the office was told at once of a group message WeCom refused
	// for good while it is still being retried.
	MarkSendWarned(ctx context.Context, outboxID int64) error
	// TownshipContacts is a township's chat and its cadres' userids.
	TownshipContacts(ctx context.Context, township string) (Township, []string, error)
	// UsersOf lists the userids with a role ("" township/department: any), by userid.
	UsersOf(ctx context.Context, role Role, township, department string) ([]string, error)
	// PlanReminders stores planned reminders (with their digests, WithDigests); a key
	// already stored is left as it is, so planning twice is harmless.
	PlanReminders(ctx context.Context, rs []Reminder) error
	// CancelCaseReminders cancels every pending reminder of a case, its department tasks'
	// excepted, noting why.
	CancelCaseReminders(ctx context.Context, caseID int64, note string) error
	// CancelTaskReminders cancels every pending reminder of a department task.
	CancelTaskReminders(ctx context.Context, taskID int64, note string) error
	// ReviveReminders makes cancelled reminders with these keys pending again.
	ReviveReminders(ctx context.Context, rs []Reminder) error
}

// Outgoing is a message queued through Tx.Enqueue. Its concrete type is the transport's
// (bot.Outgoing); the store hands it to the transport's outbox, which refuses any other.
type Outgoing interface {
	OutboxKey() string
}

// SentCard is one interactive card queued for a user.
type SentCard struct {
	TaskID string
	UserID string
}

// CaseHook runs inside the transaction of every case change, after the case row and its
// audit event are written: reminders are cancelled or renewed here, messages queued, so
// that either all of it happens or none.
type CaseHook func(ctx context.Context, tx Tx, before, after Case) error

// TaskHook runs inside the transaction that adds a department task (notify plans its
// reminders there).
type TaskHook func(ctx context.Context, tx Tx, t Task) error

// Announcer queues a round's messages on the round's own transaction, so that the cases and
// what the townships are told commit together (announce.Announcer builds the messages).
type Announcer func(ctx context.Context, tx Tx, notices []TownshipNotice) error

// MoveAnnouncer queues what the townships are told when open cases move with their
// households, on the re-import's own transaction (announce.Announcer.AnnounceMoves).
type MoveAnnouncer func(ctx context.Context, tx Tx, moves []CaseMove) error

// SpotDrawHook runs in the transaction that records a spot-check draw, with the picks.
type SpotDrawHook func(ctx context.Context, tx Tx, picks []SpotPick) error
