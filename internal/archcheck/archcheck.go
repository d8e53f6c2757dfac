// Package archcheck holds the module's layout checks (docs/datalayer.md): the edges link no
// storage driver, and no function outside tests runs over MaxFuncLines. Its tests are the
// checks; `make deps-check` and `make funclen` run them.
package archcheck

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxFuncLines is the longest a function may be, from `func` to its closing brace.
const MaxFuncLines = 100

// LongFunc is one function over MaxFuncLines.
type LongFunc struct {
	File  string // slash path from the module root
	Name  string // Recv.Name for methods
	Lines int
}

// Key is how the allowlist names the function: file:Name.
func (f LongFunc) Key() string { return f.File + ":" + f.Name }

// LongFuncs walks every non-test .go file under root (skipping testdata, bin and hidden
// directories) and lists the functions over max lines, by file then line.
func LongFuncs(root string, max int) ([]LongFunc, error) {
	var out []LongFunc
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || n == "bin" || n == "vendor" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if n > max {
				out = append(out, LongFunc{File: filepath.ToSlash(rel), Name: funcName(fd), Lines: n})
			}
		}
		return nil
	})
	return out, err
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}

// ReadAllowlist reads file:Name keys, one a line; blank lines and # comments are skipped.
func ReadAllowlist(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out[line] = true
		}
	}
	return out, sc.Err()
}

// Package is one package of `go list -json`, the fields ImportChain needs.
type Package struct {
	ImportPath string
	Imports    []string
}

// ImportChain finds, breadth first from root, the shortest import path to a package that
// bad matches; nil when there is none.
func ImportChain(pkgs map[string][]string, root string, bad func(string) bool) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if bad(p) {
			var chain []string
			for q := p; q != ""; q = prev[q] {
				chain = append(chain, q)
			}
			for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
				chain[i], chain[j] = chain[j], chain[i] // root first
			}
			return chain
		}
		for _, imp := range pkgs[p] {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return nil
}
