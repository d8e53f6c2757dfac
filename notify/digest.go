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

// digestStates gives the state of each digest that the reminders in rs travel in, in one look
// for the whole batch: a reminder whose digest is pending is left for it (the worker that
// claimed it only lets go of its claim); one whose digest was sent waits for the next day's.
func digestStates(ctx context.Context, tx cases.ReminderTx, rs []cases.StoredReminder) (map[string]string, error) {
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
	states, err := tx.KeyStates(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("digests of %d reminders: %w", len(rs), err)
	}
	return states, nil
}

// NextDigestNote is why a digested reminder planned after its group's digest went out is not
// sent on its own.
const NextDigestNote = "本群今天的提醒已发出，并入下一个工作日的提醒"

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
	var body digestBody
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
		if next, ok := body.add(r, c, text, day, now, w.DB.Calendar()); ok {
			out.next = append(out.next, next)
		}
	}
	if len(out.sent) == 0 {
		return out, nil
	}
	out.text, err = body.write(ctx, tx, strings.TrimPrefix(d.Target, "group:"), &out)
	return out, err
}

// digestLine is one case's line in a digest.
type digestLine struct {
	order int // overdue first, then due today, then due soon
	days  int
	text  string
}

// digestBody is what a digest says, gathered from the reminders that go out with it: one line
// per case, how many are overdue, due today and due soon, and the month-end list if it is due.
type digestBody struct {
	lines    []digestLine
	counts   [3]int
	monthEnd string
}

// add puts a sent reminder's case (or the month-end list, text) in the digest. An overdue
// case's reminder returns the next overdue reminder to plan.
func (b *digestBody) add(r cases.StoredReminder, c *caseInfo, text string, day cases.Date, now time.Time, cal *cases.Calendar) (cases.Reminder, bool) {
	switch cases.ReminderKind(r.Kind) {
	case cases.RemindMonthEnd:
		b.monthEnd = text
	case cases.RemindCaseOverdue:
		n := max(cases.DaysOverdue(c.Case, day, cal), 1)
		b.lines = append(b.lines, digestLine{0, -n, fmt.Sprintf("%s %s（%s）", c.household(), cal.DueText(c.DueOn, day), c.Status.Label())})
		b.counts[0]++
		return cases.NextOverdueReminder(c.Case, day, now, cal), true
	case cases.RemindCaseDue:
		left := cal.WorkingDaysBetween(day, c.DueOn)
		text := fmt.Sprintf("%s %s（%s）", c.household(), cal.DueText(c.DueOn, day), c.Status.Label())
		if left <= 0 {
			b.lines = append(b.lines, digestLine{1, 0, text})
			b.counts[1]++
		} else {
			b.lines = append(b.lines, digestLine{2, left, text})
			b.counts[2]++
		}
	}
	return cases.Reminder{}, false
}

// write composes the digest's text for township: the counts, the cases (overdue first,
// within digestBudget), how to answer and whose cases they are, then the month-end list.
// It keeps in out.mention only the cadres the directory knows.
func (b *digestBody) write(ctx context.Context, tx cases.ReminderTx, township string, out *digestOutcome) (string, error) {
	sortDigestLines(b.lines)
	var sb strings.Builder
	if len(b.lines) > 0 {
		var parts []string
		for i, label := range []string{"已逾期", "今天到期", "即将到期"} {
			if b.counts[i] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d 件", label, b.counts[i]))
			}
		}
		fmt.Fprintf(&sb, "【今日提醒】%s：%s。", township, strings.Join(parts, "，"))
		for i, l := range b.lines {
			if sb.Len()+len(l.text) > digestBudget {
				fmt.Fprintf(&sb, "\n……另有 %d 件，请发送“待办”查看全部。", len(b.lines)-i)
				break
			}
			sb.WriteString("\n" + l.text)
		}
		sb.WriteString("\n核查后请发送“核查 <编号> 纳入/已在监测/不纳入 说明”，录入全国系统后发送“录入 <编号>”。")
		if ids, names, err := userNames(ctx, tx, out.mention); err != nil {
			return "", err
		} else if out.mention = ids; len(names) > 0 {
			// an app-created group cannot @ by userid: the names say whose cases these are
			sb.WriteString("\n责任干部：@" + strings.Join(names, " @"))
		}
	}
	if b.monthEnd != "" {
		if sb.Len() > 0 {
			sb.WriteString("\n\n")
		}
		sb.WriteString(cutText(b.monthEnd, digestBudget))
	}
	return sb.String(), nil
}

// sortDigestLines puts overdue cases first (the most overdue first), then those due today,
// then those due soon (the soonest first); an insertion sort, stable, as a township's day is
// short.
func sortDigestLines(lines []digestLine) {
	less := func(a, b digestLine) bool {
		if a.order != b.order {
			return a.order < b.order
		}
		return a.days < b.days
	}
	for i := 1; i < len(lines); i++ {
		for j := i; j > 0 && less(lines[j], lines[j-1]); j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
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
