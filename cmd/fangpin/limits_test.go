package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
	"github.com/fangpin/fangpin/cases/synth"
)

// The process's bound whatever it is given (docs/limits.md).
const maxRSS = 256 << 20

// fangpinBinary builds the real binary (without -race, whatever the tests run with), so
// that the peak memory measured is that of the process an operator runs.
func fangpinBinary(t *testing.T) string {
	t.Helper()
	bin, err := builtBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// binDir holds the fangpin binary, built once per test process (TestMain removes it).
var binDir string

var builtBinary = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	binDir, err = os.MkdirTemp("", "fangpin-test-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(binDir, "fangpin")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	// the tests run on the published demo keys, as a rehearsal does (docs/encryption.md)
	os.Setenv("FANGPIN_DEMO_KEYS", "1")
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// applyExampleOrg applies examples/org.yaml to the database at dbURL, as `fangpin org
// apply` does, without setting DATABASE_URL (which would keep the test from running in
// parallel).
func applyExampleOrg(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := orgfile.Load("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
}

// TestMaxRSSReaper is not a test of its own: the memory tests run this test binary again
// as a small parent of fangpin, to read fangpin's peak memory clean. (On Linux a child's
// ru_maxrss starts from its parent's resident size at fork; this parent is small and
// fresh, where the test process that made the bombs is not.)
func TestMaxRSSReaper(t *testing.T) {
	out := os.Getenv("FANGPIN_REAPER_OUT")
	if out == "" {
		t.Skip("runs only as the parent of a process whose memory is measured")
	}
	args := strings.Split(os.Getenv("FANGPIN_REAPER_ARGS"), "\x1f")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		for s := range sig {
			cmd.Process.Signal(s)
		}
	}()
	cmd.Wait()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	os.WriteFile(out, []byte(strconv.FormatInt(ru.Maxrss<<10, 10)), 0o644)
	os.Exit(max(cmd.ProcessState.ExitCode(), 0))
}

// measured is fangpin run under the reaper; Peak reads its peak resident memory once it
// has exited.
type measured struct {
	*exec.Cmd
	out string
}

func helper(t *testing.T, bin string, env []string, stdout, stderr io.Writer, args ...string) measured {
	t.Helper()
	out := filepath.Join(t.TempDir(), "maxrss")
	cmd := exec.Command(os.Args[0], "-test.run=^TestMaxRSSReaper$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "FANGPIN_REAPER_OUT="+out, "FANGPIN_REAPER_ARGS="+strings.Join(append([]string{bin}, args...), "\x1f"))
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that a test that must give up can end fangpin too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return measured{cmd, out}
}

func (m measured) Peak(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(m.out)
	if err != nil {
		t.Fatalf("no peak memory reported: %v", err)
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// columns are those of a medical file and of the registry.
var columns = []string{"姓名", "身份证号", "乡镇", "住院自付累计", "门诊统筹费用", "门特费用",
	"户编号", "户主身份证号", "成员姓名", "成员身份证号", "户类型", "风险状态"}

// bombs writes the hostile files of issue 15 into dir: name → file, and the words the
// refusal must contain.
func bombs(t *testing.T, dir string) (files []string, want []string) {
	t.Helper()
	add := func(name, refusal string, write func(w io.Writer) error) {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		files, want = append(files, p), append(want, refusal)
	}
	row := []byte(`<row><c t="inlineStr"><is><t>城关镇</t></is></c></row>`)
	// A header that both a medical file and the registry accept, so that the reading goes on
	// past it into the bomb.
	var header strings.Builder
	header.WriteString(sheettest.SheetHead + "<row>")
	for _, c := range columns {
		header.WriteString(`<c t="inlineStr"><is><t>` + c + `</t></is></c>`)
	}
	header.WriteString("</row>")
	head, tail := []byte(header.String()), []byte(sheettest.SheetTail)
	// About 2 MB on disk that unpack to 1.5 GB, and the zip says so.
	add("declared.xlsx", "解压后超过 500 MB 的上限", func(w io.Writer) error {
		return sheettest.WriteXLSX(w, sheettest.Part{Head: head, Repeat: row, Times: 1500 << 20 / int64(len(row)), Tail: tail})
	})
	// The same, with a zip header that claims 16 MB.
	add("lying.xlsx", "解压后比它声明的", func(w io.Writer) error {
		return sheettest.WriteXLSX(w, sheettest.Part{Head: head, Repeat: row, Times: 1500 << 20 / int64(len(row)), Tail: tail, Declared: 16 << 20})
	})
	// A shared-string table just over its limit: the most text the reader holds.
	add("strings.xlsx", "共享字符串表）超过 64 MB 的上限", func(w io.Writer) error {
		return sheettest.WriteXLSX(w, sheettest.Part{Head: head, Repeat: row, Times: 1, Tail: tail},
			sheettest.Part{Name: "xl/sharedStrings.xml", Head: []byte(`<sst>`), Repeat: []byte(`<si><t>甲乙丙丁戊己庚辛</t></si>`), Times: 3 << 20, Tail: []byte(`</sst>`)})
	})
	// A CSV whose header line is 45 MB (under the 50 MB file limit).
	add("header.csv", "文件第 1 行超过 1 MB 的单行上限", func(w io.Writer) error {
		_, err := io.Copy(w, sheettest.NewReader(strings.Join(columns, ","), ",列", 45<<20))
		return err
	})
	// An .xls whose Workbook stream declares 40 MB in a file of a few kilobytes.
	add("declared.xls", "比文件本身还大", func(w io.Writer) error {
		hdr := make([]any, len(columns))
		for i, c := range columns {
			hdr[i] = c
		}
		wb := sheettest.XLS([]sheettest.XLSSheet{{Name: "表", Rows: [][]any{hdr}}})
		return sheettest.WriteCFB(w, []sheettest.Stream{{Name: "Workbook", Size: int64(len(wb)), R: bytes.NewReader(wb), Declared: 40 << 20}})
	})
	// An .xls of 45 MB whose shared strings (2 bytes a character in the file, 3 in memory)
	// come to more text than the reader holds.
	add("strings.xls", "共享字符串表）超过 64 MB 的上限", func(w io.Writer) error {
		row := make([]any, 2800)
		for i := range row {
			row[i] = strconv.Itoa(i) + strings.Repeat("甲", 8000)
		}
		return sheettest.WriteXLS(w, []sheettest.XLSSheet{{Name: "表", Rows: [][]any{row}}})
	})
	// Over the file limit.
	add("big.csv", "文件超过 50 MB 的上限", func(w io.Writer) error {
		_, err := io.Copy(w, sheettest.NewReader("姓名,身份证号,乡镇\n", "张三,110105194912310021,城关镇\n", sheet.MaxFileBytes+1))
		return err
	})
	return files, want
}

func TestImportRefusesBombsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds files of 50 MB")
	}
	t.Parallel()
	dbURL := pgtest.MigratedURL(t)
	applyExampleOrg(t, dbURL)
	bin := fangpinBinary(t)
	files, want := bombs(t, t.TempDir())
	for i, file := range files {
		for _, args := range [][]string{
			{"import", "--dept", "医保局", "--category", "medical", "--json", file},
			{"registry", "import", "--json", file},
		} {
			t.Run(filepath.Base(file)+"/"+args[0], func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				cmd := helper(t, bin, []string{"DATABASE_URL=" + dbURL}, &stdout, &stderr, args...)
				start := time.Now()
				err := cmd.Run()
				if _, ok := err.(*exec.ExitError); !ok {
					t.Fatalf("want a non-zero exit, got %v; stderr %s", err, stderr.String())
				}
				if !strings.Contains(stderr.String(), want[i]) {
					t.Errorf("stderr %q does not name the limit %q", stderr.String(), want[i])
				}
				rss := cmd.Peak(t)
				t.Logf("%s: exit %d in %v, max RSS %d MB", strings.Join(args[:2], " "), cmd.ProcessState.ExitCode(), time.Since(start).Round(time.Millisecond), rss>>20)
				if rss > maxRSS {
					t.Errorf("max RSS %d MB, over %d MB", rss>>20, maxRSS>>20)
				}
			})
		}
	}
}

// A .xls just under the 50 MB file limit (65,000 rows, as many as the format holds, with
// a long 备注 each) is imported under
// docs/limits.md's 256 MB: the container and the records are read as a stream.
func TestLargeXLSImportsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a file of 50 MB")
	}
	t.Parallel()
	dbURL := pgtest.MigratedURL(t)
	applyExampleOrg(t, dbURL)
	bin := fangpinBinary(t)
	file := filepath.Join(t.TempDir(), "医保.xls")
	rows := 0
	func() {
		g := synth.New(11)
		towns := []string{"城关镇", "河口乡", "青山镇", "石桥乡"}
		note := sheettest.Text(strings.Repeat("住院治疗情况说明", 38))
		wb := sheettest.XLS([]sheettest.XLSSheet{
			{Name: "说明", Rows: [][]any{{"本表为 XX 县医疗保障局导出"}}},
			{Name: "明细", Rows: [][]any{{"XX县医疗保障局住院费用明细表"}, {"姓名", "身份证号", "乡镇", "住院自付累计", "门诊统筹费用", "门特费用", "备注"}},
				N: 65000, Gen: func(i int) []any {
					return []any{sheettest.Text(g.Name()), sheettest.Text(g.IDNumber(1970)), sheettest.Text(towns[i%4]),
						sheettest.Number(float64(i%9000) + 0.5), sheettest.Number(i % 600), sheettest.Number(0), note}
				}},
		})
		if len(wb) > sheet.MaxFileBytes-(1<<20) || len(wb) < 40<<20 {
			t.Fatalf("workbook of %d MB, want just under 50 MB", len(wb)>>20)
		}
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := sheettest.WriteCFB(f, []sheettest.Stream{{Name: "Workbook", Size: int64(len(wb)), R: bytes.NewReader(wb)}}); err != nil {
			t.Fatal(err)
		}
		rows = 65000
	}()
	var stdout, stderr bytes.Buffer
	cmd := helper(t, bin, []string{"DATABASE_URL=" + dbURL}, &stdout, &stderr, "import", "--dept", "医保局", "--category", "medical", "--json", file)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("import: %v; stderr %s", err, stderr.String())
	}
	rss := cmd.Peak(t)
	t.Logf("%d rows in %v, max RSS %d MB", rows, time.Since(start).Round(time.Millisecond), rss>>20)
	var b struct {
		Rows  int    `json:"rows"`
		Sheet string `json:"sheet"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &b); err != nil || b.Rows != rows || b.Sheet != "明细" {
		t.Errorf("answer %s (%v); want %d rows from sheet 明细", stdout.String(), err, rows)
	}
	if rss > maxRSS {
		t.Errorf("max RSS %d MB, over %d MB", rss>>20, maxRSS>>20)
	}
}

// fangpin import of department files as they come: the JSON adds skipped and sheet, and
// stderr names the sheet read and the sheets passed over.
func TestImportNamesSheetAndSkipped(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.MigratedURL(t))
	if code, _ := run(t, "org", "apply", "../../examples/org.yaml"); code != 0 {
		t.Fatal("org apply failed")
	}
	for _, c := range []struct {
		glob  string
		want  string
		sheet string
	}{
		{"a2_*.xlsx", `"skipped":2,"sheet":"Sheet1"`, "Sheet1"},
		{"d1_*.xlsx", `"skipped":0,"sheet":"住院明细"`, "住院明细"},
		{"t1_*.txt", `"skipped":0}`, ""},
	} {
		m, _ := filepath.Glob("../../cases/intake/testdata/department-files/" + c.glob)
		if len(m) != 1 {
			t.Fatalf("sample %s: %v", c.glob, m)
		}
		code, out := run(t, "import", "--dept", "医保局", "--category", "medical", "--period", "2026-10", "--json", m[0])
		if code != 0 || !strings.Contains(out, c.want) || !strings.Contains(out, `"rows":7,"accepted":7`) {
			t.Errorf("%s: exit %d, %s; want %s", c.glob, code, out, c.want)
		}
	}
}
