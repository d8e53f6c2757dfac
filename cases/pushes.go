package cases

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Department push deadlines (docs/rules.md and docs/reminders.md) on the official calendar, and the one rule of
// what counts as a department's push: the reminders (notify) and the assessment (report)
// both ask Pushed, so a department nudged as missing is also scored as missing.

// EducationDeadlineMonth and EducationDeadlineDay: 因学 data is pushed once a year, 每年4月底前.
const (
	EducationDeadlineMonth = time.April
	EducationDeadlineDay   = 30
)

// PushNudgeWorkingDays is how many working days before its deadline a department that has
// not pushed is nudged (docs/reminders.md).
const PushNudgeWorkingDays = 2

// EpidemicPushDays: an epidemic push is due within 3 days of the event's 发生日期 (于3日内推送).
const EpidemicPushDays = 3

var schoolYear = regexp.MustCompile(`^(\d{4})-(\d{4})$`)

// PushCycle is what a push's period counts for: the month (YYYY-MM) for monthly categories,
// the year (YYYY) of the 30 April deadline for education, whose period is the 学年 ending that
// summer ("2026-2027" counts for April 2027) or a month of that 学年 (September to August:
// "2026-11" and "2027-04" count for April 2027). "" when the period cannot be read.
func PushCycle(c Category, period string) string {
	if c == CatEducation {
		if m := schoolYear.FindStringSubmatch(period); m != nil {
			y1, _ := strconv.Atoi(m[1])
			y2, _ := strconv.Atoi(m[2])
			if y2 != y1+1 {
				return "" // not a 学年
			}
			return m[2]
		}
		if p, err := ParseMonth(period); err == nil {
			if p.Month >= time.September {
				return strconv.Itoa(p.Year + 1) // the 学年 that begins in September
			}
			return strconv.Itoa(p.Year)
		}
		return ""
	}
	p, err := ParseMonth(period)
	if err != nil {
		return ""
	}
	return p.MonthKey()
}

// PushDeadline is the day by which a department's push of category c for period must have
// arrived (end of that day, Asia/Shanghai). Monthly categories: the 5th of the month after the
// period (每月5日前, last month's data); education: 30 April of the cycle's year. A deadline
// that is not a working day moves to the next working day (民法典 art. 203). ok is false for
// the categories pushed promptly after events (disaster, epidemic, industry, assurance).
func PushDeadline(cal *Calendar, c Category, period string) (Date, bool) {
	cycle := PushCycle(c, period)
	if cycle == "" {
		return Date{}, false
	}
	switch {
	case c.Monthly():
		p, _ := ParseMonth(cycle)
		return cal.NextWorkingDay(NewDate(p.Year, p.Month+1, PushDeadlineDay)), true
	case c == CatEducation:
		y, _ := strconv.Atoi(cycle)
		return cal.NextWorkingDay(NewDate(y, EducationDeadlineMonth, EducationDeadlineDay)), true
	}
	return Date{}, false
}

// PushNudgeDay is when the liaisons who have not pushed are nudged: 2 working days before
// the deadline (which may fall in the month before the deadline's).
func PushNudgeDay(cal *Calendar, deadline Date) Date {
	return cal.AddWorkingDays(deadline, -PushNudgeWorkingDays)
}

// PushLateDay is when liaisons and the office are told a push is missing: the first working
// day after the deadline.
func PushLateDay(cal *Calendar, deadline Date) Date { return cal.AddWorkingDays(deadline, 1) }

// MonthlyPeriodDue is the period whose monthly push is due in month m (the month before).
func MonthlyPeriodDue(m Date) string { return PreviousMonth(m) }

// PushLate reports whether a push of category c for period that arrived on day received came
// after its deadline. Categories without a deadline are never late by this rule (an epidemic
// push is judged by its events, EpidemicLate).
func PushLate(cal *Calendar, c Category, period string, received Date) bool {
	d, ok := PushDeadline(cal, c, period)
	return ok && received.After(d)
}

// EpidemicLate reports whether a push received on day received reports an event of day
// event later than 3 days after it (于3日内推送: the event on the 1st is due by the 4th).
func EpidemicLate(event, received Date) bool {
	return !event.IsZero() && received.After(event.AddDays(EpidemicPushDays))
}

// Push is one batch a department sent: the category and period it names, when it arrived,
// and whether it was late (docs/reminders.md).
type Push struct {
	Category   Category
	Period     string
	ReceivedAt time.Time
	Late       bool
}

// Pushed is the rule "the department has pushed category c for period": a push counts for
// the period it names, never for the day it arrived (a late push of an old period does not
// stand in for this month's). It returns the first such push (by arrival).
func Pushed(pushes []Push, c Category, period string) (Push, bool) {
	want := PushCycle(c, period)
	var first Push
	found := false
	for _, p := range pushes {
		if p.Category != c || want == "" || PushCycle(c, p.Period) != want {
			continue
		}
		if !found || p.ReceivedAt.Before(first.ReceivedAt) {
			first, found = p, true
		}
	}
	return first, found
}

// PushedOnTime reports whether the first push of c for period arrived by its deadline.
func PushedOnTime(cal *Calendar, pushes []Push, c Category, period string) (Push, bool) {
	p, ok := Pushed(pushes, c, period)
	if !ok {
		return p, false
	}
	return p, !PushLate(cal, c, period, DateOf(p.ReceivedAt))
}

// PushesDue is what a department giving categories cats owed in the month that begins on
// first, as of today — the one answer to "which pushes are due", for the assessment and (by
// MissingPushes, its monthly part) the reminders; by category:
//   - monthly categories: the data of the month before (MonthlyPeriodDue), due by the 5th;
//   - education: in April only, the 学年 ending that summer (a YYYY-MM period of that 学年
//     counts for it too, PushCycle);
//   - epidemic: every push received in the month, due within 3 days of its events; one marked
//     late at import is not on time;
//   - the other "promptly" categories follow events nobody knows before the push: never due.
//
// A push counts for the period it names (Pushed), on time when its first batch arrived by
// the deadline. Before its deadline a push not yet received is not due: there is nothing to
// measure yet. The result is sorted by category.
func PushesDue(cal *Calendar, cats []Category, pushes []Push, first, today Date) []PushDue {
	var out []PushDue
	schoolYear := fmt.Sprintf("%04d-%04d", first.Year-1, first.Year)
	for _, c := range cats {
		var due PushDue
		switch {
		case c.Monthly():
			due = PushDue{Category: c, Period: MonthlyPeriodDue(first)}
		case c == CatEducation && first.Month == EducationDeadlineMonth:
			due = PushDue{Category: c, Period: schoolYear}
		case c == CatEpidemic:
			for _, p := range pushes {
				if p.Category == c && DateOf(p.ReceivedAt).MonthKey() == first.MonthKey() {
					t := p.ReceivedAt
					out = append(out, PushDue{Category: c, Period: p.Period, Deadline: DateOf(t), Received: &t, OnTime: !p.Late})
				}
			}
			continue
		default:
			continue
		}
		deadline, ok := PushDeadline(cal, c, due.Period)
		if !ok {
			continue
		}
		due.Deadline = deadline
		if p, onTime := PushedOnTime(cal, pushes, c, due.Period); !p.ReceivedAt.IsZero() {
			t := p.ReceivedAt
			due.Received = &t
			due.OnTime = onTime
		} else if !today.After(deadline) {
			continue // not yet due: nothing to measure
		}
		out = append(out, due)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Category < out[j].Category })
	return out
}

// MissingPushes lists the monthly categories of cats not pushed for period (Pushed): what
// the push reminders name, by the rule the assessment scores.
func MissingPushes(cats []Category, pushes []Push, period string) []Category {
	var missing []Category
	for _, c := range cats {
		if _, ok := Pushed(pushes, c, period); c.Monthly() && !ok {
			missing = append(missing, c)
		}
	}
	return missing
}
