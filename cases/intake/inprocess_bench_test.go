package intake_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
		req := intake.Request{Department: "医保局", Category: cases.CatMedical, Period: "2026-10",
			SHA256: fmt.Sprintf("%012x%052d", i, 0)}
		batch, err := intake.ImportFile(ctx, db, req, file)
		if err != nil {
			b.Fatal(err)
		}
		if batch.Rows != n || batch.Warnings != n/10 {
			b.Fatalf("rows %d warnings %d, want %d and %d", batch.Rows, batch.Warnings, n, n/10)
		}
	}
}

// benchDB is a migrated database with the example organisation and registry.
func benchDB(b *testing.B) (*postgres.DB, string) {
	ctx := context.Background()
	url := pgtest.NewURL(b)
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
	return db, url
}

// writeMedicalCSV writes n generated medical rows, a tenth of them warnings, as the
// ImportVsPsqlCopy benchmark does.
func writeMedicalCSV(b *testing.B, file string, n int) {
	members := synth.New(1).Registry(320, synth.Townships)
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(strings.Join(synth.DeptHeader(cases.CatMedical), ",") + "\n")
	err = synth.New(42).DeptRows(synth.DeptSpec{Category: cases.CatMedical, Warn: n / 10, Quiet: n - n/10, Members: members},
		func(r synth.DeptRow) error {
			_, err := w.WriteString(strings.Join(r.Cells, ",") + "\n")
			return err
		})
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		b.Fatal(err)
	}
}
