package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/synth"
)

// Every category's template has the header of the one column definition, and its example
// row imports cleanly through `fangpin import` for the department that pushes it.
func TestTemplatesReadBackAndImport(t *testing.T) {
	withExampleOrg(t)
	pusher := map[cases.Category]string{cases.CatMedical: "医保局", cases.CatSeriousIllness: "卫健委", cases.CatEducation: "教体局",
		cases.CatDisaster: "应急管理局", cases.CatEpidemic: "卫健委", cases.CatIndustry: "农业农村局", cases.CatEmployment: "人社局",
		cases.CatAssistance: "民政局", cases.CatAssurance: "住建局", cases.CatPopulation: "公安局"}
	dir := t.TempDir()
	for _, cat := range cases.Categories {
		path := filepath.Join(dir, string(cat)+".xlsx")
		// --json like every subcommand (it was refused as an unknown flag)
		code, out, stderr := runIntakeCLI(t, "template", "--json", "--category", string(cat), "-o", path)
		var said struct{ File, Template string }
		if code != 0 || json.Unmarshal([]byte(out), &said) != nil || said.File != path || said.Template != string(cat) {
			t.Fatalf("template %s: exit %d, stdout %q, %s", cat, code, out, stderr)
		}
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatalf("%s: %v", cat, err)
		}
		rows, err := f.GetRows(f.GetSheetName(0))
		if err != nil || len(rows) != 2 {
			t.Fatalf("%s: %d rows (%v), want header and one example", cat, len(rows), err)
		}
		if got, want := strings.Join(rows[0], ","), strings.Join(intake.ColumnsOf(cat), ","); got != want {
			t.Errorf("%s header %s, want %s", cat, got, want)
		}
		notes, err := f.GetRows("说明")
		if err != nil || len(notes) < 7+len(rows[0]) || !strings.Contains(notes[1][1], "推送") {
			t.Errorf("%s: 说明 sheet %v (%v)", cat, notes, err)
		}
		f.Close()
		code, stdout, stderr := runIntakeCLI(t, "import", "--dept", pusher[cat], "--category", string(cat), "--json", path)
		var b cases.Batch
		if code != 0 || json.Unmarshal([]byte(stdout), &b) != nil {
			t.Fatalf("import of the %s template: exit %d, %s %s", cat, code, stdout, stderr)
		}
		if b.Rows != 1 || b.Accepted != 1 || b.Rejected != 0 {
			t.Errorf("the %s template's example: %+v, want one row accepted", cat, b)
		}
	}
	org := filepath.Join(dir, "org.xlsx")
	if code, _, stderr := runIntakeCLI(t, "template", "--org", "-o", org); code != 0 {
		t.Fatalf("template --org: %s", stderr)
	}
	f, err := excelize.OpenFile(org)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sh := range []string{"乡镇", "部门", "人员"} {
		rows, err := f.GetRows(sh)
		if err != nil || len(rows) != 2 || len(rows[0]) != len(rows[1]) && len(rows[1]) > len(rows[0]) {
			t.Errorf("org template sheet %s: %v (%v)", sh, rows, err)
		}
	}
}

// fangpin import refuses a period that is not YYYY-MM or lies ahead, naming the expected form;
// `fangpin mapping` shows and clears a department's mapping.
func TestImportPeriodAndMappingCommands(t *testing.T) {
	withExampleOrg(t)
	path := filepath.Join(t.TempDir(), "m.xlsx")
	if code, _, stderr := runIntakeCLI(t, "template", "--category", "medical", "-o", path); code != 0 {
		t.Fatalf("template: %s", stderr)
	}
	for _, p := range []string{"2026-11x", "2099-01", "2026-13"} {
		code, stdout, stderr := runIntakeCLI(t, "import", "--dept", "医保局", "--category", "medical", "--period", p, "--json", path)
		if code == 0 || stdout != "" || !strings.Contains(stderr, p) || !strings.Contains(stderr, "YYYY-MM") && !strings.Contains(stderr, "晚于") {
			t.Errorf("period %s: exit %d, stdout %q, stderr %q", p, code, stdout, stderr)
		}
	}
	code, stdout, stderr := runIntakeCLI(t, "mapping", "--dept", "民政局", "--json")
	if code != 0 || strings.TrimSpace(stdout) != `{"department":"民政局","columns":{},"values":{}}` {
		t.Fatalf("mapping: exit %d, %s %s", code, stdout, stderr)
	}
	if code, _, _ := runIntakeCLI(t, "mapping", "--dept", "不存在局", "--json"); code == 0 {
		t.Error("mapping of an unknown department must fail")
	}
	code, stdout, _ = runIntakeCLI(t, "mapping", "--dept", "民政局", "--clear", "--json")
	if code != 0 || !strings.Contains(stdout, `"columns":{}`) {
		t.Fatalf("mapping --clear: exit %d, %s", code, stdout)
	}
}

// A department's stored mapping reads its files by its own header words through `fangpin
// import`, also when a title row stands above the header.
func TestImportReadsByTheStoredMapping(t *testing.T) {
	url := withExampleOrg(t)
	path := filepath.Join(t.TempDir(), "民政.csv")
	id := synth.New(8).IDNumber(1970)
	os.WriteFile(path, []byte("民政局新增救助对象明细表\n人员名X,证件X,乡镇,保障类别X,认定日期\n甲,"+id+",城关镇,农村低保X,2026-11-08\n"), 0o644)
	if code, _, _ := runIntakeCLI(t, "import", "--dept", "民政局", "--category", "assistance", "--json", path); code == 0 {
		t.Fatal("without a mapping the file's own words must not be taken")
	}
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.SetDepartmentMapping(context.Background(), cases.ColumnMapping{Department: "民政局",
		Columns: map[string]string{"人员名X": "姓名", "证件X": "身份证号", "保障类别X": "救助类别"},
		Values:  map[string]map[string]string{"救助类别": {"农村低保X": "低保"}}}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runIntakeCLI(t, "import", "--dept", "民政局", "--category", "assistance", "--json", path)
	var b cases.Batch
	if code != 0 || json.Unmarshal([]byte(stdout), &b) != nil || b.Accepted != 1 || b.Warnings != 1 {
		t.Fatalf("with the mapping: exit %d, %s %s", code, stdout, stderr)
	}
	code, stdout, _ = runIntakeCLI(t, "mapping", "--dept", "民政局", "--json")
	if code != 0 || !strings.Contains(stdout, `"证件X":"身份证号"`) || !strings.Contains(stdout, `"农村低保X":"低保"`) {
		t.Fatalf("fangpin mapping: %s", stdout)
	}
}

// An education push names its 学年 or any month of it: the same file pushed as 2026-2027 and
// as 2026-11 is one push. It was stored under the month given, so the second was a new batch
// (duplicate_of null, replaced 0) whose warnings doubled the first's.
func TestEducationPeriodIsItsSchoolYear(t *testing.T) {
	withExampleOrg(t)
	path := filepath.Join(t.TempDir(), "edu.xlsx")
	if code, _, stderr := runIntakeCLI(t, "template", "--category", "education", "-o", path); code != 0 {
		t.Fatal(stderr)
	}
	today := cases.DateOf(time.Now())
	imp := func(period string) cases.Batch {
		t.Helper()
		code, stdout, stderr := runIntakeCLI(t, "import", "--dept", "教体局", "--category", "education", "--period", period, "--json", path)
		var b cases.Batch
		if code != 0 || json.Unmarshal([]byte(stdout), &b) != nil {
			t.Fatalf("import --period %s: exit %d, %s", period, code, stderr)
		}
		return b
	}
	first := imp(cases.SchoolYearOf(today))
	again := imp(today.MonthKey())
	if again.DuplicateOf == nil || *again.DuplicateOf != first.ID || again.Period != first.Period {
		t.Errorf("the same file as %s: batch %s (period %s, duplicate_of %v); want the push of %s, %s",
			today.MonthKey(), again.ID, again.Period, again.DuplicateOf, cases.SchoolYearOf(today), first.ID)
	}
}
