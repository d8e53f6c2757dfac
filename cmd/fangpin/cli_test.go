package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// run calls Main in-process and returns its exit code and stdout.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, r)
		done <- b.String()
	}()
	code := Main(args)
	w.Close()
	os.Stdout = old
	return code, <-done
}

func TestReferenceCommandsTwiceGiveTheSameOutcome(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	for round := 0; round < 2; round++ {
		if code, _ := run(t, "migrate"); code != 0 {
			t.Fatalf("migrate (round %d) exit %d", round, code)
		}
		code, out := run(t, "org", "apply", "--json", "../../examples/org.yaml")
		if code != 0 || strings.TrimSpace(out) != `{"townships":6,"departments":10,"users":26}` {
			t.Fatalf("org apply (round %d): exit %d, %s", round, code, out)
		}
		code, out = run(t, "registry", "import", "--json", "../../examples/registry.csv")
		var s struct{ Rows, Accepted, Rejected, Households, Members int }
		if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
			t.Fatalf("registry import (round %d): exit %d, %s", round, code, out)
		}
		if s.Rejected != 0 || s.Accepted != s.Rows || s.Households < 300 {
			t.Fatalf("registry import (round %d): %+v", round, s)
		}
	}
}

func TestRegistryImportReportsBadRowsAndExitsZero(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	if code, _ := run(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatal("org apply failed")
	}
	ms := synth.New(11).Registry(3, synth.Townships)
	var b bytes.Buffer
	synth.WriteRegistryCSV(&b, ms)
	text := strings.Replace(b.String(), ","+ms[0].Township+",", ",火星乡,", 1)
	path := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(path, []byte(text), 0o644)
	code, out := run(t, "registry", "import", "--json", path)
	if code != 0 || !strings.Contains(out, `"rejected":1`) || !strings.Contains(out, `"column":"乡镇"`) {
		t.Fatalf("exit %d, %s", code, out)
	}
	// A file without the required columns cannot be taken at all.
	os.WriteFile(path, []byte("户编号,姓名\nA,王试一\n"), 0o644)
	if code, _ := run(t, "registry", "import", "--json", path); code == 0 {
		t.Fatal("a file missing columns exited 0")
	}
}

// TestRegistryReimportDiffAndRemovalGuard: the JSON counts the diff and lists the changes;
// an identical file changes nothing; a partial export is refused unless --allow-removals.
func TestRegistryReimportDiffAndRemovalGuard(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	if code, _ := run(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatal("org apply failed")
	}
	ms := synth.New(12).Registry(10, synth.Townships)
	write := func(ms []cases.RegistryMember) string {
		var b bytes.Buffer
		synth.WriteRegistryCSV(&b, ms)
		path := filepath.Join(t.TempDir(), "r.csv")
		os.WriteFile(path, b.Bytes(), 0o644)
		return path
	}
	full := write(ms)
	var sum struct {
		Households, Added, Changed, Moved, Removed int
		Changes                                    []map[string]any
	}
	code, out := run(t, "registry", "import", "--json", full)
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil || sum.Added != sum.Households || len(sum.Changes) != sum.Added {
		t.Fatalf("first import: exit %d, %s", code, out)
	}
	for _, k := range []string{`"added":`, `"changed":`, `"moved":`, `"removed":`, `"changes":`} {
		if !strings.Contains(out, k) {
			t.Errorf("import JSON lacks %s: %s", k, out)
		}
	}
	if code, out = run(t, "registry", "import", "--json", full); code != 0 || !strings.Contains(out, `"added":0,"changed":0,"moved":0,"removed":0`) || !strings.Contains(out, `"changes":[]`) {
		t.Errorf("an identical file: exit %d, %s", code, out)
	}
	// Keep only the first household: every other one would be removed.
	var first []cases.RegistryMember
	for _, m := range ms {
		if m.HouseholdNo == ms[0].HouseholdNo {
			first = append(first, m)
		}
	}
	partial := write(first)
	if code, _ := run(t, "registry", "import", "--json", partial); code == 0 {
		t.Fatal("a partial export removing most households exited 0")
	}
	if code, out = run(t, "registry", "import", "--json", "--allow-removals", partial); code != 0 || !strings.Contains(out, fmt.Sprintf(`"removed":%d`, sum.Households-1)) {
		t.Errorf("with --allow-removals: exit %d, %s", code, out)
	}
}
