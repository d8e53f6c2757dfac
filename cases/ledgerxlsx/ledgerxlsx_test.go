package ledgerxlsx_test

import (
	"context"
	"fmt"
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

// col is the 1-based column of a 台账 header.
func col(name string) int {
	for i, c := range ledgerxlsx.LedgerColumns {
		if c == name {
			return i + 1
		}
	}
	panic("no column " + name)
}

// firstRow is the first data row (after the title row and the header).
const firstRow = ledgerxlsx.TitleRows + 2

func TestLedgerReadsBackCellByCell(t *testing.T) {
	db, nos := monthtest.Setup(t)
	a, err := db.MonthLedger(context.Background(), monthtest.Month)
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
	if got := f.GetSheetList(); strings.Join(got, ",") != "台账,汇总,部门,往月未办结" {
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
	hr := ledgerxlsx.TitleRows + 1
	for i, h := range ledgerxlsx.LedgerColumns {
		if got := cell("台账", i+1, hr); got != h {
			t.Errorf("台账 column %d is %q, want %q", i+1, got, h)
		}
	}

	// The month's rows, as the test expects them from the plan.
	rows, _ := f.GetRows("台账")
	var monthPlan []monthtest.Case
	for _, p := range monthtest.Plan {
		if p.Round == monthtest.Month {
			monthPlan = append(monthPlan, p)
		}
	}
	// the cases, then 合计, a blank row and the signature block
	if len(rows) != len(monthPlan)+firstRow-1+3 || rows[len(monthPlan)+firstRow-1][0] != "合计" {
		t.Fatalf("台账 has %d rows after the header, want %d cases, 合计, a blank row and the signatures", len(rows)-firstRow+1, len(monthPlan))
	}
	for i, p := range monthPlan {
		r := i + firstRow
		checks := map[string]string{"序号": strconv.Itoa(i + 1), "交办编号": nos[i], "乡镇": p.Township, "村": p.Village, "户主": p.Head,
			"交办日期": monthtest.Dispatch.String(), "风险类别": strings.Join(sortedLabels(p.Categories), "、")}
		for name, w := range checks {
			if got := cell("台账", col(name), r); got != w {
				t.Errorf("row %d column %s: %q, want %q", r, name, got, w)
			}
		}
		for c := 1; c <= len(ledgerxlsx.LedgerColumns); c++ {
			if v := cell("台账", c, r); strings.Contains(v, p.HeadID) || strings.Contains(v, p.HeadID[:10]) {
				t.Errorf("row %d column %s carries the ID number", r, ledgerxlsx.LedgerColumns[c-1])
			}
		}
	}
	// Row by row what the plan's outcome should be (see monthtest.Plan).
	expect := []struct{ result, reason, entered, closed, onTime, spot, due string }{
		{"纳入", "", "2026-11-20", "2026-11-20", "是", "合格；孙七 2026-12-01 抽查", "2026-12-08"},
		{"抽查退回重办", "", "", "", "未到期", "不合格（已退回重办）；孙七 2026-12-02 抽查；原办理时限 2026-12-08", "2026-12-16"},
		{"纳入", "", "2026-11-25", "2026-11-25", "否", "", "2026-11-20"},
		{"已交办待核查", "", "", "", "否", "", "2026-11-20"},
		{"已在监测", "", "", "", "未到期", "", "2026-12-20"},
		{"不纳入", "家庭年人均收入高于监测标准", "", "2026-12-05", "否", "不合格（退回后已重办）；孙七 2026-11-20 抽查；原办理时限 2026-12-08", "2026-12-04"},
		{"纳入", "", "2026-12-09", "2026-12-09", "否", "", "2026-12-08"},
		{"已交办待核查", "", "", "", "未到期", "", "2026-12-20"},
		{"不纳入", "家庭年人均收入高于监测标准", "", "2026-11-11", "是", "已抽取待检查", "2026-12-08"},
		{"已在监测", "", "2026-11-14", "2026-11-14", "是", "", "2026-12-08"},
	}
	for i, e := range expect {
		r := i + firstRow
		var got []string
		for _, name := range []string{"核查结论", "未纳入理由", "录入日期", "办结日期", "是否按时", "抽查结果", "办理时限"} {
			got = append(got, cell("台账", col(name), r))
		}
		w := []string{e.result, e.reason, e.entered, e.closed, e.onTime, e.spot, e.due}
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("row %d:\n got %q\nwant %q", r, got, w)
		}
	}
	if got := cell("台账", col("预警来源部门"), firstRow); got != "医保局" {
		t.Errorf("source department %q", got)
	}
	// Dates are real date cells (numbers with a date format), not text.
	for _, name := range []string{"交办日期", "办理时限", "录入日期", "办结日期"} {
		ref, _ := excelize.CoordinatesToCellName(col(name), firstRow)
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
	if !panes.Freeze || panes.YSplit != hr || panes.TopLeftCell != fmt.Sprintf("A%d", firstRow) {
		t.Errorf("header not frozen: %+v", panes)
	}
	reasonCol, _ := excelize.ColumnNumberToName(col("未纳入理由"))
	if w, _ := f.GetColWidth("台账", reasonCol); w < 6.7 { // 12.5 mm: three characters a line at least
		t.Errorf("未纳入理由 column width %v", w)
	}
	hs, _ := f.GetCellStyle("台账", fmt.Sprintf("A%d", hr))
	if st, _ := f.GetStyle(hs); st.Font == nil || !st.Font.Bold {
		t.Error("header is not bold")
	}

	// 汇总: one row per township, the assessment's figures, then 合计.
	sum := []string{"乡镇", "交办数", "办结数", "按时办结数", "逾期数", "按时办结率", "抽查数", "抽查不合格数", "月底反馈率", "考核得分"}
	for i, h := range sum {
		if got := cell("汇总", i+1, hr); got != h {
			t.Errorf("汇总 column %d %q, want %q", i+1, got, h)
		}
	}
	wantSum := [][]string{
		{"城关镇", "5", "2", "1", "2", "0.3333", "2", "1"},
		{"河口乡", "5", "4", "2", "2", "0.5", "1", "1"},
		{"青山镇", "0", "0", "0", "0", "—", "0", "0", "—", "—"},
		{"合计", "10", "6", "3", "4", "0.4286", "3", "2"},
	}
	for i, w := range wantSum {
		for c := range w {
			name, _ := excelize.CoordinatesToCellName(c+1, i+firstRow)
			got, _ := f.GetCellValue("汇总", name, excelize.Options{RawCellValue: true})
			if got != w[c] {
				t.Errorf("汇总 %s = %q, want %q", name, got, w[c])
			}
		}
	}
	if shown := cell("汇总", 6, firstRow); shown != "33.3%" {
		t.Errorf("on-time rate shown as %q", shown)
	}
}

// TestLedgerOfTheHandMadeMonth reads back every cell of every sheet of monthtest.AssessPlan's
// ledger: the title row, docs/ledger.md's columns, (区域排查), the masked ID or 户编号, both due
// dates of a returned case, the supervisor's name, — where nothing was due, 合计, the
// office's late round and the 部门 sheet.
func TestLedgerOfTheHandMadeMonth(t *testing.T) {
	db, nos, _ := monthtest.SetupWith(t, monthtest.AssessPlan, monthtest.AssessDispatch)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `UPDATE cases SET household_no = '4211230010010012' WHERE case_no = $1`, nos[1]); err != nil {
		t.Fatal(err)
	}
	a, err := db.MonthLedger(ctx, monthtest.Month)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ledger.xlsx")
	if err := ledgerxlsx.WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const masked = "990101********1234"
	want := map[string][][]string{
		"台账": {
			{"测试县预警信息核查办理台账（2026年11月）　制表日期：2026-12-10"},
			{"序号", "交办编号", "案件类型", "预警来源", "乡镇", "村", "户主", "监测对象类型", "风险类别", "预警来源部门", "责任部门", "交办日期",
				"办理时限", "核查结论", "未纳入理由", "核查说明", "录入日期", "办结日期", "是否按时", "部门办理情况", "抽查结果", "户编号/身份证号（脱敏）"},
			{"1", nos[0], "新增", "部门筛查", "城关镇", "东街村", "王考一", "—", "因病（医疗费用）", "医保局", "—", "2026-11-12",
				"2026-11-30", "纳入", "", "符合监测条件", "2026-11-27", "2026-12-09", "是", "—", "合格；孙七 2026-12-09 抽查", masked},
			{"2", nos[1], "新增", "部门筛查", "城关镇", "东街村", "李考二", "—", "因病（医疗费用）", "医保局", "—", "2026-11-12",
				"2026-12-01", "不纳入", "家庭年人均收入高于监测标准", "", "", "2026-12-02", "否", "—", "", "4211230010010012"},
			{"3", nos[2], "新增", "部门筛查", "城关镇", "西街村", "张考三", "—", "因病（大病）", "卫健委", "—", "2026-11-12",
				"2026-12-20", "已交办待核查", "", "", "", "", "未到期", "—", "", masked},
			{"4", nos[3], "新增", "部门筛查", "城关镇", "西街村", "赵考四", "—", "新增特困/低保", "民政局", "—", "2026-11-12",
				"2026-12-20", "纳入", "", "符合监测条件", "", "", "未到期", "—", "", masked},
			{"5", nos[4], "新增", "部门筛查", "城关镇", "南关村", "钱考五", "—", "因病（医疗费用）", "医保局", "—", "2026-11-12",
				"2026-12-08", "不纳入", "家庭年人均收入高于监测标准", "", "", "2026-11-28", "是", "—", "", masked},
			{"6", nos[5], "新增", "部门筛查", "河口乡", "河东村", "孙考六", "—", "因病（医疗费用）、两不愁三保障", "医保局", "—", "2026-11-12",
				"2026-12-04", "纳入", "", "符合监测条件", "2026-12-03", "2026-12-03", "是", "—", "不合格（退回后已重办）；孙七 2026-11-20 抽查；原办理时限 2026-12-08", masked},
			{"7", nos[6], "新增", "部门筛查", "河口乡", "河东村", "周考七", "—", "新增特困/低保", "民政局", "—", "2026-11-12",
				"2026-12-08", "已交办待核查", "", "", "", "", "否", "—", "不合格（已督办）；孙七 2026-11-25 抽查", masked},
			{"8", nos[7], "新增", "部门筛查", "河口乡", "河西村", "（区域排查）", "—", "因灾", "应急管理局", "—", "2026-11-12",
				"2026-12-20", "已交办待核查", "", "", "", "", "未到期", "—", "", "—"},
			{"合计", "本月交办 8 户，已办结 4 户；按时办结 3 户，逾期 2 户"},
		},
		"汇总": {
			{"测试县预警信息核查办理台账（2026年11月）·汇总　制表日期：2026-12-10"},
			{"乡镇", "交办数", "办结数", "按时办结数", "逾期数", "按时办结率", "抽查数", "抽查不合格数", "月底反馈率", "考核得分"},
			{"城关镇", "5", "3", "2", "1", "66.7%", "1", "0", "60.0%", "75.3"},
			{"河口乡", "3", "1", "1", "1", "50.0%", "2", "2", "33.3%", "31.7"},
			{"青山镇", "0", "0", "0", "0", "—", "0", "0", "—", "—"},
			{"合计", "8", "4", "3", "2", "60.0%", "3", "2", "50.0%", "—"},
			nil,
			{"县扶贫办集中交办：2026-11-12（时限 2026-11-10，逾期；按时 0/1）"},
		},
		"部门": {
			{"测试县预警信息核查办理台账（2026年11月）·部门　制表日期：2026-12-10"},
			{"部门", "应推送数", "按时推送数", "到期任务数", "按时办理数", "考核得分"},
			{"医保局", "1", "1", "0", "0", "100.0"},
			{"卫健委", "1", "0", "0", "0", "0.0"},
			{"教体局", "0", "0", "0", "0", "—"},
			{"人社局", "1", "0", "0", "0", "0.0"},
			{"民政局", "1", "1", "0", "0", "100.0"},
			{"公安局", "1", "1", "0", "0", "100.0"},
			{"应急管理局", "0", "0", "0", "0", "—"},
		},
	}
	if got := f.GetSheetList(); strings.Join(got, ",") != "台账,汇总,部门,往月未办结" {
		t.Fatalf("sheets %v", got)
	}
	for sheet, rows := range want {
		got, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		// after the rows: a blank row and the signature block (one or two rows)
		if len(got) < len(rows)+2 || len(got) > len(rows)+3 || len(got[len(rows)]) != 0 {
			t.Errorf("%s has %d rows, want %d, a blank one and the signature block", sheet, len(got), len(rows))
		}
		for r := 0; r < len(rows) && r < len(got); r++ {
			for c := 0; c < len(rows[r]) || c < len(got[r]); c++ {
				var g, w string
				if c < len(got[r]) {
					g = got[r][c]
				}
				if c < len(rows[r]) {
					w = rows[r][c]
				}
				if g != w {
					name, _ := excelize.CoordinatesToCellName(c+1, r+1)
					t.Errorf("%s!%s = %q, want %q", sheet, name, g, w)
				}
			}
		}
	}
	// A 0 score is a number, a missing one the text —.
	// The title spans the printed columns (all but the 户编号), 合计's text the columns after 序号.
	merges := map[string]string{}
	if merged, _ := f.GetMergeCells("台账"); len(merged) > 0 {
		for _, m := range merged {
			merges[m.GetStartAxis()] = m.GetEndAxis()
		}
	}
	if merges["A1"] != "U1" || merges["B11"] != "U11" {
		t.Errorf("title and 合计 merges %v", merges)
	}
	if typ, _ := f.GetCellType("部门", "F4"); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
		t.Error("a score of 0 is written as text")
	}
	if v, _ := f.GetCellValue("部门", "F5"); v != "—" {
		t.Errorf("no score: %q", v)
	}
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
// check that the file is what office software accepts, and returns the PDF's path. It
// returns "" without LibreOffice (it is big), unless FANGPIN_REQUIRE_LIBREOFFICE=1 (make
// check-ledger-pdf installs it), which fails instead. With FANGPIN_LEDGER_CHECK_DIR set the
// XLSX and the PDF are kept there.
func convertWithLibreOffice(t *testing.T, path string) string {
	t.Helper()
	bin, err := exec.LookPath("libreoffice")
	if err != nil {
		bin, err = exec.LookPath("soffice")
	}
	if err != nil {
		if os.Getenv("FANGPIN_REQUIRE_LIBREOFFICE") == "1" {
			t.Fatal("FANGPIN_REQUIRE_LIBREOFFICE=1 but libreoffice is not installed")
		}
		t.Skip("libreoffice not installed: PDF conversion check skipped (make check-ledger-pdf runs it)")
	}
	out := t.TempDir()
	profile := "file://" + filepath.Join(t.TempDir(), "lo-profile")
	cmd := exec.Command(bin, "-env:UserInstallation="+profile, "--headless", "--convert-to", "pdf", "--outdir", out, path)
	cmd.Env = append(os.Environ(), "FONTCONFIG_FILE="+simSunStandIn(t))
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
	return pdf
}

// simSunStandIn writes a fontconfig file that prints the ledger's 宋体 (SimSun, missing on
// Linux) with WenQuanYi Micro Hei Mono, whose letters and digits are half a character wide
// as SimSun's are, the way Carlito stands in for Calibri: the PDF then shows the widths an
// office printing from Windows gets.
func simSunStandIn(t *testing.T) string {
	conf := filepath.Join(t.TempDir(), "fonts.conf")
	alias := ""
	for _, name := range []string{ledgerxlsx.Font, "SimSun"} {
		alias += `<alias binding="same"><family>` + name + `</family><prefer><family>WenQuanYi Micro Hei Mono</family></prefer></alias>`
	}
	x := `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>` +
		`<include ignore_missing="yes">/etc/fonts/fonts.conf</include>` + alias + `</fontconfig>`
	if err := os.WriteFile(conf, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// TestLedgerShowsDepartmentTasks: 责任部门 lists the case's department and every department
// with a task; 部门办理情况 says what each did, or its due date while open.
func TestLedgerShowsDepartmentTasks(t *testing.T) {
	done := cases.MustDate("2026-12-09")
	a := cases.Assessment{Month: "2026-11", County: "测试县", AsOf: cases.MustDate("2026-12-10").At(9, 0),
		Cases: []cases.CaseFact{{No: "YJ202611-0001", Kind: cases.KindNew, Source: cases.SourceScreening, Township: "城关镇",
			HeadName: "王考一", HouseholdNo: "4211230010010012", Department: "住建局", Status: cases.StatusDispatched,
			DispatchedAt: cases.MustDate("2026-11-10").At(10, 0), DueOn: cases.MustDate("2026-12-08"),
			Tasks: []cases.Task{
				{Department: "住建局", DueOn: cases.MustDate("2026-12-08"), DoneOn: &done, Measure: "已安排危房改造"},
				{Department: "教体局", DueOn: cases.MustDate("2026-12-08")},
			}}}}
	f, err := ledgerxlsx.Build(cases.MonthLedger{Assessment: a})
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) string {
		ref, _ := excelize.CoordinatesToCellName(col(name), firstRow)
		v, _ := f.GetCellValue(ledgerxlsx.LedgerSheet, ref)
		return v
	}
	if got := get("责任部门"); got != "住建局、教体局" {
		t.Errorf("责任部门 %q", got)
	}
	if got := get("部门办理情况"); got != "住建局：2026-12-09 已办理（逾期），已安排危房改造；教体局：未办理（时限 2026-12-08）" {
		t.Errorf("部门办理情况 %q", got)
	}
	if got := get("户编号/身份证号（脱敏）"); got != "4211230010010012" {
		t.Errorf("户编号 %q", got)
	}
}
