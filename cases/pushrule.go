package cases

import (
	"strconv"
	"strings"
	"time"
)

// The push rule (spec §2 and §10): "the department has pushed period P by its deadline",
// one definition for the reminders and the assessment.
//
// NOTE for the merge: branch `rules` (issue 13) defines the same functions with the same
// signatures in cases/pushes.go (with cases.Pushed and cases.PushedOnTime). When it lands,
// delete this file and cases/pushrule_test.go; the callers need no change.
//
//   - monthly categories (medical, serious_illness, employment, assistance, population): the
//     data of period P (YYYY-MM) is due by the 5th of the month after P;
//   - education: once a year by 30 April; the period is the 学年 ending that summer
//     (`2026-2027` is due 2027-04-30) or any YYYY-MM of that year;
//   - a deadline that is not a working day moves to the next working day (民法典 art. 203);
//   - "promptly" categories (disaster, epidemic, industry, assurance) have no fixed deadline
//     here.
//
// A push counts for the period it names, never by the day it arrived; it is on time when its
// first batch arrived on or before the deadline (Asia/Shanghai dates).

// EducationDeadlineMonth and EducationDeadlineDay: 因学 data is pushed once a year, 每年4月底前.
const (
	EducationDeadlineMonth = time.April
	EducationDeadlineDay   = 30
)

// PushDeadline is the day by which a department's push of category c for period must have
// arrived; ok is false for categories without a fixed deadline or a period that cannot be read.
func PushDeadline(cal *Calendar, c Category, period string) (Date, bool) {
	var d Date
	switch {
	case c.Monthly():
		p, err := ParseMonth(period)
		if err != nil {
			return Date{}, false
		}
		d = NewDate(p.Year, p.Month+1, PushDeadlineDay)
	case c == CatEducation:
		year, ok := educationYear(period)
		if !ok {
			return Date{}, false
		}
		d = NewDate(year, EducationDeadlineMonth, EducationDeadlineDay)
	default:
		return Date{}, false
	}
	return cal.NextWorkingDay(d), true
}

// PushLate reports whether a push of category c for period that arrived on day received came
// after its deadline. Categories without a deadline are never late by this rule.
func PushLate(cal *Calendar, c Category, period string, received Date) bool {
	d, ok := PushDeadline(cal, c, period)
	return ok && received.After(d)
}

// MonthlyPeriodDue is the period whose monthly push is due in month m (the month before).
func MonthlyPeriodDue(m Date) string { return PreviousMonth(m) }

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
