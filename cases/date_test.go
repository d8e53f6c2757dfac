package cases

import "testing"

// A month is read only when it is one: 2026-1x and 2026-001 were taken as January 2026
// (a scan that stopped at the first non-digit), and `reminders --month 2026-1x` planned a
// whole past cycle that the worker then sent.
func TestParseMonthIsStrict(t *testing.T) {
	for _, ok := range []struct{ in, want string }{{"2026-11", "2026-11"}, {"2026-1", "2026-01"}, {" 2027-02 ", "2027-02"}} {
		if d, err := ParseMonth(ok.in); err != nil || d.MonthKey() != ok.want {
			t.Errorf("ParseMonth(%q) = %s, %v; want %s", ok.in, d.MonthKey(), err, ok.want)
		}
	}
	for _, bad := range []string{"2026-1x", "2026-001", "2026-13", "2026-00", "202611", "2026/11", "26-11", "2026-11-05", "1899-12", "abc", ""} {
		if d, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) = %s, want it refused", bad, d.MonthKey())
		}
	}
}
