package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases/postgres/monthtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

func TestLedgerSubcommands(t *testing.T) {
	db, _, url := monthtest.SetupURL(t)
	t.Setenv("DATABASE_URL", url)

	code, out := run(t, "report", "--month", "2026-11", "--json")
	if code != 0 {
		t.Fatalf("report exit %d", code)
	}
	var rep struct {
		Townships []map[string]any `json:"townships"`
		Depts     []map[string]any `json:"departments"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Townships) != 3 || rep.Townships[0]["name"] != "城关镇" ||
		rep.Townships[0]["dispatched"] != float64(5) || len(rep.Depts) != 7 {
		t.Fatalf("report JSON %v: %s", err, out)
	}
	if code, out = run(t, "report", "--month", "2026-11", "--feedback"); code != 0 || !strings.Contains(out, "结果反馈情况") {
		t.Fatalf("report --feedback: %d %s", code, out)
	}

	file := filepath.Join(t.TempDir(), "ledger.xlsx")
	if code, _ = run(t, "export", "ledger", "--month", "2026-11", "-o", file); code != 0 {
		t.Fatalf("export exit %d", code)
	}
	f, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("台账")
	f.Close()
	if len(rows) != 15 || !strings.HasPrefix(rows[0][0], "测试县预警信息核查办理台账（2026年11月）") || rows[12][0] != "合计" {
		t.Fatalf("exported %d rows (want the title, the header, 10 cases, 合计, a blank row and the signatures)", len(rows))
	}

	_, a := run(t, "spotcheck", "--month", "2026-11", "--rate", "0.5", "--seed", "9", "--json")
	_, b := run(t, "spotcheck", "--month", "2026-11", "--rate", "0.5", "--seed", "9", "--json")
	lines := strings.Split(strings.TrimSpace(a), "\n")
	if a != b || len(lines) == 0 {
		t.Fatalf("same seed, different output:\n%s\n%s", a, b)
	}
	var pick map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &pick); err != nil || !reflect.DeepEqual(keys(pick), []string{"case_no", "category", "township"}) {
		t.Fatalf("spotcheck line %q: %v", lines[0], err)
	}
	var msgs int
	msgs = pgtest.Count(t, db, `SELECT count(*) FROM outbox WHERE idem_key LIKE 'spotcheck:2026-11:0.5:9:%'`)
	if msgs != 2 {
		t.Fatalf("%d supervisor messages queued, want one for each of the 2 supervisors", msgs)
	}
	if code, _ = run(t, "spotcheck", "--month", "2026-11", "--rate", "2"); code == 0 {
		t.Fatal("rate 2 accepted")
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// TestCasesAndReportJudgeTheHandMadeMonth: `cases --json` carries on_time (null while
// open) by the same rule as `report --json`, which prints null, never 0, for a township
// with nothing due and the office's round dispatched on the 12th.
func TestCasesAndReportJudgeTheHandMadeMonth(t *testing.T) {
	_, nos, url := monthtest.SetupWith(t, monthtest.AssessPlan, monthtest.AssessDispatch)
	t.Setenv("DATABASE_URL", url)
	code, out := run(t, "cases", "--json", "--month", "2026-11")
	if code != 0 {
		t.Fatalf("cases exit %d", code)
	}
	got := map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var c map[string]any
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		v, ok := c["on_time"]
		if !ok {
			t.Fatalf("no on_time in %s", line)
		}
		got[c["case_no"].(string)] = v
	}
	want := []any{true, false, nil, nil, true, true, nil, nil}
	for i, w := range want {
		if got[nos[i]] != w {
			t.Errorf("%s on_time %v, want %v", nos[i], got[nos[i]], w)
		}
	}
	code, out = run(t, "report", "--month", "2026-11", "--json")
	if code != 0 {
		t.Fatalf("report exit %d", code)
	}
	var rep struct {
		Townships []map[string]any `json:"townships"`
		Office    map[string]any   `json:"office"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	q := rep.Townships[2]
	if q["name"] != "青山镇" || q["score"] != nil || q["on_time_rate"] != nil || q["feedback_rate"] != nil {
		t.Errorf("a township with nothing due: %v", q)
	}
	if rep.Townships[0]["score"] != 75.3 {
		t.Errorf("城关镇 score %v, want 75.3", rep.Townships[0]["score"])
	}
	if rep.Office["rounds_due"] != float64(1) || rep.Office["rounds_on_time"] != float64(0) {
		t.Errorf("office %v, want 0 of 1 (dispatched on the 12th)", rep.Office)
	}
	if code, out = run(t, "report", "--month", "2026-11"); code != 0 || !strings.Contains(out, "2026-11-12 集中交办（时限 2026-11-10），按时 0/1") {
		t.Errorf("report text: %d\n%s", code, out)
	}
}
