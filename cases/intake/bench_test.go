package intake_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

// BenchmarkImportVsPsqlCopy imports a generated medical CSV (FANGPIN_BENCH_ROWS rows,
// default 1,000,000) with the real `fangpin import` binary and, in the same run, loads the
// same file with `psql \copy` into a bare table of text columns. It reports the ratio of
// the two wall times and the importer's peak RSS. Run it with
//
//	make services && go test ./cases/intake -run '^$' -bench ImportVsPsqlCopy -benchtime 1x -v
//
// It never runs in `make test` (benchmarks run only with -bench).
func BenchmarkImportVsPsqlCopy(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("FANGPIN_BENCH_ROWS"); s != "" {
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
	url := pgtest.NewURL(b)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
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
	towns, _ := db.TownshipNames(ctx)
	rr, err := sheet.Open("../../examples/registry.csv")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := registry.Import(ctx, rr, towns, db); err != nil {
		b.Fatal(err)
	}
	rr.Close()
	members := synth.New(1).Registry(320, synth.Townships)

	file := filepath.Join(dir, "medical.csv")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	header := synth.DeptHeader(cases.CatMedical)
	w.WriteString(strings.Join(header, ",") + "\n")
	err = synth.New(42).DeptRows(synth.DeptSpec{Category: cases.CatMedical, Warn: n / 10, Quiet: n - n/10, Members: members},
		func(r synth.DeptRow) error {
			_, err := w.WriteString(strings.Join(r.Cells, ",") + "\n")
			return err
		})
	if err == nil {
		err = w.Flush()
	}
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(file)

	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = fmt.Sprintf("%q text", h)
	}
	if _, err := db.Exec(`CREATE TABLE bench_bare (` + strings.Join(cols, ", ") + `)`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.Exec(`TRUNCATE bench_bare`)
		db.Exec(`TRUNCATE warnings, batches CASCADE`)
		start := time.Now()
		cp := exec.Command("psql", url, "-qc", `\copy bench_bare FROM '`+file+`' WITH (FORMAT csv, HEADER true)`)
		if out, err := cp.CombinedOutput(); err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		copyTime := time.Since(start)

		start = time.Now()
		imp := exec.Command(bin, "import", "--dept", "医保局", "--category", "medical", "--period", "2026-10", "--json", file)
		imp.Env = append(os.Environ(), "DATABASE_URL="+url)
		imp.Stderr = nil
		out, err := imp.Output()
		if err != nil {
			b.Fatalf("import: %v\n%s", err, out)
		}
		importTime := time.Since(start)
		rss := imp.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		summary := strings.TrimSpace(string(out))
		summary = summary[:min(200, len(summary))]
		var stored int
		db.Get(&stored, `SELECT count(*) FROM warnings`)
		ratio := importTime.Seconds() / copyTime.Seconds()
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(float64(rss)/1024, "peakRSS-MB")
		b.ReportMetric(copyTime.Seconds(), "psql-s")
		b.ReportMetric(importTime.Seconds(), "import-s")
		b.Logf("%d rows (%.0f MB): psql \\copy %v, fangpin import %v (ratio %.2f; importer CPU user %v sys %v), peak RSS %.0f MB, %d rows stored; %s",
			n, float64(st.Size())/1e6, copyTime.Round(time.Millisecond), importTime.Round(time.Millisecond), ratio,
			imp.ProcessState.UserTime().Round(time.Millisecond), imp.ProcessState.SystemTime().Round(time.Millisecond),
			float64(rss)/1024, stored, summary)
	}
	_ = intake.ChunkSize
}
