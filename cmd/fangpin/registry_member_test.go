package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// `fangpin import` of a 公安局 file updates the registry; `fangpin registry member --json`
// shows the member's status and history (docs/held-and-tasks.md).
func TestPopulationImportAndRegistryMember(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	if code, _ := run(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatal("org apply failed")
	}
	if code, _ := run(t, "registry", "import", "../../examples/registry.csv"); code != 0 {
		t.Fatal("registry import failed")
	}
	const spouse = "99010720070926080X" // 林试七 of SL00100001, 城关镇 示例二村
	path := filepath.Join(t.TempDir(), "公安局.csv")
	os.WriteFile(path, []byte("姓名,身份证号,乡镇,村,户主身份证号,变动类型,变动日期\n林试七,"+spouse+",河口乡,河口村,,迁入,2026-10-08\n"), 0o644)
	code, out := run(t, "import", "--dept", "公安局", "--category", "population", "--period", "2026-10", "--json", path)
	if code != 0 || !strings.Contains(out, `"registry_updates":1,"not_in_registry":0`) {
		t.Fatalf("population import: exit %d, %s", code, out)
	}
	var batch struct {
		ID string `json:"batch_id"`
	}
	json.Unmarshal([]byte(out), &batch)
	code, out = run(t, "registry", "member", "--json", strings.ToLower(spouse))
	var m map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("registry member: exit %d, %s", code, out)
	}
	want := `{"id_number":"` + spouse + `","household":"SL00100001","township":"河口乡","village":"河口村","status":"active","history":[{"change":"迁入","date":"2026-10-08","batch_id":"` + batch.ID + `"}]}`
	if strings.TrimSpace(out) != want {
		t.Errorf("registry member:\n%s\nwant\n%s", out, want)
	}
	if code, _ := run(t, "registry", "member", "--json", "110101199003071234"); code == 0 {
		t.Error("a number not in the registry exited 0")
	}
}
