package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// runIntakeCLI calls Main with stdout and stderr captured.
func runIntakeCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	outc, errc := make(chan string), make(chan string)
	go func() { b, _ := io.ReadAll(ro); outc <- string(b) }()
	go func() { b, _ := io.ReadAll(re); errc <- string(b) }()
	code = Main(args)
	wo.Close()
	we.Close()
	os.Stdout, os.Stderr = oldOut, oldErr
	return code, <-outc, <-errc
}

// withExampleOrg points DATABASE_URL at a new migrated database holding examples/org.yaml
// and returns its URL.
func withExampleOrg(t *testing.T) string {
	t.Helper()
	url := pgtest.MigratedURL(t)
	t.Setenv("DATABASE_URL", url)
	if code, _, stderr := runIntakeCLI(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatalf("org apply: %s", stderr)
	}
	return url
}

func TestImportAndWarningsCommands(t *testing.T) {
	withExampleOrg(t)
	dir := t.TempDir()
	g := synth.New(9)
	good := filepath.Join(dir, "medical.csv")
	os.WriteFile(good, []byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n"+
		"甲,"+g.IDNumber(1970)+",城关镇,20000,0,0\n乙,"+g.IDNumber(1970)+",城关镇,100,0,0\n丙,123,城关镇,1,0,0\n"), 0o644)
	code, stdout, stderr := runIntakeCLI(t, "import", "--dept", "医保局", "--category", "medical", "--period", "2026-10", "--json", good)
	if code != 0 {
		t.Fatalf("import exit %d: %s", code, stderr)
	}
	var b struct {
		BatchID     string  `json:"batch_id"`
		Rows        int     `json:"rows"`
		Accepted    int     `json:"accepted"`
		Rejected    int     `json:"rejected"`
		Warnings    int     `json:"warnings"`
		DuplicateOf *string `json:"duplicate_of"`
		Errors      []struct {
			Row    int    `json:"row"`
			Column string `json:"column"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(stdout), &b); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if b.Rows != 3 || b.Accepted != 2 || b.Rejected != 1 || b.Warnings != 1 || b.DuplicateOf != nil ||
		len(b.Errors) != 1 || b.Errors[0].Row != 4 || !strings.Contains(stderr, "第 4 行") {
		t.Fatalf("import answer %+v, stderr %s", b, stderr)
	}
	code, stdout, _ = runIntakeCLI(t, "warnings", "--batch", b.BatchID, "--json")
	sc := bufio.NewScanner(strings.NewReader(stdout))
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if code != 0 || len(lines) != 1 || lines[0]["rule"] != "medical.inpatient.other" || lines[0]["amount"] != 20000.0 ||
		lines[0]["township"] != "城关镇" || lines[0]["name"] != "甲" || lines[0]["category"] != "medical" {
		t.Fatalf("warnings: %d %v", code, lines)
	}
	if code, _, stderr := runIntakeCLI(t, "warnings", "--batch", "nope", "--json"); code == 0 || !strings.Contains(stderr, "nope") {
		t.Fatalf("unknown batch: %d %s", code, stderr)
	}

	missing := filepath.Join(dir, "missing.csv")
	os.WriteFile(missing, []byte("姓名,身份证号,乡镇,住院自付累计,门特费用\n甲,1,城关镇,1,1\n"), 0o644)
	code, stdout, stderr = runIntakeCLI(t, "import", "--dept", "医保局", "--category", "medical", "--json", missing)
	if code == 0 || stdout != "" || !strings.Contains(stderr, "门诊统筹费用") {
		t.Fatalf("missing column: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runIntakeCLI(t, "import", "--dept", "医保局", "--category", "education", "--json", good)
	if code == 0 || !strings.Contains(stderr, "医保局") {
		t.Fatalf("other department's category: exit %d stderr %q", code, stderr)
	}
}
