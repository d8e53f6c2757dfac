package cases

import (
	"regexp"
	"strconv"
	"strings"
)

var pushMonth = regexp.MustCompile(`^(\d{4})-(0[1-9]|1[0-2])$`)

// ParsePushPeriod checks the period a department names for a push and returns the month
// it is stored under. A period is exactly YYYY-MM, or for education a 学年 YYYY-YYYY
// (stored, as any month of it, as the April its push is due, the month PushCycle counts
// it for), and never later
// than today's month (education: today's 学年): a push is about what has happened.
// The CLI, the push API and the 期间 chat command all ask this one function.
func ParsePushPeriod(c Category, s string, today Date) (string, error) {
	s = strings.TrimSpace(s)
	form := "YYYY-MM（例如 " + today.MonthKey() + "）"
	if c == CatEducation {
		form = "YYYY-MM 或学年 YYYY-YYYY（例如 " + SchoolYearOf(today) + "）"
	}
	var month string
	switch {
	case pushMonth.MatchString(s):
		month = s
	case c == CatEducation && schoolYear.MatchString(s):
		m := schoolYear.FindStringSubmatch(s)
		y1, _ := strconv.Atoi(m[1])
		y2, _ := strconv.Atoi(m[2])
		if y2 != y1+1 {
			return "", Errorf(EInvalid, "学年“%s”的两个年份应相邻，请写成 %s", s, form)
		}
		month = m[2] + "-04"
	default:
		return "", Errorf(EInvalid, "期次“%s”格式不对，请写成 %s", s, form)
	}
	if c == CatEducation {
		now, _ := strconv.Atoi(PushCycle(CatEducation, today.MonthKey()))
		got, _ := strconv.Atoi(PushCycle(CatEducation, s))
		if got > now {
			return "", Errorf(EInvalid, "期次“%s”晚于当前学年 %s，只能推送当前或以往学年的数据", s, SchoolYearOf(today))
		}
		// Any month of a 学年 is that 学年: stored as one month, so that the same file
		// pushed as 2026-11 and as 2026-2027 is one push (duplicate_of, replaced), and its
		// warnings one period.
		return strconv.Itoa(got) + "-04", nil
	}
	if month > today.MonthKey() {
		return "", Errorf(EInvalid, "期次“%s”晚于本月（%s），只能推送本月或以往月份的数据", s, today.MonthKey())
	}
	return month, nil
}

// Refiled is what re-filing a push under another period (期间) did.
type Refiled struct {
	Batch    Batch  // as it is now
	From     string // the period it was filed under
	Replaced int    // rows of other pushes of the new period it replaced
}

// PeriodLabel names a push's period as the department does: a month, or education's 学年.
func PeriodLabel(c Category, period string) string {
	if c == CatEducation {
		if d, err := ParseMonth(period); err == nil {
			return "学年 " + SchoolYearOf(d)
		}
	}
	return period
}
