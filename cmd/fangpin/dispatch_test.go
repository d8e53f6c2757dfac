package main

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

func TestDispatchAndCasesCommands(t *testing.T) {
	url := pgtest.MigratedURL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	p := dispatchtest.Setup(t, db)
	dispatchtest.Warn(t, db, p)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("FANGPIN_FORM_SECRET", "x")

	code, out := run(t, "dispatch", "--date", "2026-11-10", "--dry-run", "--json")
	if code != 0 || strings.TrimSpace(out) != `{"round":"2026-11","cases_created":6,"merged":0,"held":0,"department_tasks":3,"by_township":{"城关镇":4,"河口乡":2},"held_list":[]}` {
		t.Fatalf("dry run: %d %s", code, out)
	}
	code, out = run(t, "cases", "--json")
	if code != 0 || out != "" {
		t.Fatalf("cases after dry run: %d %q", code, out)
	}
	code, out = run(t, "dispatch", "--month", "2026-11", "--date", "2026-11-10", "--json")
	if code != 0 || !strings.Contains(out, `"cases_created":6`) {
		t.Fatalf("dispatch: %d %s", code, out)
	}
	code, out = run(t, "dispatch", "--date", "2026-11-10", "--json")
	if code != 0 || !strings.Contains(out, `"cases_created":0`) {
		t.Fatalf("second dispatch: %d %s", code, out)
	}
	code, out = run(t, "cases", "--json", "--month", "2026-11", "--township", "城关", "--status", "dispatched")
	if code != 0 {
		t.Fatalf("cases: %d", code)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d cases of 城关镇, want 4:\n%s", len(lines), out)
	}
	for _, k := range []string{"case_no", "kind", "township", "department", "status", "result", "dispatched_at", "due_on", "entered_on", "closed_at", "members", "categories", "source", "tasks"} {
		if _, ok := lines[0][k]; !ok {
			t.Errorf("cases --json lacks %q: %v", k, lines[0])
		}
	}
	if lines[0]["due_on"] != "2026-12-08" || !strings.HasSuffix(lines[0]["dispatched_at"].(string), "+08:00") {
		t.Errorf("dates: %v", lines[0])
	}
	var withTask map[string]any
	for _, l := range lines {
		if ts := l["tasks"].([]any); len(ts) > 0 {
			withTask = l
		}
		if l["source"] != "部门筛查" {
			t.Errorf("source of a dispatched case: %v", l["source"])
		}
	}
	if withTask == nil {
		t.Fatalf("no case of 城关镇 carries its 住建局 task:\n%s", out)
	}
	if task := withTask["tasks"].([]any)[0].(map[string]any); task["department"] != "住建局" || task["status"] != "open" ||
		task["due_on"] != "2026-12-08" || task["done_on"] != nil || task["measure"] != "" {
		t.Errorf("task JSON: %v", task)
	}
	if code, _ := run(t, "dispatch", "--month", "11/2026"); code == 0 {
		t.Errorf("a bad month was accepted")
	}
}
