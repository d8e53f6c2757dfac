package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// `fangpin reminders --json --month` plans a month's cycle on demand, also months ahead, and
// lists it (docs/reminders.md): 2027-02's deadline for January's data is Sunday the 14th (a working
// day after 春节), nudged on the 3rd, late on the 15th.
func TestRemindersOfAMonthAhead(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	if code, _ := run(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatal("org apply failed")
	}
	code, out := run(t, "reminders", "--json", "--month", "2027-02")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	type row struct {
		Kind   string `json:"kind"`
		CaseNo string `json:"case_no"`
		Target string `json:"target"`
		DueAt  string `json:"due_at"`
		State  string `json:"state"`
	}
	kinds := map[string]bool{}
	var push, late []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if r.State != "pending" || r.CaseNo != "" || !strings.HasSuffix(r.DueAt, "T09:00:00+08:00") {
			t.Errorf("reminder %+v", r)
		}
		kinds[r.Kind] = true
		switch r.Kind {
		case "push":
			push = append(push, r.DueAt[:10])
		case "push_late":
			late = append(late, r.DueAt[:10])
		}
	}
	for _, k := range []string{"push", "push_late", "dispatch", "month_end", "feedback"} {
		if !kinds[k] {
			t.Errorf("no %s reminder in 2027-02's cycle:\n%s", k, out)
		}
	}
	for _, d := range push {
		if d != "2027-02-03" {
			t.Errorf("push nudge on %s, want 2027-02-03", d)
		}
	}
	for _, d := range late {
		if d != "2027-02-15" {
			t.Errorf("late notice on %s, want 2027-02-15", d)
		}
	}
	if len(push) == 0 || len(late) == 0 {
		t.Fatalf("no push reminders:\n%s", out)
	}
	// Asking again plans nothing twice.
	if _, again := run(t, "reminders", "--json", "--month", "2027-02"); again != out {
		t.Errorf("second listing differs:\n%s\n%s", out, again)
	}
	if code, _ := run(t, "reminders", "--json", "--month", "2027-13"); code == 0 {
		t.Error("a bad month exited 0")
	}
}
