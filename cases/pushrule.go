package cases

import (
	"strconv"
	"strings"
	"time"
)

// The push rule (spec §2 and §10): "the department has pushed period P by its deadline".
// One definition for the reminders and the assessment.
//
//   - monthly categories (medical, serious_illness, employment, assistance, population): the
//     data of period P (YYYY-MM) is due by the 5th of the month after P, extended to the next
//     working day when the 5th is not one (民法典 art. 203);
//   - education: once a year by 30 April; the period is the 学年 ending that summer
//     (`2026-2027` is due 2027-04-30) — a YYYY-MM period is read as that year's April;
//   - "promptly" categories (disaster, epidemic, industry, assurance) follow events the
//     system cannot know before the push arrives: they have no deadline to miss here.
//
// A push counts for the period it names, never by the day it arrived; it is on time when its
// first batch arrived on or before the deadline (Asia/Shanghai dates).

// PushDeadline is the last day a push of category c for period is on time; ok is false for
// categories without a fixed deadline or a period that cannot be read.
func PushDeadline(c Category, period string, cal *Calendar) (deadline Date, ok bool) {
	switch {
	case c.Monthly():
		p, err := ParseMonth(period)
		if err != nil {
			return Date{}, false
		}
		d := NewDate(p.Year, p.Month+1, PushDeadlineDay)
		if cal != nil {
			d = cal.NextWorkingDay(d)
		}
		return d, true
	case c == CatEducation:
		year, ok := educationYear(period)
		if !ok {
			return Date{}, false
		}
		return NewDate(year, time.April, 30), true
	}
	return Date{}, false
}

// PushOnTime reports whether a push of category c for period, first received at received,
// met its deadline. A category without a deadline is never late.
func PushOnTime(c Category, period string, received time.Time, cal *Calendar) bool {
	deadline, ok := PushDeadline(c, period, cal)
	if !ok {
		return true
	}
	return !DateOf(received).After(deadline)
}

// educationYear is the calendar year whose 30 April closes an education period:
// `2026-2027` → 2027, `2027-04` → 2027.
func educationYear(period string) (int, bool) {
	a, b, found := strings.Cut(strings.TrimSpace(period), "-")
	if !found || len(a) != 4 {
		return 0, false
	}
	y, err := strconv.Atoi(a)
	if err != nil {
		return 0, false
	}
	if len(b) == 4 {
		y2, err := strconv.Atoi(b)
		if err != nil || y2 != y+1 {
			return 0, false
		}
		return y2, true
	}
	if _, err := ParseMonth(period); err != nil {
		return 0, false
	}
	return y, true
}
