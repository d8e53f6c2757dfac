package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// A member of a household that a re-import removed is `removed` in `registry member`, with
// the date and the household's 退出 in the history; `registry import --dry-run` shows the
// diff first and changes nothing (issue 29).
func TestRegistryDryRunAndRemovedMember(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	if code, _ := run(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatal("org apply failed")
	}
	if code, _ := run(t, "registry", "import", "../../examples/registry.csv"); code != 0 {
		t.Fatal("registry import failed")
	}
	const spouse = "99010720070926080X" // 林试七 of SL00100001
	b, err := os.ReadFile("../../examples/registry.csv")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "SL00100001,") {
			kept = append(kept, line)
		}
	}
	path := filepath.Join(t.TempDir(), "registry-december.csv")
	os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644)

	type summary struct {
		Added, Changed, Moved, Removed int
		BatchID                        string `json:"batch_id"`
		Changes                        []struct{ Change, Household string }
	}
	var dry, real summary
	code, out := run(t, "registry", "import", "--dry-run", "--json", path)
	if code != 0 || json.Unmarshal([]byte(out), &dry) != nil {
		t.Fatalf("dry run: exit %d, %s", code, out)
	}
	if dry.Removed != 1 || dry.BatchID != "" || len(dry.Changes) != 1 || dry.Changes[0].Household != "SL00100001" {
		t.Fatalf("dry run: %+v; want SL00100001 removed, no batch", dry)
	}
	code, out = run(t, "registry", "member", "--json", spouse)
	if code != 0 || !strings.Contains(out, `"status":"active"`) {
		t.Fatalf("after the dry run: exit %d, %s; want the member still active", code, out)
	}
	code, out = run(t, "registry", "import", "--json", path)
	if code != 0 || json.Unmarshal([]byte(out), &real) != nil || real.Removed != 1 || real.BatchID == "" {
		t.Fatalf("import: exit %d, %s", code, out)
	}
	var m struct {
		Status    string `json:"status"`
		RemovedOn string `json:"removed_on"`
		History   []struct {
			Change  string `json:"change"`
			BatchID string `json:"batch_id"`
		} `json:"history"`
	}
	code, out = run(t, "registry", "member", "--json", spouse)
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("registry member: exit %d, %s", code, out)
	}
	if m.Status != "removed" || m.RemovedOn == "" || len(m.History) != 1 || m.History[0].Change != "全户退出" || m.History[0].BatchID != real.BatchID {
		t.Errorf("member of the removed household: %s; want removed, its date, and 全户退出 under batch %s", out, real.BatchID)
	}

	// The next month's export has the household again: it is active, and its history says
	// it came back after it left, not only that it left.
	var back summary
	code, out = run(t, "registry", "import", "--json", "../../examples/registry.csv")
	if code != 0 || json.Unmarshal([]byte(out), &back) != nil || back.Added != 1 || back.BatchID == "" {
		t.Fatalf("import with the household again: exit %d, %s", code, out)
	}
	m.History, m.RemovedOn = nil, ""
	code, out = run(t, "registry", "member", "--json", spouse)
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("registry member: exit %d, %s", code, out)
	}
	if m.Status != "active" || m.RemovedOn != "" || len(m.History) != 2 || m.History[0].Change != "全户退出" ||
		m.History[1].Change != "全户新增" || m.History[1].BatchID != back.BatchID {
		t.Errorf("member of the household back in the registry: %s; want active, 全户退出 then 全户新增 under batch %s", out, back.BatchID)
	}

	// An export with more than 1 % of its rows refused is refused whole: exit 1, and with
	// --json the counts, the errors and why, for scripts (stdout was empty).
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i := 1; i <= 20; i++ {
		lines[i] = strings.Replace(lines[i], ",未消除", ",未知状态", 1)
		lines[i] = strings.Replace(lines[i], ",已消除", ",未知状态", 1)
	}
	bad := filepath.Join(t.TempDir(), "registry-bad.csv")
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)
	var refused struct {
		Rows, Rejected int
		Refused        string
		Errors         []struct{ Row int }
	}
	code, out = run(t, "registry", "import", "--json", bad)
	if code == 0 || json.Unmarshal([]byte(out), &refused) != nil || refused.Rejected != 20 || refused.Refused == "" || len(refused.Errors) == 0 {
		t.Errorf("an export with 20 rows refused: exit %d, stdout %q; want exit 1 and the JSON saying why", code, out)
	}
}

// org apply and registry import warn, never fail, where the org file's villages and the
// registry's disagree; the example county's two files agree (issue 25).
func TestVillagesOfOrgAndRegistryAgree(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	warnings := func(out string) []string {
		var v struct{ Warnings []string }
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return v.Warnings
	}
	if code, out := run(t, "org", "apply", "--json", "../../examples/org.yaml"); code != 0 || len(warnings(out)) != 0 {
		t.Fatalf("org apply before any registry: exit %d, %s; want no warning", code, out)
	}
	if code, out := run(t, "registry", "import", "--json", "../../examples/registry.csv"); code != 0 || len(warnings(out)) != 0 {
		t.Fatalf("the example registry: exit %d, warnings %q; want the example files to agree", code, warnings(out))
	}
	b, _ := os.ReadFile("../../examples/org.yaml")
	typo := filepath.Join(t.TempDir(), "org.yaml")
	os.WriteFile(typo, []byte(strings.Replace(string(b), "villages: [示例一村, 示例二村]", "villages: [东村, 示例二村]", 1)), 0o644)
	code, out := run(t, "org", "apply", "--json", typo)
	ws := warnings(out)
	if code != 0 || len(ws) != 2 || !strings.Contains(ws[0], "“东村”在名册中没有") || !strings.Contains(ws[1], "示例一村") {
		t.Fatalf("org apply naming 东村: exit %d, warnings %q; want 东村 unknown and 示例一村 without a cadre", code, ws)
	}
	if code, out := run(t, "registry", "import", "--json", "../../examples/registry.csv"); code != 0 || len(warnings(out)) != 2 {
		t.Fatalf("registry import after that: exit %d, warnings %q; want the same two", code, warnings(out))
	}
}
