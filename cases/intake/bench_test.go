package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// same file with `psql \copy` into a bare table of text columns, three times around the
// import. It reports the ratio of the import's wall time to the copies' median, and the
// importer's peak RSS. The share of rows over a threshold is
// the -warn-share flag (default 0.44). Run it with
//
//	make services && go test ./cases/intake -run '^$' -bench ImportVsPsqlCopy -benchtime 1x -v
//	go test ./cases/intake -run '^$' -bench ImportVsPsqlCopy -benchtime 1x -v -args -warn-share 0.1
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
	url := pgtest.MigratedURL(b)
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
	pgtest.SealStored(b, db) // the registry as the store keeps it: looked up by hash
	rr.Close()
	// A file is at most sheet.MaxFileBytes (docs/limits.md): N rows go into as many files of at
	// most FANGPIN_BENCH_ROWS_PER_FILE (default 500,000) rows as it takes, as the refusal of
	// a larger file tells a department to do. psql copies the same files.
	perFile := 500_000
	if s := os.Getenv("FANGPIN_BENCH_ROWS_PER_FILE"); s != "" {
		if perFile, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	files := writeMedicalCSVParts(b, dir, n, perFile)
	var size int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		if st.Size() > sheet.MaxFileBytes {
			b.Fatalf("%s is %d bytes, over the %d-byte limit: lower FANGPIN_BENCH_ROWS_PER_FILE", f, st.Size(), sheet.MaxFileBytes)
		}
		size += st.Size()
	}
	header := synth.DeptHeader(cases.CatMedical)

	cols := make([]string, len(header))
	for i, h := range header {
		cols[i] = fmt.Sprintf("%q text", h)
	}
	if _, err := db.Exec(`CREATE TABLE bench_bare (` + strings.Join(cols, ", ") + `)`); err != nil {
		b.Fatal(err)
	}
	// FANGPIN_BENCH_SQL runs before the import, to measure what an index or a constraint
	// costs, e.g. "DROP INDEX warnings_undispatched_unbatched".
	if q := os.Getenv("FANGPIN_BENCH_SQL"); q != "" {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("FANGPIN_BENCH_SQL: %v", err)
		}
	}
	b.ResetTimer()
	// psqlCopy loads every file into the bare table, as one import does, and returns the time.
	psqlCopy := func() time.Duration {
		db.Exec(`TRUNCATE bench_bare`)
		var d time.Duration
		for _, file := range files {
			start := time.Now()
			cp := exec.Command("psql", url, "-qc", `\copy bench_bare FROM '`+file+`' WITH (FORMAT csv, HEADER true)`)
			if out, err := cp.CombinedOutput(); err != nil {
				b.Fatalf("psql: %v\n%s", err, out)
			}
			d += time.Since(start)
		}
		return d
	}
	for i := 0; i < b.N; i++ {
		db.Exec(`TRUNCATE warnings, batches CASCADE`)
		var importTime, user, sys time.Duration
		var rss int64
		warnings := 0
		// The baseline is the median of three copies around the import (one before, two
		// after): on a shared machine one copy moved by a fifth between runs, more than the
		// import did (docs/performance.md).
		copies := []time.Duration{psqlCopy()}
		cpu0 := systemCPU(b)
		for _, file := range files {
			start := time.Now()
			imp := exec.Command(bin, "import", "--dept", "医保局", "--category", "medical", "--period", "2026-10", "--json", file)
			imp.Env = append(os.Environ(), "DATABASE_URL="+url, "FANGPIN_DEMO_KEYS=1")
			var stderr bytes.Buffer
			imp.Stderr = &stderr
			out, err := imp.Output()
			if err != nil {
				b.Fatalf("import: %v\n%s\n%s", err, out, stderr.Bytes()[max(0, stderr.Len()-2000):])
			}
			importTime += time.Since(start)
			rss = max(rss, imp.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) // KiB on Linux
			user += imp.ProcessState.UserTime()
			sys += imp.ProcessState.SystemTime()
			var summary struct{ Rows, Warnings int }
			if err := json.Unmarshal(out, &summary); err != nil {
				b.Fatalf("import answer: %v\n%s", err, out)
			}
			warnings += summary.Warnings
		}
		// What the machine spent besides the importer during the imports: mostly the
		// server's backends (anything else running counts too, so read it on a quiet machine).
		others := systemCPU(b) - cpu0 - user - sys
		copies = append(copies, psqlCopy(), psqlCopy())
		slices.Sort(copies)
		copyTime := copies[1]
		var stored int
		stored = pgtest.Count(b, db, `SELECT count(DISTINCT (batch_id, row_no)) FROM warnings`)
		if warnings != warnRows(n) || stored != warnings {
			b.Fatalf("import reported %d warning rows and stored %d, want %d", warnings, stored, warnRows(n))
		}
		ratio := importTime.Seconds() / copyTime.Seconds()
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(float64(rss)/1024, "peakRSS-MB")
		b.ReportMetric(copyTime.Seconds(), "psql-s")
		b.ReportMetric(importTime.Seconds(), "import-s")
		b.ReportMetric((user + sys).Seconds(), "importer-cpu-s")
		b.ReportMetric(others.Seconds(), "server-cpu-s")
		b.Logf("%d rows in %d files (%.0f MB, %.0f %% warnings): psql \\copy %v (median of %v, %v, %v), fangpin import %v (ratio %.2f; importer CPU user %v sys %v, the rest of the machine %v), peak RSS %.0f MB, %d warning rows stored",
			n, len(files), float64(size)/1e6, *warnShare*100, copyTime.Round(time.Millisecond), copies[0].Round(time.Millisecond),
			copies[1].Round(time.Millisecond), copies[2].Round(time.Millisecond), importTime.Round(time.Millisecond), ratio,
			user.Round(time.Millisecond), sys.Round(time.Millisecond), others.Round(time.Millisecond), float64(rss)/1024, stored)
	}
	_ = intake.ChunkSize
}

// systemCPU is the CPU time all processes of the machine have used since boot (user, nice,
// system, irq and softirq of /proc/stat's first line).
func systemCPU(b *testing.B) time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			b.Fatalf("/proc/stat: %v", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ is 100 on Linux
}
