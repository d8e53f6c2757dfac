package registry_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
)

func setup(t *testing.T) (*postgres.DB, map[string]string) {
	t.Helper()
	db := pgtest.New(t)
	b, err := os.ReadFile("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	org, err := orgfile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	towns, err := db.TownshipNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return db, towns
}

func importBytes(t *testing.T, db *postgres.DB, towns map[string]string, b []byte) registry.Summary {
	t.Helper()
	r, err := sheet.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := registry.Import(context.Background(), r, towns, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExampleRegistryImportsTwiceAlike(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	b, err := os.ReadFile("../../examples/registry.csv")
	if err != nil {
		t.Fatal(err)
	}
	first := importBytes(t, db, towns, b)
	if first.Rejected != 0 || first.Households < 300 {
		t.Fatalf("example registry: %+v", first)
	}
	second := importBytes(t, db, towns, b)
	if first.Rows != second.Rows || first.Accepted != second.Accepted || first.Households != second.Households {
		t.Fatalf("second import differs: %+v vs %+v", first, second)
	}
	var n int
	n = pgtest.Count(t, db, `SELECT count(DISTINCT township_id) FROM registry_households`)
	if n < 5 {
		t.Fatalf("households over %d townships, want ≥5", n)
	}
}

func TestBadRowsAreReportedAndGoodRowsKept(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	g := synth.New(7)
	ms := g.Registry(6, synth.Townships)
	var buf bytes.Buffer
	if err := synth.WriteRegistryCSV(&buf, ms); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// Break three rows of three different households' heads... one column each.
	badCheck := []rune(ms[1].IDNumber)
	if badCheck[17] == '1' {
		badCheck[17] = '2'
	} else {
		badCheck[17] = '1'
	}
	lines[2] = strings.Replace(lines[2], ","+ms[1].IDNumber+",", ","+string(badCheck)+",", 1)
	lines[3] = strings.Replace(lines[3], ","+ms[2].Township+",", ",火星乡,", 1)
	lines[4] = strings.Replace(lines[4], ","+ms[3].Kind+",", ",小康户,", 1)
	s := importBytes(t, db, towns, []byte(strings.Join(lines, "\n")+"\n"))
	if s.Rows != len(ms) || s.Rejected != 3 || s.Accepted != len(ms)-3 {
		t.Fatalf("summary: %+v", s)
	}
	want := []cases.RowError{{Row: 3, Column: "成员身份证号"}, {Row: 4, Column: "乡镇"}, {Row: 5, Column: "户类型"}}
	for i, w := range want {
		e := s.Errors[i]
		if e.Row != w.Row || e.Column != w.Column || e.Message == "" {
			t.Errorf("error %d = %+v, want row %d column %s", i, e, w.Row, w.Column)
		}
	}
	if strings.Contains(s.Errors[0].Message, string(badCheck)) {
		t.Errorf("error message repeats the full ID number: %s", s.Errors[0].Message)
	}
	var members int
	members = pgtest.Count(t, db, `SELECT count(*) FROM registry_members`)
	if members != len(ms)-3 {
		t.Fatalf("stored %d members, want %d", members, len(ms)-3)
	}
}

func TestGBKAndXLSXReadTheSame(t *testing.T) {
	t.Parallel()
	db, towns := setup(t)
	ms := synth.New(3).Registry(20, synth.Townships)
	var utf bytes.Buffer
	synth.WriteRegistryCSV(&utf, ms)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(utf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	f := excelize.NewFile()
	sw, _ := f.NewStreamWriter("Sheet1")
	header := make([]any, len(synth.RegistryHeader))
	for i, h := range synth.RegistryHeader {
		header[i] = h
	}
	sw.SetRow("A1", header)
	for i, m := range ms {
		rec := synth.RegistryRecord(m)
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		sw.SetRow(cell, row)
	}
	sw.Flush()
	path := filepath.Join(t.TempDir(), "registry.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	xb, _ := os.ReadFile(path)
	a := importBytes(t, db, towns, utf.Bytes())
	b := importBytes(t, db, towns, gbk)
	c := importBytes(t, db, towns, xb)
	if a.Accepted != len(ms) || a.Accepted != b.Accepted || b.Accepted != c.Accepted || a.Households != c.Households {
		t.Fatalf("utf-8 %+v, gbk %+v, xlsx %+v", a, b, c)
	}
}

func TestMissingColumnRejectsFile(t *testing.T) {
	t.Parallel()
	r, err := sheet.New(strings.NewReader("户编号,成员姓名\nA,王试一\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = registry.Import(context.Background(), r, map[string]string{}, nil)
	if err == nil || !strings.Contains(err.Error(), "户主身份证号") {
		t.Fatalf("missing columns: %v", err)
	}
}
