package intake_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// BenchmarkImportInProcess runs intake.ImportFile in this process on a generated medical
// CSV (FANGPIN_BENCH_ROWS rows, default 100,000), so that -cpuprofile shows where an
// import spends its time:
//
//	go test ./cases/intake -run '^$' -bench ImportInProcess -benchtime 3x -cpuprofile cpu.out
//	go tool pprof -top intake.test cpu.out
func BenchmarkImportInProcess(b *testing.B) {
	n := 100_000
	if s := os.Getenv("FANGPIN_BENCH_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	ctx := context.Background()
	db, _ := benchDB(b)
	file := filepath.Join(b.TempDir(), "medical.csv")
	writeMedicalCSV(b, file, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each import its own period: the same people again for the same period would be a
		// re-send, merged with the earlier push (docs/intake.md), which is not what this measures.
		req := intake.Request{Department: "医保局", Category: cases.CatMedical, Period: cases.NewDate(2026, time.Month(10-i), 1).MonthKey(),
			SHA256: fmt.Sprintf("%012x%052d", i, 0)}
		batch, err := intake.ImportFile(ctx, db, req, file)
		if err != nil {
			b.Fatal(err)
		}
		if batch.Rows != n || batch.Warnings != warnRows(n) {
			b.Fatalf("rows %d warnings %d, want %d and %d", batch.Rows, batch.Warnings, n, warnRows(n))
		}
	}
}

// benchDB is a migrated database with the example organisation and registry.
func benchDB(b *testing.B) (*postgres.DB, string) {
	ctx := context.Background()
	url := pgtest.MigratedURL(b)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
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
	defer rr.Close()
	if _, err := registry.Import(ctx, rr, towns, db); err != nil {
		b.Fatal(err)
	}
	pgtest.SealStored(b, db) // the registry as the store keeps it: looked up by hash
	return db, url
}

// warnShare is the share of generated rows that raise a warning. A department's file is
// mostly people over its threshold (issue 18 measured 44 %), not the tenth of earlier runs:
//
//	go test ./cases/intake -run '^$' -bench ImportVsPsqlCopy -benchtime 1x -v -args -warn-share 0.1
var warnShare = flag.Float64("warn-share", 0.44, "share of generated benchmark rows over a threshold (0..1)")

// warnRows is how many of n generated rows raise a warning.
func warnRows(n int) int {
	return int(float64(n)**warnShare + 0.5)
}

// writeMedicalCSV writes n generated medical rows, warnRows(n) of them warnings, into file.
func writeMedicalCSV(b *testing.B, file string, n int) {
	files := writeMedicalCSVParts(b, filepath.Dir(file), n, n)
	if err := os.Rename(files[0], file); err != nil {
		b.Fatal(err)
	}
}

// writeMedicalCSVParts writes n generated medical rows, warnRows(n) of them warnings
// spread through them, into files of at most perFile rows each (each with the header) in
// dir, as the ImportVsPsqlCopy benchmark does; no person is in two files.
func writeMedicalCSVParts(b *testing.B, dir string, n, perFile int) []string {
	members := synth.New(1).Registry(320, synth.Townships)
	header := strings.Join(synth.DeptHeader(cases.CatMedical), ",") + "\n"
	var files []string
	var f *os.File
	var w *bufio.Writer
	closeFile := func() error {
		if f == nil {
			return nil
		}
		err := w.Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		f = nil
		return err
	}
	rows := 0
	err := synth.New(42).DeptRows(synth.DeptSpec{Category: cases.CatMedical, Warn: warnRows(n), Quiet: n - warnRows(n), Members: members},
		func(r synth.DeptRow) error {
			if rows%perFile == 0 {
				if err := closeFile(); err != nil {
					return err
				}
				name := filepath.Join(dir, fmt.Sprintf("medical-%02d.csv", len(files)+1))
				var err error
				if f, err = os.Create(name); err != nil {
					return err
				}
				files = append(files, name)
				w = bufio.NewWriterSize(f, 1<<20)
				w.WriteString(header)
			}
			rows++
			_, err := w.WriteString(strings.Join(r.Cells, ",") + "\n")
			return err
		})
	if cerr := closeFile(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	return files
}
