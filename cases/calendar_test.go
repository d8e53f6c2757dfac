package cases

import (
	"strings"
	"testing"
)

func TestAddWorkingDaysSpecExamples(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct{ from, want string }{
		{"2026-09-28", "2026-10-30"}, // across 国庆中秋
		{"2026-11-10", "2026-12-08"},
		{"2027-01-11", "2027-02-14"}, // a Sunday that is a 调休 working day
	} {
		got := cal.AddWorkingDays(MustDate(tc.from), 20)
		if got.String() != tc.want {
			t.Errorf("AddWorkingDays(%s, 20) = %s, want %s", tc.from, got, tc.want)
		}
	}
}

func TestIsWorkingDay(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct {
		day  string
		want bool
		why  string
	}{
		{"2026-11-28", false, "an ordinary Saturday"},
		{"2026-11-27", true, "an ordinary Friday"},
		{"2026-10-01", false, "National Day"},
		{"2026-10-05", false, "a Monday inside the National Day holiday"},
		{"2026-09-20", true, "a Sunday made a working day (调休) for National Day"},
		{"2026-10-10", true, "a Saturday made a working day (调休)"},
		{"2027-02-14", true, "a Sunday made a working day for the Spring Festival"},
		{"2027-01-01", false, "New Year's Day"},
		{"2026-12-31", true, "the year's last day, a Thursday"},
	} {
		if got := cal.IsWorkingDay(MustDate(tc.day)); got != tc.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", tc.day, got, tc.want, tc.why)
		}
	}
}

func TestAddWorkingDaysAcrossYearBoundary(t *testing.T) {
	cal := NewCalendar()
	// 2026-12-31 (Thu) + 1 → skips 2027-01-01 (holiday) and the weekend: Mon 2027-01-04.
	if got := cal.AddWorkingDays(MustDate("2026-12-31"), 1); got.String() != "2027-01-04" {
		t.Fatalf("got %s, want 2027-01-04", got)
	}
	if got := cal.AddWorkingDays(MustDate("2027-01-04"), -1); got.String() != "2026-12-31" {
		t.Fatalf("backwards got %s, want 2026-12-31", got)
	}
	if n := cal.WorkingDaysBetween(MustDate("2026-12-31"), MustDate("2027-01-04")); n != 1 {
		t.Fatalf("WorkingDaysBetween = %d, want 1", n)
	}
}

func TestCalendarOverrides(t *testing.T) {
	cal := NewCalendar()
	if HasOfficialData(2031) {
		t.Skip("lunar-go now ships 2031; pick a later year")
	}
	err := cal.LoadOverrides(strings.NewReader("# 2031 年（示例）\n2031-01-01 休息\n2031-01-04 上班 # Saturday\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cal.IsWorkingDay(MustDate("2031-01-01")) {
		t.Error("override holiday 2031-01-01 is still a working day")
	}
	if !cal.IsWorkingDay(MustDate("2031-01-04")) {
		t.Error("override working Saturday 2031-01-04 is not a working day")
	}
	err = cal.LoadOverrides(strings.NewReader("2031-13-01 上班\n"))
	if err == nil || !strings.Contains(err.Error(), "第 1 行") {
		t.Errorf("bad line: err = %v, want one naming line 1", err)
	}
}

func TestLastWorkingDayOfMonth(t *testing.T) {
	cal := NewCalendar()
	if got := cal.LastWorkingDayOfMonth(MustDate("2026-11-10")); got.String() != "2026-11-30" {
		t.Errorf("November 2026: %s", got)
	}
	if got := cal.LastWorkingDayOfMonth(MustDate("2026-10-10")); got.String() != "2026-10-30" {
		t.Errorf("October 2026 (31st is Saturday): %s", got)
	}
}

// Overdue and days left are said in working days, the same everywhere.
func TestDueText(t *testing.T) {
	cal := NewCalendar()
	due := MustDate("2026-12-08") // a Tuesday
	for day, want := range map[string]string{
		"2026-12-01": "还有 5 个工作日到期",
		"2026-12-07": "还有 1 个工作日到期",
		"2026-12-08": "今天到期",
		"2026-12-09": "已逾期 1 个工作日",
		"2026-12-14": "已逾期 4 个工作日",   // the weekend does not count
		"2026-11-10": "还有 20 个工作日到期", // spec: dispatched 11-10, due 12-08
	} {
		if got := cal.DueText(due, MustDate(day)); got != want {
			t.Errorf("due %s on %s: %q, want %q", due, day, got, want)
		}
	}
	if got := cal.DueText(MustDate("2026-12-11"), MustDate("2026-12-12")); got != "已逾期 1 个工作日" {
		t.Errorf("the Saturday after a Friday due date: %q", got)
	}
}
