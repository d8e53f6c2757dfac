package registry_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// BenchmarkRegistryImportVsPsqlCopy imports a `fangpin synth registry` file of
// FANGPIN_BENCH_HOUSEHOLDS households (default 2,000; `make bench` runs 100,000, about
// 300,000 members) with the real `fangpin registry import` binary, three times: the first
// import into an empty registry, the identical file again, and a file with 2 % of the
// households changed (village or risk). Around each, in the same run, `psql \copy` loads the
// same file into a bare table of text columns, three times; each import's time is reported
// over the copies' median (docs/performance.md: target ≤ 5×), with the importer's peak RSS
// (≤ 256 MB).
//
//	make services && FANGPIN_BENCH_HOUSEHOLDS=100000 go test ./cases/registry -run '^$' -bench RegistryImportVsPsqlCopy -benchtime 1x -v
//
// It never runs in `make test` (benchmarks run only with -bench).
func BenchmarkRegistryImportVsPsqlCopy(b *testing.B) {
	n := 2000
	if s := os.Getenv("FANGPIN_BENCH_HOUSEHOLDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	if _, err := exec.LookPath("psql"); err != nil {
		b.Skip("psql not on PATH")
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "fangpin")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/fangpin").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	// The files are made by `fangpin synth registry` and a streamed copy of it, never held in
	// this process: a child's peak RSS counts its parent's highest until exec (Go starts it
	// sharing the parent's address space), so a large parent would be measured as the importer.
	first, second := filepath.Join(dir, "registry-1.csv"), filepath.Join(dir, "registry-2.csv")
	if out, err := exec.Command(bin, "synth", "registry", "--seed", "1", "--households", strconv.Itoa(n), "-o", first).CombinedOutput(); err != nil {
		b.Fatalf("synth: %v\n%s", err, out)
	}
	changed := changeHouseholds(b, first, second)
	for i := 0; i < b.N; i++ {
		url := pgtest.MigratedURL(b)
		ctx := context.Background()
		db, err := postgres.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		orgBytes, _ := os.ReadFile("../../examples/org.yaml")
		org, err := orgfile.Parse(orgBytes)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.ApplyOrg(ctx, org); err != nil {
			b.Fatal(err)
		}
		cols := ""
		for j := range synth.RegistryHeader {
			cols += fmt.Sprintf(", c%d text", j)
		}
		if _, err := db.Exec(`CREATE TABLE bench_bare (` + cols[2:] + `)`); err != nil {
			b.Fatal(err)
		}
		type answer struct {
			Rows, Added, Changed, Removed int
			BatchID                       string `json:"batch_id"`
		}
		psqlCopy := func(file string) time.Duration {
			db.Exec(`TRUNCATE bench_bare`)
			start := time.Now()
			cp := exec.Command("psql", url, "-qc", `\copy bench_bare FROM '`+file+`' WITH (FORMAT csv, HEADER true)`)
			if out, err := cp.CombinedOutput(); err != nil {
				b.Fatalf("psql: %v\n%s", err, out)
			}
			return time.Since(start)
		}
		step := func(label, file string) (ratio float64, rss int64, a answer) {
			// The copy takes well under a second, so one noisy moment of a shared machine
			// moves it by a quarter: it is timed three times around the import (once before,
			// twice after) and the median is the baseline.
			copies := []time.Duration{psqlCopy(file)}
			start := time.Now()
			imp := exec.Command(bin, "registry", "import", "--json", file)
			imp.Env = append(os.Environ(), "DATABASE_URL="+url, "FANGPIN_DEMO_KEYS=1")
			var stderr bytes.Buffer
			imp.Stderr = &stderr
			out, err := imp.Output()
			if err != nil {
				b.Fatalf("%s: %v\n%s", label, err, stderr.Bytes()[max(0, stderr.Len()-2000):])
			}
			importTime := time.Since(start)
			copies = append(copies, psqlCopy(file), psqlCopy(file))
			slices.Sort(copies)
			copyTime := copies[1]
			if os.Getenv("FANGPIN_REGISTRY_TRACE") != "" {
				// The importer's per-statement trace (wall and server CPU), for the report.
				b.Logf("%s, trace:\n%s", label, stderr.Bytes())
			}
			rss = imp.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
			cpu := imp.ProcessState.UserTime() + imp.ProcessState.SystemTime()
			if err := json.Unmarshal(out, &a); err != nil {
				b.Fatalf("%s answer: %v", label, err)
			}
			ratio = importTime.Seconds() / copyTime.Seconds()
			b.Logf("%s: %d rows, psql \\copy %v (median of %v, %v, %v), fangpin registry import %v (ratio %.2f; importer CPU %v), peak RSS %.0f MB; added %d changed %d removed %d",
				label, a.Rows, copyTime.Round(time.Millisecond), copies[0].Round(time.Millisecond), copies[1].Round(time.Millisecond),
				copies[2].Round(time.Millisecond), importTime.Round(time.Millisecond), ratio, cpu.Round(time.Millisecond),
				float64(rss)/1024, a.Added, a.Changed, a.Removed)
			return ratio, rss, a
		}
		r1, rss1, a1 := step("first import", first)
		r2, rss2, a2 := step("identical re-import", first)
		r3, rss3, a3 := step("re-import, 2 % of households changed", second)
		if a1.Added != n || a2.BatchID != "" || a3.Changed != changed || a3.Added+a3.Removed != 0 {
			b.Fatalf("imports: first added %d (want %d), identical batch %q (want none), changed %d (want %d), added+removed %d (want 0)",
				a1.Added, n, a2.BatchID, a3.Changed, changed, a3.Added+a3.Removed)
		}
		b.ReportMetric(r1, "first-ratio")
		b.ReportMetric(r2, "identical-ratio")
		b.ReportMetric(r3, "changed-ratio")
		b.ReportMetric(float64(max(rss1, rss2, rss3))/1024, "peakRSS-MB")
		db.Close()
	}
}

// changeHouseholds copies a registry CSV, changing one household in 50 (a new village for
// half of them, the other risk state for the rest), and returns how many it changed.
func changeHouseholds(b *testing.B, from, to string) int {
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	r, w := csv.NewReader(bufio.NewReader(in)), csv.NewWriter(out)
	header, err := r.Read()
	if err != nil {
		b.Fatal(err)
	}
	w.Write(header)
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	households, changed, last := 0, 0, ""
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		if no := rec[col["户编号"]]; no != last {
			last = no
			households++
			if (households-1)%50 == 0 {
				changed++
			}
		}
		if k := households - 1; k%50 == 0 {
			if k%100 == 0 {
				rec[col["村"]] = "新村"
			} else if rec[col["风险状态"]] == cases.RiskOpen {
				rec[col["风险状态"]] = cases.RiskCleared
			} else {
				rec[col["风险状态"]] = cases.RiskOpen
			}
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		b.Fatal(err)
	}
	return changed
}
