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
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
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
}
