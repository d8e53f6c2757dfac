package cases

import (
	"context"
	"time"
)

// StoredReminder is a planned reminder as the store holds it.
type StoredReminder struct {
	ID         int64
	Kind       ReminderKind
	CaseID     int64 // 0: none
	Department string
	Township   string
	Target     string
	DueAt      time.Time
	State      string // pending, sent, cancelled
	TaskID     int64  // 0: none
	Period     string
}

// DueReminder is a pending reminder's id and due moment, for the schedule.
type DueReminder struct {
	ID    int64
	DueAt time.Time
}

// ReminderListing is one stored reminder, as `fangpin reminders --json` prints it.
type ReminderListing struct {
	ID     int64      `json:"-"`
	Kind   string     `json:"kind"`
	CaseNo string     `json:"case_no"`
	Target string     `json:"target"`
	DueAt  time.Time  `json:"due_at"`
	State  string     `json:"state"`
	Late   bool       `json:"late"`
	SentAt *time.Time `json:"sent_at,omitempty"`
	Note   string     `json:"note,omitempty"`
}

// DigestedKinds lists the reminder kinds a township's daily digest carries.
func DigestedKinds() []ReminderKind {
	var ks []ReminderKind
	for _, k := range []ReminderKind{RemindCaseDue, RemindCaseOverdue, RemindMonthEnd} {
		if k.Digested() {
			ks = append(ks, k)
		}
	}
	return ks
}

// ReminderTx is the claim→fire transaction of claimed reminders (the store's
// FireReminders): what a worker reads and decides while their cases are share-locked and
// the reminders row-locked, and the marks that commit with the messages it queues.
type ReminderTx interface {
	Tx
	// DigestReminders locks, in id order, target's pending digested reminders due on day
	// by now (they are already locked by FireReminders when it carries them).
	DigestReminders(ctx context.Context, target string, day Date, now time.Time) ([]StoredReminder, error)
	// KeyStates gives the state (pending, sent, cancelled) of those of these reminder keys
	// that exist, in one look for a whole batch.
	KeyStates(ctx context.Context, keys []string) (map[string]string, error)
	// DepartmentCategories lists the categories a department pushes.
	DepartmentCategories(ctx context.Context, department string) ([]Category, error)
	// DepartmentPushes lists a department's pushes, oldest first.
	DepartmentPushes(ctx context.Context, department string) ([]Push, error)
	// RoundDispatched reports whether month's round (YYYY-MM) was dispatched.
	RoundDispatched(ctx context.Context, month string) (bool, error)
	// CarryOver lists township's open cases without a result as of today (see the store's
	// CarryOver).
	CarryOver(ctx context.Context, month, township string, today Date) ([]CarryOverCase, error)
	// TaskByID loads a department task's department, status and due date.
	TaskByID(ctx context.Context, id int64) (Task, error)
	// GroupRecipients gives the named townships' group chats and their cadres' userids (by
	// userid), in one look for all of them; a name the org does not know is left out.
	GroupRecipients(ctx context.Context, townships []string) (map[string]Township, map[string][]string, error)
	// UserNames maps the userids the org knows to their names.
	UserNames(ctx context.Context, ids []string) (map[string]string, error)
	// MarkRemindersSent marks reminders sent at at; those in late were sent late.
	MarkRemindersSent(ctx context.Context, ids, late []int64, at time.Time) error
	// CancelReminders cancels reminders, each with its note.
	CancelReminders(ctx context.Context, ids []int64, notes []string) error
}

// FireFunc decides what becomes of claimed reminders inside the store's claim→fire
// transaction: locked are the claimed (and digest-carried) reminders still pending, in id
// order, and byCase their cases.
type FireFunc func(ctx context.Context, tx ReminderTx, locked []StoredReminder, byCase map[int64]Case) error
