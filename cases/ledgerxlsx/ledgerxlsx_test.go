package ledgerxlsx_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
)

func TestLedgerReadsBackCellByCell(t *testing.T) {
	db, nos := monthtest.Setup(t)
	a, err := db.Assess(context.Background(), monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), ledgerxlsx.Filename(monthtest.Month))
	if err := ledgerxlsx.WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, ",") != "台账,汇总" {
		t.Fatalf("sheets %v", got)
	}
	cell := func(sheet string, col, row int) string {
		name, _ := excelize.CoordinatesToCellName(col, row)
		v, err := f.GetCellValue(sheet, name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := []string{"序号", "交办编号", "乡镇", "村", "户主", "风险类别", "预警来源部门", "交办日期", "办理时限", "核查结论", "未纳入理由", "录入日期", "办结日期", "是否按时", "抽查结果"}
	for i, h := range want {
		if got := cell("台账", i+1, 1); got != h {
			t.Errorf("台账 column %d is %q, want %q", i+1, got, h)
		}
	}
	if cell("台账", len(want)+1, 1) != "" {
		t.Error("台账 has an extra column")
	}

	// The month's rows, as the test expects them from the plan.
	rows, _ := f.GetRows("台账")
	var monthPlan []monthtest.Case
	for _, p := range monthtest.Plan {
		if p.Round == monthtest.Month {
			monthPlan = append(monthPlan, p)
		}
	}
	if len(rows) != len(monthPlan)+1 {
		t.Fatalf("台账 has %d data rows, want %d", len(rows)-1, len(monthPlan))
	}
	for i, p := range monthPlan {
		r := i + 2
		labels := make([]string, len(p.Categories))
		for j, c := range p.Categories {
			labels[j] = c.Label()
		}
		checks := map[int]string{1: strconv.Itoa(i + 1), 2: nos[i], 3: p.Township, 4: p.Village, 5: p.Head,
			8: monthtest.Dispatch.String(), 6: strings.Join(sortedLabels(p.Categories), "、")}
		for col, w := range checks {
			if got := cell("台账", col, r); got != w {
				t.Errorf("row %d column %s: %q, want %q", r, want[col-1], got, w)
			}
		}
		for col := 1; col <= len(want); col++ {
			if v := cell("台账", col, r); strings.Contains(v, p.HeadID) || strings.Contains(v, p.HeadID[:10]) {
				t.Errorf("row %d column %s carries the ID number", r, want[col-1])
			}
		}
	}
	// Row by row what the plan's outcome should be (see monthtest.Plan).
	expect := []struct{ result, reason, entered, closed, onTime, spot, due string }{
		{"纳入", "", "2026-11-20", "2026-11-20", "是", "合格", "2026-12-08"},
		{"抽查退回重办", "", "", "", "未到期", "不合格（已退回重办）", "2026-12-16"},
		{"纳入", "", "2026-11-25", "2026-11-25", "否", "", "2026-11-20"},
		{"已交办待核查", "", "", "", "否", "", "2026-11-20"},
		{"已在监测", "", "", "", "未到期", "", "2026-12-20"},
		{"不纳入", "家庭年人均收入高于监测标准", "", "2026-12-05", "否", "不合格（已退回重办）", "2026-12-04"},
		{"纳入", "", "2026-12-09", "2026-12-09", "否", "", "2026-12-08"},
		{"已交办待核查", "", "", "", "未到期", "", "2026-12-20"},
		{"不纳入", "家庭年人均收入高于监测标准", "", "2026-11-11", "是", "已抽取待检查", "2026-12-08"},
		{"已在监测", "", "2026-11-14", "2026-11-14", "是", "", "2026-12-08"},
	}
	for i, e := range expect {
		r := i + 2
		got := []string{cell("台账", 10, r), cell("台账", 11, r), cell("台账", 12, r), cell("台账", 13, r), cell("台账", 14, r), cell("台账", 15, r), cell("台账", 9, r)}
		w := []string{e.result, e.reason, e.entered, e.closed, e.onTime, e.spot, e.due}
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d:\n got %q\nwant %q", r, got, w)
		}
	}
	if got := cell("台账", 7, 2); got != "医保局" {
		t.Errorf("source department %q", got)
	}
	// Dates are real date cells (numbers with a date format), not text.
	for _, ref := range []string{"H2", "I2", "L2", "M2"} {
		if typ, _ := f.GetCellType("台账", ref); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("%s is stored as text", ref)
		}
		raw, _ := f.GetCellValue("台账", ref, excelize.Options{RawCellValue: true})
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			t.Errorf("%s raw value %q is not a date serial", ref, raw)
		}
		style, _ := f.GetCellStyle("台账", ref)
		st, _ := f.GetStyle(style)
		if st.CustomNumFmt == nil || *st.CustomNumFmt != "yyyy-mm-dd" {
			t.Errorf("%s number format %+v", ref, st.CustomNumFmt)
		}
	}
	panes, _ := f.GetPanes("台账")
	if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("header not frozen: %+v", panes)
	}
	if w, _ := f.GetColWidth("台账", "K"); w < 30 {
		t.Errorf("未纳入理由 column width %v", w)
	}
	hs, _ := f.GetCellStyle("台账", "A1")
	if st, _ := f.GetStyle(hs); st.Font == nil || !st.Font.Bold {
		t.Error("header is not bold")
	}

	// 汇总: one row per township, the assessment's figures.
	sum := []string{"乡镇", "交办数", "办结数", "按时办结数", "逾期数", "按时办结率", "抽查数", "抽查不合格数"}
	for i, h := range sum {
		if got := cell("汇总", i+1, 1); got != h {
			t.Errorf("汇总 column %d %q, want %q", i+1, got, h)
		}
	}
	srows, _ := f.GetRows("汇总")
	if len(srows) != 4 {
		t.Fatalf("汇总 rows %d, want 3 townships + header", len(srows))
	}
	wantSum := [][]string{
		{"城关镇", "5", "2", "1", "2", "0.3333", "2", "1"},
		{"河口乡", "5", "4", "2", "2", "0.5", "1", "1"},
		{"青山镇", "0", "0", "0", "0", "0", "0", "0"},
	}
	for i, w := range wantSum {
		for c := range w {
			name, _ := excelize.CoordinatesToCellName(c+1, i+2)
			got, _ := f.GetCellValue("汇总", name, excelize.Options{RawCellValue: true})
			if got != w[c] {
				t.Errorf("汇总 %s = %q, want %q", name, got, w[c])
			}
		}
	}
	if shown := cell("汇总", 6, 2); shown != "33.3%" {
		t.Errorf("on-time rate shown as %q", shown)
	}

	convertWithLibreOffice(t, path)
}

func sortedLabels(cs []cases.Category) []string {
	var out []string
	for _, k := range cases.Categories {
		for _, c := range cs {
			if c == k {
				out = append(out, k.Label())
			}
		}
	}
	return out
}

// convertWithLibreOffice opens the ledger in LibreOffice Calc and prints it to PDF, the
// check that the file is what office software accepts. LibreOffice is big: the test skips
// without it unless FANGPIN_REQUIRE_LIBREOFFICE=1 (make check-ledger-pdf installs it).
func convertWithLibreOffice(t *testing.T, path string) {
	bin, err := exec.LookPath("libreoffice")
	if err != nil {
		bin, err = exec.LookPath("soffice")
	}
	if err != nil {
		if os.Getenv("FANGPIN_REQUIRE_LIBREOFFICE") == "1" {
			t.Fatal("FANGPIN_REQUIRE_LIBREOFFICE=1 but libreoffice is not installed")
		}
		t.Log("libreoffice not installed: PDF conversion check skipped (make check-ledger-pdf runs it)")
		return
	}
	out := t.TempDir()
	profile := "file://" + filepath.Join(t.TempDir(), "lo-profile")
	cmd := exec.Command(bin, "-env:UserInstallation="+profile, "--headless", "--convert-to", "pdf", "--outdir", out, path)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("libreoffice: %v\n%s", err, b)
	}
	pdf := filepath.Join(out, strings.TrimSuffix(filepath.Base(path), ".xlsx")+".pdf")
	st, err := os.Stat(pdf)
	if err != nil || st.Size() < 1000 {
		t.Fatalf("no PDF from libreoffice: %v", err)
	}
	b, _ := os.ReadFile(pdf)
	if !strings.HasPrefix(string(b), "%PDF") {
		t.Fatal("libreoffice output is not a PDF")
	}
	if keep := os.Getenv("FANGPIN_LEDGER_CHECK_DIR"); keep != "" {
		x, _ := os.ReadFile(path)
		if err := os.WriteFile(filepath.Join(keep, filepath.Base(path)), x, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keep, filepath.Base(pdf)), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("kept %s and its PDF in %s", filepath.Base(path), keep)
	}
	t.Logf("libreoffice converted the ledger to a %d-byte PDF", len(b))
}
