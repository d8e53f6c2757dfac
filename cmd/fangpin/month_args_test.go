package main

import (
	"strings"
	"testing"
)

// A month given to dispatch or cases is read as a month or refused in Chinese: a malformed one
// reached the database (an English constraint error from dispatch, even a dry run) or matched
// nothing and printed nothing (cases, exit 0); a round of a month after the dispatch day's is
// refused; 2026-1 is read as 2026-01, as everywhere else.
func TestDispatchAndCasesRefuseAMonthTheyCannotRead(t *testing.T) {
	withExampleOrg(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dispatch", "--month", "2026-13", "--dry-run", "--json"}, "月份“2026-13”格式不对"},
		{[]string{"dispatch", "--month", "abc", "--json"}, "月份“abc”格式不对"},
		{[]string{"dispatch", "--month", "2026-12", "--date", "2026-11-20", "--dry-run", "--json"}, "批次月份“2026-12”晚于交办日所在的月份（2026-11）"},
		{[]string{"cases", "--json", "--month", "2026-13"}, "月份“2026-13”格式不对"},
		{[]string{"cases", "--json", "--month", "abc"}, "月份“abc”格式不对"},
	} {
		code, stdout, stderr := runIntakeCLI(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "pq:") || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a refusal saying %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if code, _, stderr := runIntakeCLI(t, "dispatch", "--month", "2026-1", "--date", "2026-11-20", "--dry-run", "--json"); code != 0 {
		t.Errorf("dispatch --month 2026-1 --dry-run: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runIntakeCLI(t, "cases", "--json", "--month", "2026-1"); code != 0 {
		t.Errorf("cases --month 2026-1: exit %d, %s", code, stderr)
	}
}
