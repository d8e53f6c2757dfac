package cases

import "testing"

// NOTE for the merge: branch `rules` (issue 13) tests the same functions in
// cases/pushes_test.go; delete this file with cases/pushrule.go when it lands.

func TestPushRule(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct {
		cat      Category
		period   string
		deadline string // "" = no deadline
	}{
		{CatMedical, "2026-10", "2026-11-05"},    // a Thursday
		{CatEmployment, "2026-09", "2026-10-08"}, // 10-05 is in the National Day holiday
		{CatAssistance, "2026-12", "2027-01-05"},
		{CatEducation, "2026-2027", "2027-04-30"},
		{CatEducation, "2027-04", "2027-04-30"},
		{CatEducation, "2026-2028", ""},
		{CatDisaster, "2026-11", ""},
		{CatMedical, "2026-13", ""},
	} {
		d, ok := PushDeadline(cal, tc.cat, tc.period)
		got := ""
		if ok {
			got = d.String()
		}
		if got != tc.deadline {
			t.Errorf("%s %s: deadline %q, want %q", tc.cat, tc.period, got, tc.deadline)
		}
	}
	if PushLate(cal, CatEmployment, "2026-09", DateOf(MustDate("2026-10-08").At(23, 30))) {
		t.Error("a push on the extended deadline's evening is on time")
	}
	if !PushLate(cal, CatMedical, "2026-10", DateOf(MustDate("2026-11-06").At(0, 10))) {
		t.Error("a push after midnight Shanghai of the deadline is late")
	}
}
