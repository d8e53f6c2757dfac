package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// A township group gets at most one reminder message a day (docs/reminders.md): the cases due today,
// due soon and overdue, and on its day the month-end list, go out as one digest. Each case
// reminder stays a row of its own, marked sent with the digest, so the record and
// exactly-once are unchanged; only the message is shared.

// digestBudget keeps a digest inside one WeCom text message (2,048 bytes), with room for
// the header and the closing line.
const digestBudget = 1500

// digestsPending reports which of the digests that the reminders in rs travel in are still
// to be sent, in one look for the whole batch: a reminder whose digest is pending is left
// for it, and the worker that claimed it only lets go of its claim.
func digestsPending(ctx context.Context, tx cases.ReminderTx, rs []cases.StoredReminder) (map[string]bool, error) {
	var keys []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !r.Kind.Digested() {
			continue
		}
		if k := digestOf(r); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	pending, err := tx.PendingKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("digests of %d reminders: %w", len(rs), err)
	}
	return pending, nil
}

// digestOf is the key of the digest a digested reminder travels in.
func digestOf(r cases.StoredReminder) string {
	return cases.DigestKey(r.Target, cases.DateOf(r.DueAt))
}

// digestOutcome is what firing a digest decided, for fire to record.
type digestOutcome struct {
	text     string  // "" when nothing was left to say
	sent     []int64 // the digested reminders that went out with it
	late     []int64
	cancel   map[int64]string
	next     []cases.Reminder
	consumed map[int64]bool // every reminder settled here, the digest's own row included
	mention  []string       // the responsible cadres of the digest's cases, to @ (docs/reminders.md)
}

// fireDigest gathers the group's pending digested reminders of the digest's day that are due
// by now, composes them into one text and decides each one's fate. byCase holds the cases
// FireReminders locked; a reminder whose case it lacks (planned a moment ago) is left pending and,
// the digest being gone, later goes out on its own.
func (w *Worker) fireDigest(ctx context.Context, tx cases.ReminderTx, d cases.StoredReminder, byCase map[int64]caseInfo, now time.Time) (digestOutcome, error) {
	out := digestOutcome{cancel: map[int64]string{}, consumed: map[int64]bool{d.ID: true}}
	day := cases.DateOf(d.DueAt)
	rows, err := tx.DigestReminders(ctx, d.Target, day, now)
	if err != nil {
		return out, err
	}
	type line struct {
		order int // overdue first, then due today, then due soon
		days  int
		text  string
	}
	var (
		lines    []line
		monthEnd string
		counts   [3]int
	)
	for _, r := range rows {
		var c *caseInfo
		if r.CaseID != 0 {
			ci, ok := byCase[r.CaseID]
			if !ok {
				continue
			}
			c = &ci
		}
		out.consumed[r.ID] = true
		// compose decides whether the reminder still holds, as for a reminder of its own.
		text, skip, err := w.compose(ctx, tx, r, c, now)
		if err != nil {
			return out, err
		}
		if skip != "" {
			out.cancel[r.ID] = skip
			continue
		}
		out.sent = append(out.sent, r.ID)
		if now.Sub(r.DueAt) > orDefault(w.Grace, 10*time.Minute) {
			out.late = append(out.late, r.ID)
		}
		if c != nil && c.Responsible != "" && !slices.Contains(out.mention, c.Responsible) {
			out.mention = append(out.mention, c.Responsible)
		}
		switch cases.ReminderKind(r.Kind) {
		case cases.RemindMonthEnd:
			monthEnd = text
		case cases.RemindCaseOverdue:
			n := max(cases.DaysOverdue(c.Case, day, w.DB.Calendar()), 1)
			lines = append(lines, line{0, -n, fmt.Sprintf("%s %s（%s）", c.household(), w.DB.Calendar().DueText(c.DueOn, day), c.Status.Label())})
			counts[0]++
			out.next = append(out.next, cases.NextOverdueReminder(c.Case, day, now, w.DB.Calendar()))
		case cases.RemindCaseDue:
			left := w.DB.Calendar().WorkingDaysBetween(day, c.DueOn)
			text := fmt.Sprintf("%s %s（%s）", c.household(), w.DB.Calendar().DueText(c.DueOn, day), c.Status.Label())
			if left <= 0 {
				lines = append(lines, line{1, 0, text})
				counts[1]++
			} else {
				lines = append(lines, line{2, left, text})
				counts[2]++
			}
		}
	}
	if len(out.sent) == 0 {
		return out, nil
	}
	sortLines := func(a, b line) bool {
		if a.order != b.order {
			return a.order < b.order
		}
		return a.days < b.days
	}
	for i := 1; i < len(lines); i++ { // insertion sort: a township's day is short
		for j := i; j > 0 && sortLines(lines[j], lines[j-1]); j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
	township := strings.TrimPrefix(d.Target, "group:")
	var b strings.Builder
	if len(lines) > 0 {
		var parts []string
		for i, label := range []string{"已逾期", "今天到期", "即将到期"} {
			if counts[i] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d 件", label, counts[i]))
			}
		}
		fmt.Fprintf(&b, "【今日提醒】%s：%s。", township, strings.Join(parts, "，"))
		for i, l := range lines {
			if b.Len()+len(l.text) > digestBudget {
				fmt.Fprintf(&b, "\n……另有 %d 件，请发送“待办”查看全部。", len(lines)-i)
				break
			}
			b.WriteString("\n" + l.text)
		}
		b.WriteString("\n核查后请发送“核查 <编号> 纳入/已在监测/不纳入 说明”，录入全国系统后发送“录入 <编号>”。")
		if ids, names, err := userNames(ctx, tx, out.mention); err != nil {
			return out, err
		} else if out.mention = ids; len(names) > 0 {
			// an app-created group cannot @ by userid: the names say whose cases these are
			b.WriteString("\n责任干部：@" + strings.Join(names, " @"))
		}
	}
	if monthEnd != "" {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(cutText(monthEnd, digestBudget))
	}
	out.text = b.String()
	return out, nil
}

// cutText shortens s to at most n bytes at a line break, saying how much was left out.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, l := range lines {
		if b.Len()+len(l)+1 > n {
			fmt.Fprintf(&b, "\n……另有 %d 件，请发送“待办”查看全部。", len(lines)-i)
			break
		}
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(l)
	}
	return b.String()
}

// userNames gives the userids the org still has, in their order, and their names.
func userNames(ctx context.Context, tx cases.ReminderTx, ids []string) ([]string, []string, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	byID, err := tx.UserNames(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("names of responsible cadres: %w", err)
	}
	var known, names []string
	for _, id := range ids {
		if n := byID[id]; n != "" {
			known, names = append(known, id), append(names, n)
		}
	}
	return known, names, nil
}
