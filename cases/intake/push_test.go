package intake_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet"
)

func (f *fixture) importFor(t *testing.T, dept string, cat cases.Category, period string, b []byte) cases.Batch {
	t.Helper()
	r, err := sheet.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batch, err := intake.Import(context.Background(), f.db, intake.Request{Department: dept, Category: cat, Period: period,
		SHA256: sum(b), Today: cases.NewDate(2026, 11, 3)}, r)
	if err != nil {
		t.Fatalf("import %s %s %s: %v", dept, cat, period, err)
	}
	return batch
}

// A push is one department, category and period: the same bytes for another period or by
// another department are a new push, never the earlier batch; for the same push they are.
func TestSameBytesAreAnotherPushForAnotherPeriodOrDepartment(t *testing.T) {
	t.Parallel()
	f := setup(t)
	medical := csvOf("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用", "甲,"+f.gen.IDNumber(1970)+",城关镇,30000,0,0")
	oct := f.importFor(t, "医保局", cases.CatMedical, "2026-10", medical)
	sep := f.importFor(t, "医保局", cases.CatMedical, "2026-09", medical)
	again := f.importFor(t, "医保局", cases.CatMedical, "2026-09", medical)
	if oct.DuplicateOf != nil || sep.DuplicateOf != nil || oct.ID == sep.ID || sep.Period != "2026-09" || sep.Warnings != 1 {
		t.Fatalf("another period must be a new push: October %+v, September %+v", oct, sep)
	}
	if again.DuplicateOf == nil || *again.DuplicateOf != sep.ID {
		t.Fatalf("the same push again: duplicate_of %v, want %s", again.DuplicateOf, sep.ID)
	}
	assurance := csvOf("姓名,身份证号,乡镇,问题类型,问题描述,责任部门", "乙,"+f.gen.IDNumber(1970)+",城关镇,住房安全,房屋裂缝,住建局")
	zj := f.importFor(t, "住建局", cases.CatAssurance, "2026-10", assurance)
	sl := f.importFor(t, "水利局", cases.CatAssurance, "2026-10", assurance)
	if zj.DuplicateOf != nil || sl.DuplicateOf != nil || zj.ID == sl.ID || sl.Department != "水利局" || sl.Warnings != 1 {
		t.Fatalf("another department must be a new push: 住建局 %+v, 水利局 %+v", zj, sl)
	}
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM batches`); err != nil || n != 4 {
		t.Fatalf("%d batches stored (%v), want 4", n, err)
	}
}

// dispatchable lists "name@batch" of the warnings a dispatch would read.
func (f *fixture) dispatchable(t *testing.T) []string {
	t.Helper()
	var rows []struct {
		Name  string `db:"name"`
		Batch string `db:"batch_id"`
	}
	if err := f.db.Select(&rows, `SELECT w.name, w.batch_id FROM warnings w
		WHERE w.case_id IS NULL AND w.rule <> '' AND NOT EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id)`); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = pgtest.Open(t, f.db, r.Name) + "@" + r.Batch // names are sealed (docs/encryption.md)
	}
	sort.Strings(out)
	return out
}

// A later push of the same department, category and period before dispatch merges person by
// person: the later row wins (also when it is quiet), and dispatch sees only surviving rows.
// After dispatch a push for the same period is a new batch for the next round.
func TestLaterPushMergesPersonByPerson(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	a, b, c, d := f.gen.IDNumber(1970), f.gen.IDNumber(1971), f.gen.IDNumber(1972), f.gen.IDNumber(1973)
	const header = "姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用"
	first := f.importFor(t, "医保局", cases.CatMedical, "2026-10", csvOf(header,
		"甲,"+a+",城关镇,30000,0,0", "乙,"+b+",城关镇,30000,0,0", "丙,"+c+",城关镇,30000,0,0"))
	// a September push of the same people is another period: untouched
	sep := f.importFor(t, "医保局", cases.CatMedical, "2026-09", csvOf(header, "甲九,"+a+",城关镇,30000,0,0"))
	second := f.importFor(t, "医保局", cases.CatMedical, "2026-10", csvOf(header,
		"甲二,"+a+",城关镇,40000,0,0", "乙二,"+b+",城关镇,100,0,0", "丁二,"+d+",城关镇,30000,0,0", "戊二,"+c[:17]+"0,城关镇,30000,0,0"))
	if first.Replaced != 0 || second.Replaced != 2 {
		t.Fatalf("replaced: first %d, second %d; want 0, 2 (甲 and 乙)", first.Replaced, second.Replaced)
	}
	want := []string{"丁二@" + second.ID, "丙@" + first.ID, "甲二@" + second.ID, "甲九@" + sep.ID}
	sort.Strings(want)
	if got := f.dispatchable(t); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("dispatch would read %v, want %v", got, want)
	}
	stored, err := f.db.BatchByID(ctx, second.ID)
	if err != nil || stored.Replaced != 2 {
		t.Fatalf("stored batch replaced %v (%v), want 2", stored, err)
	}
	res, err := f.db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.NewDate(2026, 11, 10)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := f.db.Select(&names, `SELECT w.name FROM warnings w WHERE w.case_id IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = pgtest.Open(t, f.db, n)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "丁二 丙 甲九 甲二" {
		t.Fatalf("dispatched %v (%+v), want the surviving rows 丁二 丙 甲九 甲二", names, res)
	}
	third := f.importFor(t, "医保局", cases.CatMedical, "2026-10", csvOf(header, "甲三,"+a+",城关镇,50000,0,0"))
	if third.DuplicateOf != nil || third.Replaced != 0 || third.Warnings != 1 {
		t.Fatalf("a push after dispatch: %+v, want a new batch replacing nothing", third)
	}
	if got := f.dispatchable(t); strings.Join(got, " ") != "甲三@"+third.ID {
		t.Fatalf("after dispatch the next round would read %v, want only 甲三", got)
	}
}

// A later push reads an earlier push's rows only for the people whose prints they share
// (migration 00910): it must still find every one of them, an ID number ending in X and a
// person it names on a quiet row included, and read whole an earlier push without prints.
// Once dispatched, a push keeps no prints.
func TestLaterPushFindsEarlierPeopleByTheirPrints(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	x := f.gen.IDNumber(1970)
	for !strings.HasSuffix(x, "X") {
		x = f.gen.IDNumber(1970)
	}
	b, c, d := f.gen.IDNumber(1971), f.gen.IDNumber(1972), f.gen.IDNumber(1973)
	const header = "姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用"
	first := f.importFor(t, "医保局", cases.CatMedical, "2026-10", csvOf(header,
		"甲,"+x+",城关镇,30000,0,0", "乙,"+b+",城关镇,30000,0,0", "丙,"+c+",城关镇,30000,0,0"))
	var prints int
	if err := f.db.Get(&prints, `SELECT length(prints) FROM batch_prints WHERE batch_id = $1`, first.ID); err != nil || prints != 3*8 {
		t.Fatalf("first push keeps %d bytes of prints (%v), want 24", prints, err)
	}
	second := f.importFor(t, "医保局", cases.CatMedical, "2026-10", csvOf(header,
		"甲二,"+x+",城关镇,100,0,0", "丙二,"+c+",城关镇,40000,0,0", "丁二,"+d+",城关镇,30000,0,0"))
	if second.Replaced != 2 {
		t.Fatalf("replaced %d, want 2 (甲 on a quiet row, 丙)", second.Replaced)
	}
	// An earlier push without prints, as one stored before them: read whole.
	sep := f.importFor(t, "医保局", cases.CatMedical, "2026-09", csvOf(header, "甲九,"+x+",城关镇,30000,0,0", "乙九,"+b+",城关镇,30000,0,0"))
	if _, err := f.db.Exec(`DELETE FROM batch_prints WHERE batch_id = $1`, sep.ID); err != nil {
		t.Fatal(err)
	}
	sep2 := f.importFor(t, "医保局", cases.CatMedical, "2026-09", csvOf(header, "乙十,"+b+",城关镇,100,0,0"))
	if sep2.Replaced != 1 {
		t.Fatalf("replaced %d of a push without prints, want 1 (乙)", sep2.Replaced)
	}
	want := []string{"丙二@" + second.ID, "丁二@" + second.ID, "乙@" + first.ID, "甲九@" + sep.ID}
	sort.Strings(want)
	if got := f.dispatchable(t); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("dispatch would read %v, want %v", got, want)
	}
	if _, err := f.db.Dispatch(ctx, cases.DispatchOptions{Month: "2026-11", Date: cases.NewDate(2026, 11, 10)}); err != nil {
		t.Fatal(err)
	}
	var kept int
	if err := f.db.Get(&kept, `SELECT count(*) FROM batch_prints`); err != nil || kept != 0 {
		t.Fatalf("%d pushes keep prints after the dispatch (%v), want 0", kept, err)
	}
}

// Assurance rows are one per person and 问题类型: a later push replaces only the same problem.
func TestLaterPushMergesAssuranceByProblem(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.gen.IDNumber(1970)
	const header = "姓名,身份证号,乡镇,问题类型,问题描述,责任部门"
	f.importFor(t, "住建局", cases.CatAssurance, "2026-10", csvOf(header,
		"甲,"+a+",城关镇,住房安全,房屋裂缝,住建局", "甲,"+a+",城关镇,饮水安全,无自来水,住建局"))
	second := f.importFor(t, "住建局", cases.CatAssurance, "2026-10", csvOf(header, "甲二,"+a+",城关镇,住房安全,屋顶漏雨,住建局"))
	if second.Replaced != 1 {
		t.Fatalf("replaced %d, want 1", second.Replaced)
	}
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM warnings w WHERE NOT EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id)`); err != nil || n != 2 {
		t.Fatalf("%d surviving rows (%v), want 2 (the new 住房安全 and the earlier 饮水安全)", n, err)
	}
}

func TestPeriodCheckedStrictly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	file := csvOf("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用", "甲,"+f.gen.IDNumber(1970)+",城关镇,30000,0,0")
	for _, period := range []string{"2026-11x", "2099-01", "2026-13", "2026-12", "26-10"} {
		r, _ := sheet.New(bytes.NewReader(file))
		_, err := intake.Import(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
			Period: period, SHA256: sum(file), Today: cases.NewDate(2026, 11, 3)}, r)
		r.Close()
		if cases.ErrorCode(err) != cases.EInvalid || !strings.Contains(cases.ErrorMessage(err), period) {
			t.Errorf("period %q: %v, want refused naming it", period, err)
		}
	}
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM batches`); err != nil || n != 0 {
		t.Fatalf("%d batches stored for refused periods (%v)", n, err)
	}
}

// A department's stored mapping names its own header texts and value words; the import
// reads its files by them, and clearing it brings back the built-in names alone.
func TestDepartmentMappingReadsOwnWords(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	file := csvOf("人员姓名X,证件号X,乡镇,保障类别X,认定日期", "甲,"+f.gen.IDNumber(1970)+",城关镇,农村低保X,2026-10-08")
	if _, err := f.tryImport("民政局", cases.CatAssistance, file); cases.ErrorCode(err) != cases.EInvalid {
		t.Fatalf("without a mapping the header must be refused: %v", err)
	}
	if err := f.db.SetDepartmentMapping(ctx, cases.ColumnMapping{Department: "民政局",
		Columns: map[string]string{"人员姓名X": "姓名", "证件号X": "身份证号"}}); err != nil {
		t.Fatal(err)
	}
	// a second answer adds to the first
	if err := f.db.SetDepartmentMapping(ctx, cases.ColumnMapping{Department: "民政局",
		Columns: map[string]string{" 保障类别X ": "救助类别"}, Values: map[string]map[string]string{"救助类别": {"农村低保X": "低保"}}}); err != nil {
		t.Fatal(err)
	}
	m, err := f.db.DepartmentMapping(ctx, "民政局")
	if err != nil || len(m.Columns) != 3 || m.Values["救助类别"]["农村低保X"] != "低保" {
		t.Fatalf("stored mapping %+v (%v)", m, err)
	}
	b := f.importBytes(t, "民政局", cases.CatAssistance, file)
	if b.Accepted != 1 || b.Warnings != 1 || b.Rejected != 0 {
		t.Fatalf("with the mapping: %+v", b)
	}
	if err := f.db.ClearDepartmentMapping(ctx, "民政局"); err != nil {
		t.Fatal(err)
	}
	if m, err := f.db.DepartmentMapping(ctx, "民政局"); err != nil || !m.Empty() {
		t.Fatalf("after clearing: %+v (%v)", m, err)
	}
	if _, err := f.db.DepartmentMapping(ctx, "不存在局"); cases.ErrorCode(err) != cases.ENotFound {
		t.Fatalf("unknown department: %v", err)
	}
}

// Two pushes of the same department, category and period at once: whichever commits last
// replaces the other's rows, so each person keeps exactly one row for dispatch.
func TestConcurrentPushesOfOnePeriodLeaveOneRowEach(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const header = "姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用"
	for round := 0; round < 3; round++ {
		var people []string
		for i := 0; i < 5; i++ {
			people = append(people, f.gen.IDNumber(1960+i))
		}
		files := make([][]byte, 2)
		for k := range files {
			var rows []string
			for i, id := range people {
				rows = append(rows, fmt.Sprintf("人%d%d,%s,城关镇,%d,0,0", k, i, id, 30000+k))
			}
			files[k] = csvOf(header, rows...)
		}
		period := cases.NewDate(2026, time.Month(10-round), 1).MonthKey()
		errs := make(chan error, 2)
		replaced := make(chan int, 2)
		for _, file := range files {
			go func(file []byte) {
				r, err := sheet.New(bytes.NewReader(file))
				if err != nil {
					errs <- err
					return
				}
				defer r.Close()
				b, err := intake.Import(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
					Period: period, SHA256: sum(file), Today: cases.NewDate(2026, 11, 3)}, r)
				replaced <- b.Replaced
				errs <- err
			}(file)
		}
		for i := 0; i < 2; i++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if a, b := <-replaced, <-replaced; a+b != 5 {
			t.Errorf("round %d: replaced %d and %d, want 5 in all (one push replaces the other's)", round, a, b)
		}
		var n int
		if err := f.db.Get(&n, `SELECT count(*) FROM warnings w WHERE w.period = $1
			AND NOT EXISTS (SELECT 1 FROM warnings_superseded s WHERE s.warning_id = w.id)`, period); err != nil || n != 5 {
			t.Fatalf("round %d: %d surviving rows (%v), want one per person (5)", round, n, err)
		}
	}
}
