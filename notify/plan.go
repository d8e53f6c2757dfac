// Package notify plans and sends the reminders of docs/reminders.md. Postgres holds every reminder
// (what is due, to whom, and what became of it); Redis holds the schedule, a sorted set that
// workers claim from atomically and that can always be rebuilt from Postgres. Messages leave
// through the Sender interface, in the transaction that marks the reminder sent.
package notify

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// Store is what notify needs of the ledger's store (cases/postgres.DB implements it): the
// reminders' storage, and the claim→fire transaction as a unit of work (FireReminders).
type Store interface {
	Clock
	ReminderOrg(ctx context.Context) ([]cases.OrgDepartment, []string, error)
	PlanReminders(ctx context.Context, rs []cases.Reminder) error
	PendingReminders(ctx context.Context, unscheduledOnly bool, limit int) ([]cases.DueReminder, error)
	MarkRemindersScheduled(ctx context.Context, ids []int64) error
	FireReminders(ctx context.Context, ids []int64, now time.Time, fire cases.FireFunc) error
	// ReminderKinds gives the kinds of these reminders, in one look.
	ReminderKinds(ctx context.Context, ids []int64) (map[int64]cases.ReminderKind, error)
	MonthEndSummary(ctx context.Context, month string) (cases.MonthEndSummary, error)
	// DepartmentResults is 结果运用 for a round (docs/office.md).
	DepartmentResults(ctx context.Context, round, dept string) ([]cases.DepartmentResults, error)
	ListReminders(ctx context.Context, caseNo, keyPrefix string) ([]cases.ReminderListing, error)
	SentRemindersByKind(ctx context.Context) (map[string]int, error)
}

// Clock is the store's clock and calendar, which the hooks read when they run (so a test's
// clock applies).
type Clock interface {
	Clock() time.Time
	Calendar() *cases.Calendar
}

// CaseHook plans, cancels and renews a case's reminders inside the transaction of its change
// (register it in postgres.Hooks.Case). On creation (before.ID == 0) it plans them; when the case
// closes it cancels them; when a spot check returns it (new due_on) it cancels the old ones
// and plans new ones. It reads db.Now and db.Cal when it runs, so a test's clock applies.
func CaseHook(db Clock) cases.CaseHook {
	return func(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
		now, cal := db.Clock(), db.Calendar()
		switch {
		case before.ID == 0:
			return tx.PlanReminders(ctx, cases.CaseReminders(after, cal, now))
		case after.Status == cases.StatusClosed && before.Status != cases.StatusClosed:
			return tx.CancelCaseReminders(ctx, after.ID, "案件已办结")
		case after.Status == cases.StatusReturned && (before.Status != cases.StatusReturned || before.DueOn != after.DueOn):
			if err := tx.CancelCaseReminders(ctx, after.ID, "案件被退回重办，按新时限提醒"); err != nil {
				return err
			}
			return tx.PlanReminders(ctx, cases.CaseReminders(after, cal, now))
		case after.Status.Open() && before.DueOn != after.DueOn:
			// 补充预警 of a new problem moved due_on: remind by the new date. A reminder of the
			// same day and kind is the same reminder: it comes back if it was cancelled.
			if err := tx.CancelCaseReminders(ctx, after.ID, "办理时限已变更，按新时限提醒"); err != nil {
				return err
			}
			rs := cases.CaseReminders(after, cal, now)
			if err := tx.ReviveReminders(ctx, rs); err != nil {
				return err
			}
			return tx.PlanReminders(ctx, rs)
		}
		return nil
	}
}

// TaskHook plans a department task's reminders inside the transaction that adds it, and
// cancels those still pending in the transaction that completes it (register it in
// postgres.Hooks.Task).
func TaskHook(db Clock) cases.TaskHook {
	return func(ctx context.Context, tx cases.Tx, t cases.Task) error {
		if t.Status == cases.TaskDone {
			return tx.CancelTaskReminders(ctx, t.ID, TaskDoneNote)
		}
		return tx.PlanReminders(ctx, cases.TaskReminders(t, db.Calendar(), db.Clock()))
	}
}

// TaskDoneNote is why a completed task's reminders are not sent.
const TaskDoneNote = "部门任务已办理"

// PlanMonth plans the month's department, dispatch and month-end reminders (docs/reminders.md) for
// the departments and townships of the org; idempotent.
func PlanMonth(ctx context.Context, db Store, month cases.Date) (int, error) {
	od, towns, err := db.ReminderOrg(ctx)
	if err != nil {
		return 0, fmt.Errorf("plan month %s: %w", month.MonthKey(), err)
	}
	rs := cases.MonthReminders(month, od, towns, db.Calendar())
	if err := db.PlanReminders(ctx, rs); err != nil {
		return 0, fmt.Errorf("plan month %s: %w", month.MonthKey(), err)
	}
	return len(rs), nil
}

// Row is one stored reminder, as `fangpin reminders --json` prints it.
type Row = cases.ReminderListing

// ListMonth plans month's cycle on demand (idempotent, also for months ahead) and returns its
// reminders by due moment: push nudges and late notices, the dispatch reminder, the
// month-end and feedback reminders (docs/reminders.md, `fangpin reminders --month`). A month
// before the current one is never planned now: its reminders would be due at once, and a
// running worker would send a past cycle's notices. It is listed as it was kept, and what it
// called for that was never planned shows as cancelled.
func ListMonth(ctx context.Context, db Store, month cases.Date) ([]Row, error) {
	past := month.MonthKey() < cases.DateOf(db.Clock()).MonthKey()
	if !past {
		if _, err := PlanMonth(ctx, db, month); err != nil {
			return nil, err
		}
	}
	rows, err := db.ListReminders(ctx, "", "month:"+month.MonthKey()+":")
	if err != nil {
		return nil, fmt.Errorf("list reminders of %s: %w", month.MonthKey(), err)
	}
	if !past {
		return rows, nil
	}
	od, towns, err := db.ReminderOrg(ctx)
	if err != nil {
		return nil, fmt.Errorf("list reminders of %s: %w", month.MonthKey(), err)
	}
	kept := map[string]bool{}
	for _, r := range rows {
		kept[r.Kind+"|"+r.Target+"|"+r.DueAt.UTC().String()] = true
	}
	for _, r := range cases.MonthReminders(month, od, towns, db.Calendar()) {
		if !kept[string(r.Kind)+"|"+r.Target+"|"+r.At.UTC().String()] {
			rows = append(rows, Row{Kind: string(r.Kind), Target: r.Target, DueAt: r.At, State: "cancelled", Note: NotPlannedNote})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].DueAt.Before(rows[j].DueAt) })
	return rows, nil
}

// NotPlannedNote is why a past month's reminder that was never planned is listed as cancelled.
const NotPlannedNote = "所属月份已过，当时未计划，不再发送"

// SentByKind counts the reminders sent, by kind (the demo's closing line).
func SentByKind(ctx context.Context, db Store) (map[string]int, error) {
	return db.SentRemindersByKind(ctx)
}

// List returns reminders by due moment, all of them or one case's (caseNo != "").
func List(ctx context.Context, db Store, caseNo string) ([]Row, error) {
	rows, err := db.ListReminders(ctx, caseNo, "")
	if err != nil {
		return nil, fmt.Errorf("list reminders: %w", err)
	}
	return rows, nil
}
