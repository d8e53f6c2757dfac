package cases

import (
	"fmt"
	"time"
)

// Reminder rules of docs/reminders.md as pure functions: from a case, or from a month, to the
// reminders it calls for. Whether a conditional reminder (a department has not pushed, the
// round is not dispatched, cases still lack a result) is actually sent is decided when it
// fires, not here: planning only fixes who is reminded of what, and when.

// ReminderKind says why a reminder exists.
type ReminderKind string

const (
	RemindCaseDue      ReminderKind = "case_due"       // 5, 2, 1 working days before due_on and on it → township group
	RemindCaseOverdue  ReminderKind = "case_overdue"   // every working day after due_on → township group
	RemindCaseEscalate ReminderKind = "case_escalate"  // first overdue day → the office (逾期督办)
	RemindPush         ReminderKind = "push"           // 2 working days before the deadline → liaisons who have not pushed last month's data
	RemindPushLate     ReminderKind = "push_late"      // first working day after it → liaisons and the office, if still missing
	RemindEducation    ReminderKind = "education"      // 2 working days before 30 April (moved off days off) → 教体局 liaisons
	RemindEduLate      ReminderKind = "education_late" // first working day after it → liaisons and the office
	RemindDispatch     ReminderKind = "dispatch"       // the 8th → the office, if the month's round is not dispatched
	RemindMonthEnd     ReminderKind = "month_end"      // 3 working days before month-end → township group
	RemindFeedback     ReminderKind = "feedback"       // the month's last working day → the office: who still owes results (结果反馈)
	RemindResults      ReminderKind = "results"        // the month's last working day → each department's liaisons: what became of their warnings (结果运用)
	RemindDigest       ReminderKind = "digest"         // one message a day per township group: the day's digested reminders
	RemindTaskDue      ReminderKind = "task_due"       // 2 working days before a department task's due date → its liaisons
	RemindTaskOverdue  ReminderKind = "task_overdue"   // its first overdue day → its liaisons
	RemindTaskEscalate ReminderKind = "task_escalate"  // its first overdue day → the office
)

// Digested reports whether reminders of this kind reach a township group only through the
// day's digest (docs/reminders.md: a group gets at most one reminder message a day). They stay in
// the record one by one, for the ledger and for exactly-once.
func (k ReminderKind) Digested() bool {
	return k == RemindCaseDue || k == RemindCaseOverdue || k == RemindMonthEnd
}

// DigestKey names the digest of a township group for a day; planning it twice is harmless.
func DigestKey(target string, day Date) string {
	return ReminderKey(Reminder{Kind: RemindDigest, Target: target, Day: day})
}

// ReminderKey is the one place a reminder's key is built, from the fields that make it this
// reminder and no other: a case's by case, returns, kind and day (so a returned case gets
// fresh reminders while its first round's stay in the record); a task's by task, kind,
// target and day; a month cycle's by month, kind, department or township, and target; a
// digest by target and day.
func ReminderKey(r Reminder) string {
	switch {
	case r.Kind == RemindDigest:
		return "digest:" + r.Target + ":" + r.Day.String()
	case r.Kind.CaseKind():
		return fmt.Sprintf("case:%d:%d:%s:%s", r.CaseID, r.Returns, r.Kind, r.Day)
	case r.Kind.TaskKind():
		return fmt.Sprintf("task:%d:%s:%s:%s", r.TaskID, r.Kind, r.Target, r.Day)
	}
	who := r.Department
	if r.Kind == RemindMonthEnd {
		who = r.Township
	}
	return fmt.Sprintf("month:%s:%s:%s:%s", r.Cycle, r.Kind, who, r.Target)
}

// keyed returns r with its key (ReminderKey) set.
func keyed(r Reminder) Reminder {
	r.Key = ReminderKey(r)
	return r
}

// Retarget is a pending reminder of a township group whose township was renamed or merged
// into to: sent to to's group, under the key it would have been planned with for to. Only
// the digest's and month-end's keys name the group; a case's and a task's stay. A month-end
// reminder falls in its own cycle's month, so that month is its cycle.
func Retarget(r StoredReminder, key, to string) (target, newKey string) {
	target = TargetGroup(to)
	switch r.Kind {
	case RemindDigest:
		return target, ReminderKey(Reminder{Kind: RemindDigest, Target: target, Day: DateOf(r.DueAt)})
	case RemindMonthEnd:
		return target, ReminderKey(Reminder{Kind: RemindMonthEnd, Cycle: DateOf(r.DueAt).MonthKey(), Township: to, Target: target})
	}
	return target, key
}

// WithDigests adds to rs the digest of every township group and day that a digested
// reminder of rs goes to.
func WithDigests(rs []Reminder) []Reminder {
	seen := map[string]bool{}
	out := rs
	for _, r := range rs {
		if !r.Kind.Digested() || r.Township == "" {
			continue
		}
		key := DigestKey(r.Target, r.Day)
		if seen[key] {
			continue
		}
		seen[key] = true
		d := keyed(newReminder(RemindDigest, r.Target, r.Day))
		d.Township = r.Township
		out = append(out, d)
	}
	return out
}

// TaskKind reports whether reminders of this kind belong to a department task.
func (k ReminderKind) TaskKind() bool {
	return k == RemindTaskDue || k == RemindTaskOverdue || k == RemindTaskEscalate
}

// TaskDueReminderOffset is how many working days before its due date a task is recalled.
const TaskDueReminderOffset = 2

// TaskReminders returns an open department task's reminders (docs/reminders.md): 2 working days before
// its due date and on its first overdue day to the department's liaisons (privately), and the
// escalation to the office that same day. Moments at or before `after` are left out.
func TaskReminders(t Task, cal *Calendar, after time.Time) []Reminder {
	if t.Status != TaskOpen || t.DueOn.IsZero() {
		return nil
	}
	var out []Reminder
	add := func(kind ReminderKind, target string, day Date) {
		r := newReminder(kind, target, day)
		r.CaseID, r.TaskID, r.Department, r.Township = t.CaseID, t.ID, t.Department, t.Township
		if r = keyed(r); r.At.After(after) {
			out = append(out, r)
		}
	}
	add(RemindTaskDue, TargetLiaisons(t.Department), cal.AddWorkingDays(t.DueOn, -TaskDueReminderOffset))
	first, late := FirstOverdueReminderDay(cal, t.DueOn, after)
	if late {
		after = time.Time{} // overdue already: both go out on that day, at once if its hour has passed
	}
	add(RemindTaskOverdue, TargetLiaisons(t.Department), first)
	add(RemindTaskEscalate, TargetOffice, first)
	return out
}

// FirstOverdueReminderDay is the day of the first overdue reminder and the office's
// escalation of something due on due, planned at after: the first working day after due or,
// when that has passed already (a round recorded with an earlier 交办 day), today or the next
// working day — late is then true, and a day whose hour has passed sends at once. Without
// it, what was overdue when made was never reminded at all.
func FirstOverdueReminderDay(cal *Calendar, due Date, after time.Time) (day Date, late bool) {
	first := cal.AddWorkingDays(due, 1)
	if first.At(ReminderHour, 0).After(after) {
		return first, false
	}
	return cal.NextWorkingDay(DateOf(after)), true
}

// CaseKind reports whether reminders of this kind belong to a case.
func (k ReminderKind) CaseKind() bool {
	return k == RemindCaseDue || k == RemindCaseOverdue || k == RemindCaseEscalate
}

// Reminder targets. A target names who reads the reminder, independent of how the bot reaches
// them: the township's group chat (@ its cadres), the office's staff, a department's liaisons.
const (
	TargetOffice = "office"
)

// TargetGroup is the township's group chat.
func TargetGroup(township string) string { return "group:" + township }

// TargetLiaisons are a department's liaisons.
func TargetLiaisons(department string) string { return "liaisons:" + department }

// ReminderHour is when every reminder goes out, Asia/Shanghai (docs/reminders.md: 09:00).
const ReminderHour = 9

// DueReminderOffsets are the working days before due_on that the township is nudged.
var DueReminderOffsets = []int{5, 2, 1, 0}

// Days of the month (docs/reminders.md and docs/rules.md). The push reminders follow each deadline on the official
// calendar instead (PushDeadline, PushNudgeDay, PushLateDay): a nudge 2 working days before
// the deadline, a late notice on the first working day after it.
const (
	DispatchReminderDay = 8  // 交办提醒 (round due by the 10th); a day off moves it to the next working day
	MonthEndWorkingDays = 3  // 月底反馈提醒: this many working days before the last day
	PushDeadlineDay     = 5  // the monthly push deadline before moving it off a day off
	DispatchDeadlineDay = 10 // the dispatch deadline, for the text
)

// Reminder is one planned reminder. Key is deterministic, so planning twice is harmless.
type Reminder struct {
	Key        string
	Kind       ReminderKind
	CaseID     int64  // case reminders (and task reminders, for listing by case)
	TaskID     int64  // department task reminders
	Department string // push and education reminders
	Period     string // push and education reminders: the period whose push is due
	Township   string // case and month-end reminders
	Returns    int    // case reminders: the case's returns when they were planned
	Cycle      string // month cycle reminders: the YYYY-MM of MonthReminders
	Target     string
	Day        Date
	At         time.Time // Day at 09:00 Asia/Shanghai
}

// newReminder is a reminder without its key: the caller fills in what the key is built from,
// then keyed sets it.
func newReminder(kind ReminderKind, target string, day Date) Reminder {
	return Reminder{Kind: kind, Target: target, Day: day, At: day.At(ReminderHour, 0)}
}

// caseReminder is one of a case's reminders, keyed.
func caseReminder(c Case, kind ReminderKind, target string, day Date) Reminder {
	r := newReminder(kind, target, day)
	r.CaseID, r.Returns, r.Township = c.ID, c.Returns, c.Township
	return keyed(r)
}

// CaseReminders returns an open case's reminders: 5, 2 and 1 working days before due_on and
// on due_on to the township group, and on the first overdue day both the overdue reminder and
// the escalation to the office. Later overdue reminders are chained one at a time by
// NextOverdueReminder, because they go on only until the case closes. Reminders at or before
// `after` (the moment of planning) are left out: a nudge for a moment already gone is noise.
func CaseReminders(c Case, cal *Calendar, after time.Time) []Reminder {
	if !c.Status.Open() || c.DueOn.IsZero() {
		return nil
	}
	group := TargetGroup(c.Township)
	var out []Reminder
	add := func(r Reminder) {
		if r.At.After(after) {
			out = append(out, r)
		}
	}
	for _, n := range DueReminderOffsets {
		day := cal.AddWorkingDays(c.DueOn, -n)
		if n == 0 && !cal.IsWorkingDay(day) {
			// A due date that is not a working day (rare): remind on the working day before.
			day = cal.AddWorkingDays(day, -1)
		}
		add(caseReminder(c, RemindCaseDue, group, day))
	}
	first, late := FirstOverdueReminderDay(cal, c.DueOn, after)
	if late {
		return append(out, caseReminder(c, RemindCaseOverdue, group, first), caseReminder(c, RemindCaseEscalate, TargetOffice, first))
	}
	add(caseReminder(c, RemindCaseOverdue, group, first))
	add(caseReminder(c, RemindCaseEscalate, TargetOffice, first))
	return out
}

// NextOverdueReminder is the overdue reminder after the one of day `sent`: the next working
// day whose 09:00 is still to come at now. After an outage it so skips the days that went by,
// and the township gets one overdue reminder on recovery rather than one per missed day.
func NextOverdueReminder(c Case, sent Date, now time.Time, cal *Calendar) Reminder {
	day := cal.AddWorkingDays(sent, 1)
	for !day.At(ReminderHour, 0).After(now) {
		day = cal.AddWorkingDays(day, 1)
	}
	return caseReminder(c, RemindCaseOverdue, TargetGroup(c.Township), day)
}

// DaysOverdue counts the working days from due_on to day (1 on the first overdue day).
func DaysOverdue(c Case, day Date, cal *Calendar) int {
	return cal.WorkingDaysOverdue(c.DueOn, day)
}

// MonthReminders returns the reminders month's cycle calls for (month is any day of it):
// for every department with monthly categories, the nudge 2 working days before the
// deadline of last month's data (the 5th, moved to the next working day; the nudge may fall
// in the month before) and the late notice on the first working day after it; in April, the
// same around the education deadline of 30 April (its late notice falls in May); the dispatch
// reminder on the 8th (moved to the next working day); each township's month-end reminder and
// the office's feedback reminder on the month's last working day.
func MonthReminders(month Date, departments []OrgDepartment, townships []string, cal *Calendar) []Reminder {
	m := month.MonthKey()
	cycle := func(kind ReminderKind, target string, day Date) Reminder {
		r := newReminder(kind, target, day)
		r.Cycle = m
		return r
	}
	on := func(day int) Date { return cal.NextWorkingDay(NewDate(month.Year, month.Month, day)) }
	var out []Reminder
	dept := func(kind ReminderKind, d, target, period string, day Date) {
		r := cycle(kind, target, day)
		r.Department, r.Period = d, period
		out = append(out, keyed(r))
	}
	period := MonthlyPeriodDue(month)
	eduPeriod := fmt.Sprintf("%04d-%02d", month.Year, int(EducationDeadlineMonth))
	for _, d := range departments {
		monthly, education := false, false
		for _, c := range d.Categories {
			monthly = monthly || c.Monthly()
			education = education || c == CatEducation
		}
		if monthly {
			deadline, _ := PushDeadline(cal, CatMedical, period)
			dept(RemindPush, d.Name, TargetLiaisons(d.Name), period, PushNudgeDay(cal, deadline))
			for _, target := range []string{TargetLiaisons(d.Name), TargetOffice} {
				dept(RemindPushLate, d.Name, target, period, PushLateDay(cal, deadline))
			}
		}
		if education && month.Month == EducationDeadlineMonth {
			deadline, _ := PushDeadline(cal, CatEducation, eduPeriod)
			dept(RemindEducation, d.Name, TargetLiaisons(d.Name), eduPeriod, PushNudgeDay(cal, deadline))
			for _, target := range []string{TargetLiaisons(d.Name), TargetOffice} {
				dept(RemindEduLate, d.Name, target, eduPeriod, PushLateDay(cal, deadline))
			}
		}
	}
	out = append(out, keyed(cycle(RemindDispatch, TargetOffice, on(DispatchReminderDay))))
	monthEnd := cal.AddWorkingDays(month.LastOfMonth(), -MonthEndWorkingDays)
	if !cal.IsWorkingDay(month.LastOfMonth()) {
		// "3 working days before month-end" counts back from the month's last working day
		// when the last calendar day is a day off, so the township keeps three working days.
		monthEnd = cal.AddWorkingDays(cal.LastWorkingDayOfMonth(month), -MonthEndWorkingDays)
	}
	out = append(out, keyed(cycle(RemindFeedback, TargetOffice, cal.LastWorkingDayOfMonth(month))))
	for _, d := range departments {
		// 结果运用: the month's round as the department's liaisons would ask it with 结果
		dept(RemindResults, d.Name, TargetLiaisons(d.Name), m, cal.LastWorkingDayOfMonth(month))
	}
	for _, t := range townships {
		r := cycle(RemindMonthEnd, TargetGroup(t), monthEnd)
		r.Township = t
		out = append(out, keyed(r))
	}
	return out
}

// PreviousMonth is the YYYY-MM before the month of d: the period monthly pushes cover.
func PreviousMonth(d Date) string {
	return NewDate(d.Year, d.Month-1, 1).MonthKey()
}
