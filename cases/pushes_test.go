package cases

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// docs/reminders.md: 每月5日前 — the deadline is the 5th, moved to the next working day when the 5th is
// a holiday or a weekend (民法典 art. 203); the nudge goes 2 working days before it, the late
// notice on the first working day after it. The months the issue names, on lunar-go's data.
func TestMonthlyPushDeadlinesOnTheOfficialCalendar(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct {
		period                string // the data's month; its push is due the month after
		deadline, nudge, late string
		why                   string
	}{
		{"2026-10", "2026-11-05", "2026-11-03", "2026-11-06", "an ordinary Thursday"},
		{"2026-09", "2026-10-08", "2026-09-29", "2026-10-09", "国庆 1–7 October: Thursday the 8th; the nudge before the holiday"},
		{"2027-01", "2027-02-14", "2027-02-03", "2027-02-15", "春节 5–13 February: the Sunday 14th is a working day"},
		{"2027-04", "2027-05-06", "2027-04-29", "2027-05-07", "劳动节 1–5 May: Thursday the 6th"},
		{"2026-11", "2026-12-07", "2026-12-03", "2026-12-08", "the 5th is a Saturday: Monday the 7th"},
	} {
		for _, c := range []Category{CatMedical, CatSeriousIllness, CatEmployment, CatAssistance, CatPopulation} {
			d, ok := PushDeadline(cal, c, tc.period)
			if !ok || d.String() != tc.deadline {
				t.Errorf("%s %s: deadline %s, want %s (%s)", c, tc.period, d, tc.deadline, tc.why)
				continue
			}
			if n := PushNudgeDay(cal, d); n.String() != tc.nudge {
				t.Errorf("%s %s: nudge %s, want %s (%s)", c, tc.period, n, tc.nudge, tc.why)
			}
			if l := PushLateDay(cal, d); l.String() != tc.late {
				t.Errorf("%s %s: late notice %s, want %s (%s)", c, tc.period, l, tc.late, tc.why)
			}
			if !PushNudgeDay(cal, d).Before(d) || !PushLateDay(cal, d).After(d) {
				t.Errorf("%s %s: the nudge must come before and the late notice after the deadline", c, tc.period)
			}
		}
	}
}

// 每年4月底前: education by 30 April, moved off a day off likewise.
func TestEducationDeadline(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct{ period, deadline, nudge, late string }{
		{"2027-04", "2027-04-30", "2027-04-28", "2027-05-06"},
		{"2026-2027", "2027-04-30", "2027-04-28", "2027-05-06"}, // the 学年 ending that summer
		{"2026-04", "2026-04-30", "2026-04-28", "2026-05-06"},
		{"2026-11", "2027-04-30", "2027-04-28", "2027-05-06"}, // a month of 学年 2026-2027
		{"2026-08", "2026-04-30", "2026-04-28", "2026-05-06"}, // a month of 学年 2025-2026
	} {
		d, ok := PushDeadline(cal, CatEducation, tc.period)
		if !ok || d.String() != tc.deadline || PushNudgeDay(cal, d).String() != tc.nudge || PushLateDay(cal, d).String() != tc.late {
			t.Errorf("education %s: deadline %s nudge %s late %s; want %s %s %s", tc.period, d,
				PushNudgeDay(cal, d), PushLateDay(cal, d), tc.deadline, tc.nudge, tc.late)
		}
	}
	for _, bad := range []string{"2026-2028", "2027-13"} {
		if d, ok := PushDeadline(cal, CatEducation, bad); ok {
			t.Errorf("education period %q has no deadline, got %s", bad, d)
		}
	}
	if d, ok := PushDeadline(cal, CatMedical, "2026-13"); ok {
		t.Errorf("medical period 2026-13 has no deadline, got %s", d)
	}
	for _, c := range []Category{CatDisaster, CatEpidemic, CatIndustry, CatAssurance} {
		if _, ok := PushDeadline(cal, c, "2026-10"); ok {
			t.Errorf("%s is pushed promptly after events; it has no monthly deadline", c)
		}
	}
}

func TestPushLate(t *testing.T) {
	cal := NewCalendar()
	for _, tc := range []struct {
		period, received string
		want             bool
	}{
		{"2027-01", "2027-02-14", false}, // on the Sunday working day that is the deadline
		{"2027-01", "2027-02-15", true},
		{"2026-09", "2026-10-08", false},
		{"2026-09", "2026-10-09", true},
	} {
		if got := PushLate(cal, CatMedical, tc.period, MustDate(tc.received)); got != tc.want {
			t.Errorf("medical %s received %s: late %v, want %v", tc.period, tc.received, got, tc.want)
		}
	}
}

// 于3日内推送: the event of the 1st is due by the 4th.
func TestEpidemicLate(t *testing.T) {
	ev := MustDate("2026-11-01")
	for _, tc := range []struct {
		received string
		want     bool
	}{{"2026-11-01", false}, {"2026-11-04", false}, {"2026-11-05", true}} {
		if got := EpidemicLate(ev, MustDate(tc.received)); got != tc.want {
			t.Errorf("event 2026-11-01 pushed %s: late %v, want %v", tc.received, got, tc.want)
		}
	}
}

// A push counts for the period it names, never for the day it arrived.
func TestPushedCountsThePeriodItNames(t *testing.T) {
	at := func(s string) time.Time { return MustDate(s).At(10, 0) }
	pushes := []Push{
		{Category: CatMedical, Period: "2026-09", ReceivedAt: at("2026-11-02")}, // a late push of an old period
		{Category: CatSeriousIllness, Period: "2026-10", ReceivedAt: at("2026-11-09")},
		{Category: CatSeriousIllness, Period: "2026-10", ReceivedAt: at("2026-11-04")},
		{Category: CatEducation, Period: "2026-2027", ReceivedAt: at("2027-04-29")},
	}
	if _, ok := Pushed(pushes, CatMedical, "2026-10"); ok {
		t.Error("September's medical data, pushed in November, counted as October's")
	}
	if _, ok := Pushed(pushes, CatMedical, "2026-09"); !ok {
		t.Error("September's medical data not counted for September")
	}
	p, ok := Pushed(pushes, CatSeriousIllness, "2026-10")
	if !ok || DateOf(p.ReceivedAt).String() != "2026-11-04" {
		t.Errorf("serious illness 2026-10: %+v %v, want the first push (2026-11-04)", p, ok)
	}
	cal := NewCalendar()
	if _, onTime := PushedOnTime(cal, pushes, CatSeriousIllness, "2026-10"); !onTime {
		t.Error("first push on 11-04 before the 11-05 deadline is on time")
	}
	if _, onTime := PushedOnTime(cal, pushes, CatMedical, "2026-09"); onTime {
		t.Error("September's data pushed 11-02 is late (deadline 10-08)")
	}
	if _, ok := Pushed(pushes, CatEducation, "2027-04"); !ok {
		t.Error("the 学年 2026-2027 push counts for April 2027")
	}
	if _, ok := Pushed(pushes, CatEducation, "2026-04"); ok {
		t.Error("the 学年 2026-2027 push counted for April 2026")
	}
}

func TestPushesDueForTheAssessmentAndTheReminders(t *testing.T) {
	cal := NewCalendar()
	at := func(d string, h int) time.Time { return MustDate(d).At(h, 0) }
	pushes := []Push{
		{Category: CatMedical, Period: "2026-10", ReceivedAt: at("2026-11-04", 9)},              // on time
		{Category: CatAssistance, Period: "2026-10", ReceivedAt: at("2026-11-20", 9)},           // late
		{Category: CatEmployment, Period: "2026-09", ReceivedAt: at("2026-11-02", 9)},           // an old period: not October's
		{Category: CatEpidemic, Period: "2026-11", ReceivedAt: at("2026-11-12", 9), Late: true}, // marked late at import
		{Category: CatEpidemic, Period: "2026-10", ReceivedAt: at("2026-10-30", 9)},             // another month
		{Category: CatDisaster, Period: "2026-11", ReceivedAt: at("2026-11-03", 9)},             // never scored
		{Category: CatEducation, Period: "2026-2027", ReceivedAt: at("2026-11-03", 9)},          // due in April only
	}
	cats := []Category{CatMedical, CatAssistance, CatEmployment, CatEpidemic, CatDisaster, CatEducation, CatPopulation}
	nov := MustDate("2026-11-01")

	got := PushesDue(cal, cats, pushes, nov, MustDate("2026-11-30"))
	var keys []string
	for _, d := range got {
		keys = append(keys, fmt.Sprintf("%s %s %v %v", d.Category, d.Period, d.Received != nil, d.OnTime))
	}
	want := []string{
		"assistance 2026-10 true false", "employment 2026-10 false false", "epidemic 2026-11 true false",
		"medical 2026-10 true true", "population 2026-10 false false",
	}
	if strings.Join(keys, "; ") != strings.Join(want, "; ") {
		t.Errorf("due on 30 November:\n got %v\nwant %v", keys, want)
	}
	// Before the deadline a push not yet received is not due; one received is.
	early := PushesDue(cal, cats, pushes, nov, MustDate("2026-11-04"))
	for _, d := range early {
		if d.Received == nil {
			t.Errorf("on 4 November %s %s is due although its deadline has not passed", d.Category, d.Period)
		}
	}

	// The reminders name the same monthly categories as missing.
	missing := MissingPushes(cats, pushes, "2026-10")
	if fmt.Sprint(missing) != "[employment population]" {
		t.Errorf("missing for 2026-10: %v, want [employment population]", missing)
	}
}
