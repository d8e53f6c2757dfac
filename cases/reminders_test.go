package cases

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func describe(rs []Reminder) string {
	var b []string
	for _, r := range rs {
		if r.At != r.Day.At(9, 0) {
			b = append(b, "NOT-AT-09:00")
		}
		b = append(b, fmt.Sprintf("%s %s %s", r.Day, r.Kind, r.Target))
	}
	return strings.Join(b, "\n")
}

func TestCaseReminders(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct {
		name  string
		c     Case
		after time.Time
		want  []string
	}{
		{"spec example: dispatched 11-10, due 12-08",
			Case{ID: 7, Township: "城关镇", Status: StatusDispatched, DueOn: MustDate("2026-12-08")},
			MustDate("2026-11-10").At(10, 0),
			[]string{
				"2026-12-01 case_due group:城关镇",
				"2026-12-04 case_due group:城关镇",
				"2026-12-07 case_due group:城关镇",
				"2026-12-08 case_due group:城关镇",
				"2026-12-09 case_overdue group:城关镇",
				"2026-12-09 case_escalate office",
			}},
		{"across 国庆: dispatched 09-28, due 10-30",
			Case{ID: 8, Township: "河口乡", Status: StatusDispatched, DueOn: MustDate("2026-10-30")},
			MustDate("2026-09-28").At(10, 0),
			[]string{
				"2026-10-23 case_due group:河口乡",
				"2026-10-28 case_due group:河口乡",
				"2026-10-29 case_due group:河口乡",
				"2026-10-30 case_due group:河口乡",
				"2026-11-02 case_overdue group:河口乡",
				"2026-11-02 case_escalate office",
			}},
		{"returned case planned on 12-04 keeps only what is still ahead",
			Case{ID: 9, Township: "城关镇", Status: StatusReturned, Returns: 1, DueOn: MustDate("2026-12-08")},
			MustDate("2026-12-04").At(9, 30),
			[]string{
				"2026-12-07 case_due group:城关镇",
				"2026-12-08 case_due group:城关镇",
				"2026-12-09 case_overdue group:城关镇",
				"2026-12-09 case_escalate office",
			}},
		{"a round recorded on 12-08 with 交办 day 10-09: overdue already, reminded and escalated from today",
			Case{ID: 11, Township: "城关镇", Status: StatusDispatched, DueOn: MustDate("2026-11-05")},
			MustDate("2026-12-08").At(10, 0),
			[]string{
				"2026-12-08 case_overdue group:城关镇",
				"2026-12-08 case_escalate office",
			}},
		{"the same on a Saturday: from Monday",
			Case{ID: 11, Township: "城关镇", Status: StatusDispatched, DueOn: MustDate("2026-11-05")},
			MustDate("2026-12-12").At(10, 0),
			[]string{
				"2026-12-14 case_overdue group:城关镇",
				"2026-12-14 case_escalate office",
			}},
		{"closed case has none",
			Case{ID: 10, Township: "城关镇", Status: StatusClosed, DueOn: MustDate("2026-12-08")},
			MustDate("2026-11-10").At(10, 0), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := CaseReminders(tc.c, cal, tc.after)
			if got, want := describe(rs), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			again := CaseReminders(tc.c, cal, tc.after)
			for i := range rs {
				if rs[i].Key != again[i].Key {
					t.Errorf("keys differ between two plannings: %s vs %s", rs[i].Key, again[i].Key)
				}
			}
		})
	}
}

func TestCaseReminderKeysDifferAfterReturn(t *testing.T) {
	cal := NewCalendar()
	c := Case{ID: 1, Township: "城关镇", Status: StatusDispatched, DueOn: MustDate("2026-12-08")}
	a := CaseReminders(c, cal, MustDate("2026-11-10").At(0, 0))
	c.Returns, c.Status = 1, StatusReturned
	b := CaseReminders(c, cal, MustDate("2026-11-10").At(0, 0))
	if a[0].Key == b[0].Key {
		t.Fatalf("a returned case must get new keys, both are %s", a[0].Key)
	}
}

func TestNextOverdueReminder(t *testing.T) {
	cal := NewCalendar()
	c := Case{ID: 7, Township: "城关镇", Status: StatusDispatched, DueOn: MustDate("2026-12-08")}
	for _, tc := range []struct{ sent, now, want string }{
		{"2026-12-09", "2026-12-09T09:00:01", "2026-12-10"},
		{"2026-12-11", "2026-12-11T09:00:01", "2026-12-14"}, // over the weekend
		{"2026-12-09", "2026-12-15T10:00:00", "2026-12-16"}, // after an outage: no catching up
		{"2026-12-09", "2026-12-15T08:00:00", "2026-12-15"},
		{"2026-12-31", "2026-12-31T09:00:01", "2027-01-04"}, // 元旦
	} {
		now, _ := time.ParseInLocation("2006-01-02T15:04:05", tc.now, Shanghai)
		r := NextOverdueReminder(c, MustDate(tc.sent), now, cal)
		if r.Day.String() != tc.want || r.Kind != RemindCaseOverdue || r.Target != "group:城关镇" || r.CaseID != 7 {
			t.Errorf("after %s at %s: got %s %s %s, want %s", tc.sent, tc.now, r.Day, r.Kind, r.Target, tc.want)
		}
	}
	if n := DaysOverdue(c, MustDate("2026-12-14"), cal); n != 4 {
		t.Errorf("DaysOverdue on 12-14 = %d, want 4", n)
	}
}

func TestMonthReminders(t *testing.T) {
	cal := NewCalendar()
	depts := []OrgDepartment{
		{Name: "医保局", Categories: []Category{CatMedical, CatAssurance}},
		{Name: "教体局", Categories: []Category{CatEducation, CatAssurance}},
		{Name: "应急管理局", Categories: []Category{CatDisaster}},
	}
	towns := []string{"城关镇", "河口乡"}
	for _, tc := range []struct {
		month string
		want  []string
	}{
		{"2026-11", []string{ // deadline Thursday the 5th; the 8th is a Sunday → Monday the 9th
			"2026-11-03 push liaisons:医保局",
			"2026-11-06 push_late liaisons:医保局",
			"2026-11-06 push_late office",
			"2026-11-09 dispatch office",
			"2026-11-30 feedback office", // the last working day
			"2026-11-30 results liaisons:医保局",
			"2026-11-30 results liaisons:教体局",
			"2026-11-30 results liaisons:应急管理局",
			"2026-11-25 month_end group:城关镇",
			"2026-11-25 month_end group:河口乡",
		}},
		{"2026-12", []string{ // the 5th is a Saturday → deadline Monday the 7th
			"2026-12-03 push liaisons:医保局",
			"2026-12-08 push_late liaisons:医保局",
			"2026-12-08 push_late office",
			"2026-12-08 dispatch office",
			"2026-12-31 feedback office",
			"2026-12-31 results liaisons:医保局",
			"2026-12-31 results liaisons:教体局",
			"2026-12-31 results liaisons:应急管理局",
			"2026-12-28 month_end group:城关镇",
			"2026-12-28 month_end group:河口乡",
		}},
		{"2026-10", []string{ // 国庆 2026: 1–7 October off → deadline Thursday the 8th; nudge before the holiday
			"2026-09-29 push liaisons:医保局",
			"2026-10-09 push_late liaisons:医保局",
			"2026-10-09 push_late office",
			"2026-10-08 dispatch office",
			"2026-10-30 feedback office", // the 31st is a Saturday
			"2026-10-30 results liaisons:医保局",
			"2026-10-30 results liaisons:教体局",
			"2026-10-30 results liaisons:应急管理局",
			"2026-10-27 month_end group:城关镇", // 31st is a Saturday: 3 working days before Friday 30th
			"2026-10-27 month_end group:河口乡",
		}},
		{"2027-02", []string{ // 春节 5–13 February off → deadline Sunday the 14th, a working day
			"2027-02-03 push liaisons:医保局",
			"2027-02-15 push_late liaisons:医保局",
			"2027-02-15 push_late office",
			"2027-02-14 dispatch office",
			"2027-02-26 feedback office",
			"2027-02-26 results liaisons:医保局",
			"2027-02-26 results liaisons:教体局",
			"2027-02-26 results liaisons:应急管理局",
			"2027-02-23 month_end group:城关镇",
			"2027-02-23 month_end group:河口乡",
		}},
		{"2027-04", []string{ // 3rd–5th 清明 → deadline Tuesday the 6th; education by Friday 30 April
			"2027-04-01 push liaisons:医保局",
			"2027-04-07 push_late liaisons:医保局",
			"2027-04-07 push_late office",
			"2027-04-28 education liaisons:教体局",
			"2027-05-06 education_late liaisons:教体局", // 劳动节 1–5 May
			"2027-05-06 education_late office",
			"2027-04-08 dispatch office",
			"2027-04-30 feedback office",
			"2027-04-30 results liaisons:医保局",
			"2027-04-30 results liaisons:教体局",
			"2027-04-30 results liaisons:应急管理局",
			"2027-04-27 month_end group:城关镇",
			"2027-04-27 month_end group:河口乡",
		}},
		{"2027-05", []string{ // 劳动节 1–5 May off → deadline Thursday the 6th
			"2027-04-29 push liaisons:医保局",
			"2027-05-07 push_late liaisons:医保局",
			"2027-05-07 push_late office",
			"2027-05-08 dispatch office", // the 8th is a Saturday made a working day (调休)
			"2027-05-31 feedback office",
			"2027-05-31 results liaisons:医保局",
			"2027-05-31 results liaisons:教体局",
			"2027-05-31 results liaisons:应急管理局",
			"2027-05-26 month_end group:城关镇",
			"2027-05-26 month_end group:河口乡",
		}},
	} {
		t.Run(tc.month, func(t *testing.T) {
			m, _ := ParseMonth(tc.month)
			got := describe(MonthReminders(m, depts, towns, cal))
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	may := MonthReminders(MustDate("2026-04-15"), depts, towns, cal)
	var edu []string
	for _, r := range may {
		if r.Kind == RemindEduLate {
			edu = append(edu, fmt.Sprintf("%s %s", r.Day, r.Target))
		}
	}
	// 1 May 2026 is 劳动节 (1–5 May off): the late notice is on Wednesday 6 May.
	if got := strings.Join(edu, ","); got != "2026-05-06 liaisons:教体局,2026-05-06 office" {
		t.Errorf("education late reminders after April 2026: %s", got)
	}
	keys := map[string]bool{}
	for _, r := range may {
		if keys[r.Key] {
			t.Errorf("duplicate key %s", r.Key)
		}
		keys[r.Key] = true
	}
}

func TestPreviousMonth(t *testing.T) {
	if got := PreviousMonth(MustDate("2027-01-03")); got != "2026-12" {
		t.Errorf("PreviousMonth(2027-01-03) = %s", got)
	}
}

// A department task that is overdue when it is added (a round recorded with an earlier 交办
// day) got no reminder at all; now its liaisons and the office hear of it today.
func TestTaskRemindersOfATaskOverdueWhenAdded(t *testing.T) {
	cal := NewCalendar()
	task := Task{ID: 3, CaseID: 9, Township: "柳林镇", Department: "住建局", Status: TaskOpen, DueOn: MustDate("2026-12-02")}
	got := describe(TaskReminders(task, cal, MustDate("2026-12-08").At(10, 0)))
	want := strings.Join([]string{"2026-12-08 task_overdue liaisons:住建局", "2026-12-08 task_escalate office"}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// not yet overdue: as before, only what is still ahead
	task.DueOn = MustDate("2026-12-18")
	if got := describe(TaskReminders(task, cal, MustDate("2026-12-08").At(10, 0))); !strings.Contains(got, "2026-12-16 task_due") || !strings.Contains(got, "2026-12-21 task_overdue") {
		t.Errorf("a task due 12-18: %s", got)
	}
}
