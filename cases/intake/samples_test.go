package intake_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
)

// The files of testdata/department-files are made the way departments' systems and clerks
// make them (their README lists them). Each is imported as the department would push it
// and must come out as docs/intake.md says: counts, the sheet read, the file's own row
// numbers in errors.
func TestDepartmentFilesAsTheyCome(t *testing.T) {
	t.Parallel()
	f := setup(t)
	type rowErr struct {
		row    int
		column string
		says   string
	}
	medical := func(rows, accepted, skipped int, sheet string, errs ...rowErr) func() (int, int, int, string, []rowErr) {
		return func() (int, int, int, string, []rowErr) { return rows, accepted, skipped, sheet, errs }
	}
	numberID := func(row int) rowErr { return rowErr{row, "身份证号", "身份证号被 Excel 存成了数字"} }
	noResult := func(row int) rowErr {
		return rowErr{row, "住院自付累计", "住院自付累计（M" + itoa(row) + "）：公式没有计算结果，请在 Excel 中打开并保存后重发"}
	}
	cases_ := []struct {
		file   string
		want   func() (rows, accepted, skipped int, sheet string, errs []rowErr)
		passed []string
	}{
		{"a0", medical(7, 7, 0, "Sheet1"), nil},
		{"a1", medical(7, 7, 2, "Sheet1"), nil}, // title above; 合计 and 制表人 below
		{"a2", medical(7, 7, 2, "Sheet1"), nil},
		{"a3", medical(7, 7, 2, "Sheet1"), nil},
		{"a4", medical(7, 7, 1, "Sheet"), nil}, // 合计 in 姓名
		{"b1", medical(7, 7, 0, "Sheet1"), nil},
		{"b2", medical(7, 7, 0, "Sheet1"), nil},
		{"b3", medical(7, 7, 0, "Sheet1"), nil},
		{"b4", medical(7, 7, 0, "Sheet"), nil},
		{"b5", medical(7, 7, 0, "Sheet"), nil},
		{"c1", medical(7, 7, 0, "Sheet1"), nil},
		{"c2", medical(7, 7, 0, "Sheet1"), nil},
		{"d1", medical(7, 7, 0, "住院明细"), []string{"说明"}},
		{"e1", medical(7, 1, 0, "Sheet1", numberID(3), numberID(4), numberID(5), numberID(6), numberID(7), numberID(8)), nil},
		{"e2", medical(7, 1, 0, "", numberID(3), numberID(4), numberID(5), numberID(6), numberID(7), numberID(8)), nil},
		{"e3", medical(7, 7, 0, ""), nil},
		{"e4", medical(7, 7, 0, "Sheet"), nil},
		{"e5", medical(7, 7, 0, "Sheet"), nil},
		{"f1", medical(7, 7, 0, ""), nil},
		{"f2", medical(7, 7, 0, ""), nil},
		// Blank lines before it: the file's own row 9, as a spreadsheet shows it.
		{"f3", medical(7, 6, 0, "", rowErr{9, "身份证号", "身份证号校验位不对"}), nil},
		{"g1", medical(5, 5, 0, "新增低保特困"), nil},
		{"g2", medical(5, 5, 0, "新增低保特困"), nil},
		{"g3", medical(5, 5, 0, "新增低保特困"), nil},
		{"g4", medical(4, 2, 0, "Sheet",
			rowErr{3, "认定日期", "日期“2026年11月”没有写到日"}, rowErr{4, "认定日期", "日期“2026.11”没有写到日"}), nil},
		{"h1", medical(7, 7, 0, "Sheet"), nil},
		{"h2", medical(7, 0, 0, "Sheet", noResult(2), noResult(3), noResult(4), noResult(5), noResult(6), noResult(7), noResult(8)), nil},
		{"t1", medical(7, 7, 0, ""), nil},
	}
	seen := 0
	for _, c := range cases_ {
		t.Run(c.file, func(t *testing.T) {
			matches, _ := filepath.Glob("testdata/department-files/" + c.file + "_*")
			if len(matches) != 1 {
				t.Fatalf("no single sample file %s: %v", c.file, matches)
			}
			seen++
			dept, cat := "医保局", cases.CatMedical
			if c.file[0] == 'g' {
				dept, cat = "民政局", cases.CatAssistance
			}
			b, err := intake.ImportFile(context.Background(), f.db, intake.Request{Department: dept, Category: cat,
				Period: "2026-11", Today: cases.NewDate(2026, 12, 7)}, matches[0])
			if err != nil {
				t.Fatalf("import %s: %v", filepath.Base(matches[0]), err)
			}
			rows, accepted, skipped, sheetName, errs := c.want()
			if b.Rows != rows || b.Accepted != accepted || b.Rejected != rows-accepted || b.Skipped != skipped || b.Sheet != sheetName {
				t.Errorf("rows %d accepted %d rejected %d skipped %d sheet %q; want %d %d %d %d %q",
					b.Rows, b.Accepted, b.Rejected, b.Skipped, b.Sheet, rows, accepted, rows-accepted, skipped, sheetName)
			}
			if !reflect.DeepEqual(b.PassedOver, c.passed) {
				t.Errorf("sheets passed over %q, want %q", b.PassedOver, c.passed)
			}
			if len(b.Errors) != len(errs) {
				t.Fatalf("errors %+v; want %d", b.Errors, len(errs))
			}
			for i, e := range errs {
				got := b.Errors[i]
				if got.Row != e.row || got.Column != e.column || !strings.Contains(got.Message, e.says) {
					t.Errorf("error %d: %+v; want row %d column %s saying %q", i, got, e.row, e.column, e.says)
				}
			}
		})
	}
	if files, _ := filepath.Glob("testdata/department-files/*_*"); seen != len(files) {
		t.Errorf("%d sample files, %d tested", len(files), seen)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// oleWithout is an OLE2 file without a workbook, as Word 97–2003 saves a document.
func oleWithout(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	doc := bytes.Repeat([]byte("文档"), 1000)
	if err := sheettest.WriteCFB(&buf, []sheettest.Stream{{Name: "WordDocument", Size: int64(len(doc)), R: bytes.NewReader(doc)}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Values read from the samples are the values in the cells: a formula's saved result, 民政's
// words as the listed values, dates from date cells.
func TestDepartmentFileValues(t *testing.T) {
	t.Parallel()
	f := setup(t)
	imp := func(file, dept string, cat cases.Category) cases.Batch {
		t.Helper()
		m, _ := filepath.Glob("testdata/department-files/" + file + "_*")
		b, err := intake.ImportFile(context.Background(), f.db, intake.Request{Department: dept, Category: cat,
			Period: "2026-11", Today: cases.NewDate(2026, 12, 7)}, m[0])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// h1: 住院自付累计 is =I2-J2-K2-L2 saved with its result 6200.5; 人员类别 脱贫人口.
	b := imp("h1", "医保局", cases.CatMedical)
	if got := f.warnings(t, b.ID)[2]; got != "medical.inpatient.registered@6200.50" {
		t.Errorf("h1 row 2: %q, want medical.inpatient.registered@6200.50", got)
	}
	// The same file again answers as the first time, from the store.
	again := imp("h1", "医保局", cases.CatMedical)
	if again.DuplicateOf == nil || again.Sheet != "Sheet" || again.Rows != 7 {
		t.Errorf("h1 again: duplicate_of %v sheet %q rows %d", again.DuplicateOf, again.Sheet, again.Rows)
	}
	a1 := imp("a1", "医保局", cases.CatMedical)
	if again := imp("a1", "医保局", cases.CatMedical); again.DuplicateOf == nil || again.Skipped != a1.Skipped || a1.Skipped != 2 {
		t.Errorf("a1 again: skipped %d, first %d (want 2)", again.Skipped, a1.Skipped)
	}
	// g1: 农村低保 / 农村特困供养 / 特困人员 stored as 低保 / 特困; 审批日期 as 认定日期.
	b = imp("g1", "民政局", cases.CatAssistance)
	var details []string
	if err := f.db.Select(&details, `SELECT detail::text FROM warnings WHERE batch_id = $1 ORDER BY row_no`, b.ID); err != nil {
		t.Fatal(err)
	}
	want := []string{`"救助类别":"低保"`, `"救助类别":"低保"`, `"救助类别":"特困"`, `"救助类别":"低保"`, `"救助类别":"特困"`}
	if len(details) != len(want) {
		t.Fatalf("g1 stored %d warnings, want %d", len(details), len(want))
	}
	for i, d := range details {
		d = pgtest.Open(t, f.db, d)
		if !strings.Contains(d, want[i]) || !strings.Contains(d, `"认定日期":"2026-11-`) {
			t.Errorf("g1 warning %d detail %s; want %s and 认定日期 as a date", i, d, want[i])
		}
	}
}

// A file that is not a table is refused with a message saying to save it as .xlsx, and so
// is a table without the category's header, naming the best row and what it lacks.
func TestFilesThatAreNotTablesAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*131 + i/7)
	}
	for name, p := range map[string]string{
		"wps.et":      write("名单.et", []byte("序号,姓名\n")),
		"pdf":         write("名单.dat", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\x00\x01")),
		"random":      write("名单.csv", random),
		"word in ole": write("名单.xls", oleWithout(t)),
	} {
		_, err := intake.ImportFile(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
			Period: "2026-11", Today: cases.NewDate(2026, 12, 7)}, p)
		var ce *cases.Error
		if !errors.As(err, &ce) || ce.Code != cases.EInvalid || !strings.Contains(ce.Msg, "另存为 .xlsx") {
			t.Errorf("%s: %v; want a refusal saying 另存为 .xlsx", name, err)
		}
	}
	p := write("缺列.csv", []byte("XX县医疗保障局明细表\n\n序号,姓名,身份证号,乡镇,门诊统筹费用\n1,王,990,城关镇,0\n"))
	_, err := intake.ImportFile(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
		Period: "2026-11", Today: cases.NewDate(2026, 12, 7)}, p)
	if err == nil || !strings.Contains(err.Error(), "第 3 行") || !strings.Contains(err.Error(), "“住院自付累计”、“门特费用”") {
		t.Errorf("no header: %v; want the best row (3) and the columns it lacks", err)
	}
}
