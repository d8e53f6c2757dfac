package cases

import (
	"testing"
)

// idBorn makes an 18-character ID number born on the day (the check digit is not checked here).
func idBorn(day string) string {
	d := MustDate(day)
	return "110101" + d.String()[0:4] + d.String()[5:7] + d.String()[8:10] + "1234"
}

// 户内唯一劳动年龄（16–60岁）成员死亡 raises a 因就业不稳 warning; the ages are inclusive.
func TestOnlyWorkerDied(t *testing.T) {
	death := MustDate("2026-11-10")
	for _, tc := range []struct {
		name     string
		deceased string
		others   []string
		want     bool
	}{
		{"40-year-old with a child and a grandparent", idBorn("1986-05-01"), []string{idBorn("2015-01-01"), idBorn("1950-01-01")}, true},
		{"turned 16 that day", idBorn("2010-11-10"), nil, true},
		{"one day short of 16", idBorn("2010-11-11"), nil, false},
		{"60 years old", idBorn("1966-01-01"), nil, true},
		{"61 years old", idBorn("1965-11-09"), nil, false},
		{"another working-age member remains", idBorn("1986-05-01"), []string{idBorn("1990-01-01")}, false},
		{"the other is 61", idBorn("1986-05-01"), []string{idBorn("1965-01-01")}, true},
	} {
		if got := OnlyWorkerDied(tc.deceased, tc.others, death); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// 信息变更 cases are due by the end of the month after dispatch.
func TestInfoCaseDue(t *testing.T) {
	for from, want := range map[string]string{"2026-11-10": "2026-12-31", "2026-12-08": "2027-01-31", "2027-01-11": "2027-02-28"} {
		if got := InfoCaseDue(MustDate(from)); got.String() != want {
			t.Errorf("dispatched %s: due %s, want %s", from, got, want)
		}
	}
}

// A change in a 脱贫户 or a monitored household gives a 信息变更 case; others only update the registry.
func TestInfoCaseFor(t *testing.T) {
	for _, tc := range []struct {
		kind, risk string
		want       bool
	}{
		{HouseholdLifted, RiskCleared, true},
		{HouseholdUnstable, RiskOpen, true},
		{HouseholdEdge, RiskOpen, true},
		{HouseholdEdge, RiskCleared, false},
		{HouseholdSudden, RiskCleared, false},
	} {
		if got := InfoCaseFor(tc.kind, tc.risk); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.kind, tc.risk, got, tc.want)
		}
	}
}

// A 信息变更 case needs no 核查: 录入 closes it, 核查 is refused with how to write 录入.
func TestInfoCaseClosedByEntry(t *testing.T) {
	cal := NewCalendar()
	c := sampleCase(StatusDispatched)
	c.Kind = KindInfo
	now := MustDate("2026-11-25").At(15, 0)
	if _, err := Apply(c, cadre, Command{Action: ActVerify, Result: ResultInclude, Reason: "x", Now: now}, cal); ErrorCode(err) != EIllegal {
		t.Errorf("核查 of a 信息变更 case: %v", err)
	}
	got, err := Apply(c, cadre, Command{Action: ActEnter, Date: MustDate("2026-11-24"), Now: now}, cal)
	if err != nil || got.Status != StatusClosed || got.EnteredOn == nil || got.EnteredOn.String() != "2026-11-24" {
		t.Fatalf("录入 of a 信息变更 case: %+v %v", got, err)
	}
	c.Kind = KindNew
	if _, err := Apply(c, cadre, Command{Action: ActEnter, Now: now}, cal); ErrorCode(err) != EIllegal {
		t.Errorf("录入 of a 新增 case before 核查: %v", err)
	}
}
