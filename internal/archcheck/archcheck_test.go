package archcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// moduleRoot is two directories up: internal/archcheck.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}

// storage is what the edges must not link: the case store and every database driver or
// migration tool. bot/pgqueue is the bot's own storage package: it may, the edges may not.
var storage = regexp.MustCompile(`^github\.com/fangpin/fangpin/(cases/postgres|bot/pgqueue)(/|$)|^github\.com/(lib/pq|jackc/pgx|jmoiron/sqlx|pressly/goose)(/|$)`)

var edge = regexp.MustCompile(`^github\.com/fangpin/fangpin/(handlers|notify|bot|announce)(/|$)`)

// TestEdgesLinkNoStore: handlers, notify and bot talk to storage only through the small
// interfaces they declare in cases types; cmd wires the store in.
func TestEdgesLinkNoStore(t *testing.T) {
	root := moduleRoot(t)
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports", "./handlers/...", "./notify/...", "./bot/...", "./announce/...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		graph[p.ImportPath] = p.Imports
	}
	var roots []string
	for p := range graph {
		if edge.MatchString(p) && !storage.MatchString(p) {
			roots = append(roots, p)
		}
	}
	if len(roots) == 0 {
		t.Fatal("go list found no edge package")
	}
	for _, r := range roots {
		if chain := ImportChain(graph, r, storage.MatchString); chain != nil {
			t.Errorf("%s links a storage package: %s", r, strings.Join(chain, " → "))
		}
	}
}

func TestImportChainFindsShortestPath(t *testing.T) {
	g := map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"x"}, "d": {"x"}}
	if got := strings.Join(ImportChain(g, "a", func(p string) bool { return p == "x" }), ">"); got != "a>c>x" {
		t.Errorf("chain %q, want a>c>x", got)
	}
	if got := ImportChain(g, "b", func(p string) bool { return p == "c" }); got != nil {
		t.Errorf("chain %v, want none", got)
	}
}

// TestNoLongFunctions: no function outside tests over MaxFuncLines, except those listed in
// funclen_allow.txt (each to be split); an entry that no longer needs to be there fails too,
// so the list only shrinks.
func TestNoLongFunctions(t *testing.T) {
	root := moduleRoot(t)
	long, err := LongFuncs(root, MaxFuncLines)
	if err != nil {
		t.Fatal(err)
	}
	allow, err := ReadAllowlist("funclen_allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range long {
		if allow[f.Key()] {
			delete(allow, f.Key())
			continue
		}
		t.Errorf("%s is %d lines, over %d: split it along its seams (decision, then I/O)", f.Key(), f.Lines, MaxFuncLines)
	}
	for k := range allow {
		t.Errorf("%s is listed in internal/archcheck/funclen_allow.txt but is no longer over %d lines (or is gone): remove the line", k, MaxFuncLines)
	}
}

func TestLongFuncsCountsFromFuncToBrace(t *testing.T) {
	dir := t.TempDir()
	body := "package p\n\ntype T struct{}\n\nfunc (t *T) Long() {\n" + strings.Repeat("\t_ = 1\n", 99) + "}\n\nfunc Short() {\n}\n"
	os.WriteFile(filepath.Join(dir, "p.go"), []byte(body), 0o644)
	os.WriteFile(filepath.Join(dir, "p_test.go"), []byte("package p\n\nfunc TestX() {\n"+strings.Repeat("\t_ = 1\n", 200)+"}\n"), 0o644)
	got, err := LongFuncs(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key() != "p.go:T.Long" || got[0].Lines != 101 {
		t.Errorf("long funcs %+v, want p.go:T.Long of 101 lines only", got)
	}
}

// slogMsgKey finds a log call given "msg" as an attribute's key: slog's JSON handler writes
// its own "msg" (the event) too, and most log tools keep the last of two keys, so the event
// name was replaced by a message id ("file download refused" read as "aibot:…").
var slogMsgKey = regexp.MustCompile(`\.(Debug|Info|Warn|Error)(Context)?\([^\n]*"msg",`)

// TestNoLogAttributeNamedMsg: a message id in a log line is "msg_id".
func TestNoLogAttributeNamedMsg(t *testing.T) {
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if slogMsgKey.MatchString(line) {
				t.Errorf("%s:%d: a log attribute named \"msg\" hides the event's own: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
