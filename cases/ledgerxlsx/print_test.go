package ledgerxlsx_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
)

// longReasonTail ends the longest 未纳入理由: the PDF must show it, so the cell was not cut.
const longReasonTail = "以上情况经村民代表评议属实终"

// longLedger is a month of 36 cases over several printed pages: long reasons, long 说明,
// several department tasks, spot-check findings, and three earlier months' open cases.
func longLedger() cases.MonthLedger {
	day := func(s string) cases.Date { return cases.MustDate(s) }
	dispatched := day("2026-11-10").At(10, 0)
	closed := day("2026-11-26").At(16, 0)
	entered := day("2026-11-26")
	long := strings.Repeat("经入户核查，该户家庭成员三人，主要劳动力在县城务工，月收入约三千元，", 3) +
		"医疗费用已由医保报销百分之八十五，剩余部分已申请临时救助，家庭年人均纯收入高于当地监测标准，" + longReasonTail
	note := "已安排临时救助并纳入低保，落实帮扶责任人王干部，每月入户走访一次，跟踪医疗报销和务工收入情况。"
	l := cases.MonthLedger{Assessment: cases.Assessment{Month: "2026-11", County: "测试县", AsOf: day("2026-12-10").At(9, 0)}}
	towns := []string{"城关镇", "河口乡", "青山镇"}
	for i := range 36 {
		c := cases.CaseFact{No: fmt.Sprintf("YJ202611-%04d", i+1), Round: "2026-11", Kind: cases.KindNew, Source: cases.SourceScreening,
			Township: towns[i%3], Village: "东街村", HeadName: "王考" + strconv.Itoa(i+1), HouseholdNo: fmt.Sprintf("42112300100100%02d", i),
			HouseholdKind: []string{"脱贫户", "边缘易致贫户", "", "突发严重困难户"}[i%4], Department: "医保局",
			Categories: []cases.Category{cases.Categories[i%len(cases.Categories)]}, SourceDepartments: []string{"医保局"},
			DispatchedAt: dispatched, DueOn: day("2026-12-08"), Status: cases.StatusDispatched}
		switch i % 4 {
		case 0:
			c.Status, c.Result, c.Reason, c.ClosedAt, c.OnTime = cases.StatusClosed, cases.ResultExclude, long, &closed, true
		case 1:
			c.Status, c.Result, c.Reason, c.ClosedAt, c.EnteredOn, c.OnTime = cases.StatusClosed, cases.ResultInclude, note, &closed, &entered, true
			c.Tasks = []cases.Task{{Department: "医保局", DueOn: day("2026-11-24"), DoneOn: &entered, Measure: "已落实医疗救助，报销比例提高到百分之九十"},
				{Department: "民政局", DueOn: day("2026-11-24")}}
		case 2:
			c.Status, c.Result, c.Reason = cases.StatusVerified, cases.ResultMonitored, "已在监测，帮扶措施已落实。"
			c.SpotResult, c.SpotBy, c.SpotFailures = cases.SpotFail, "孙七", 1
			c.SpotOn = &entered
		}
		l.Cases = append(l.Cases, c)
	}
	for _, name := range towns {
		ts := cases.TownshipScore{Name: name, Dispatched: 12, Closed: 6, OnTime: 6, FedBack: 9, FeedbackDue: true}
		ts.Fill()
		l.Townships = append(l.Townships, ts)
	}
	l.Departments = []cases.DepartmentScore{{Name: "医保局", PushesDue: 1, PushesOnTime: 1}}
	l.Office = cases.OfficeScore{RoundsDue: 1, RoundsOnTime: 1, Deadline: day("2026-11-10"), DispatchedOn: &entered}
	found := 2
	l.Sweeps = []cases.SweepFact{{No: "YJ202611-0037", Township: "青山镇", Category: cases.CatDisaster, Event: "11月5日暴雨洪涝",
		Villages: []string{"青山村", "石门村", "桃园村"}, DispatchedAt: dispatched, DueOn: day("2026-11-20"), Status: cases.StatusClosed,
		Found: &found, Note: "已逐户排查受灾农户，发现两户房屋受损，已按走访上报并安排临时救助。", DoneAt: &closed, Linked: 2, Overdue: true}}
	for i, round := range []string{"2026-09", "2026-10", "2026-10"} {
		c := cases.CaseFact{No: fmt.Sprintf("YJ%s-%04d", strings.ReplaceAll(round, "-", ""), 7+i), Round: round, Kind: cases.KindNew,
			Source: cases.SourceApplied, Township: "河口乡", Village: "河西村", HeadName: "李往" + strconv.Itoa(i+1), HouseholdKind: "脱贫不稳定户",
			Categories: []cases.Category{cases.Categories[0]}, DispatchedAt: day(round+"-12").At(9, 0), DueOn: day(round + "-28"),
			Status: cases.StatusDispatched, Overdue: true}
		l.Unfinished = append(l.Unfinished, cases.UnfinishedCase{CaseFact: c, DaysOverdue: 20 + i})
	}
	return l
}

// TestLedgerPrintsOnA4Landscape reads the workbook back: every sheet is set up for A4
// landscape one page wide with its title and header on every page and 第 N 页 共 M 页 in
// the footer; its printed columns are narrow enough that the page scale keeps 10 pt text at
// 9 pt or more; rows with long texts are taller; 合计 rows, the signature block, the new
// columns and 往月未办结 are there.
func TestLedgerPrintsOnA4Landscape(t *testing.T) {
	l := longLedger()
	f, err := ledgerxlsx.Build(l)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "台账,汇总,部门,往月未办结,区域排查" {
		t.Fatalf("sheets %s", got)
	}
	names := map[string][]string{"台账": ledgerxlsx.LedgerColumns, "汇总": ledgerxlsx.SummaryColumns,
		"部门": ledgerxlsx.DepartmentColumns, "往月未办结": ledgerxlsx.UnfinishedColumns, "区域排查": ledgerxlsx.SweepColumns}
	definedNames := map[string]string{}
	for _, dn := range f.GetDefinedName() {
		definedNames[dn.Scope+" "+dn.Name] = dn.RefersTo
	}
	for sheet, cols := range names {
		pl, err := f.GetPageLayout(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Size == nil || *pl.Size != 9 || pl.Orientation == nil || *pl.Orientation != "landscape" ||
			pl.FitToWidth == nil || *pl.FitToWidth != 1 || pl.FitToHeight == nil || *pl.FitToHeight != 0 {
			t.Errorf("%s page layout %+v, want A4 (9) landscape, 1 page wide, any number tall", sheet, pl)
		}
		props, _ := f.GetSheetProps(sheet)
		if props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s is not fitted to the page", sheet)
		}
		hf, _ := f.GetHeaderFooter(sheet)
		if hf == nil || hf.OddFooter != "&C第 &P 页 共 &N 页" {
			t.Errorf("%s footer %+v", sheet, hf)
		}
		if got := definedNames[sheet+" _xlnm.Print_Titles"]; got != fmt.Sprintf("'%s'!$1:$2", sheet) {
			t.Errorf("%s print titles %q, want the title and header rows", sheet, got)
		}
		printed := ledgerxlsx.PrintedColumns(cols)
		last, _ := excelize.ColumnNumberToName(printed)
		if got := definedNames[sheet+" _xlnm.Print_Area"]; !strings.HasPrefix(got, fmt.Sprintf("'%s'!$A$1:$%s$", sheet, last)) {
			t.Errorf("%s print area %q, want columns A:%s", sheet, got, last)
		}
		// The page scale is the printable width over the printed columns' width: the text
		// (FontSize) times that scale must be 9 pt or more.
		var mm float64
		for c := 1; c <= printed; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			w, _ := f.GetColWidth(sheet, name)
			mm += ledgerxlsx.WidthMM(w)
		}
		if scale := min(1, ledgerxlsx.PrintableMM/mm); ledgerxlsx.FontSize*scale < 9 {
			t.Errorf("%s: columns %.0f mm wide print at %.0f %%: %.1f pt text", sheet, mm, scale*100, ledgerxlsx.FontSize*scale)
		}
		rows, _ := f.GetRows(sheet)
		for i, h := range cols {
			if got := rows[ledgerxlsx.HeaderRow-1][i]; got != h {
				t.Errorf("%s column %d is %q, want %q", sheet, i+1, got, h)
			}
		}
		// The signature block ends the sheet, inside the print area.
		var sig []string
		for _, r := range rows[len(rows)-2:] {
			for _, c := range r {
				if c != "" {
					sig = append(sig, c)
				}
			}
		}
		for _, item := range []string{"填报单位（盖章）：", "制表人：", "审核人：", "负责人：", "日期："} {
			if !strings.Contains(strings.Join(sig, "|"), item) {
				t.Errorf("%s: no %s in the signature block %q", sheet, item, sig)
			}
		}
		if area := definedNames[sheet+" _xlnm.Print_Area"]; !strings.HasSuffix(area, "$"+strconv.Itoa(len(rows))) {
			t.Errorf("%s print area %q does not reach the signature block (row %d)", sheet, area, len(rows))
		}
		st, _ := f.GetCellStyle(sheet, fmt.Sprintf("A%d", ledgerxlsx.HeaderRow+1))
		if s, _ := f.GetStyle(st); s.Font == nil || s.Font.Size < ledgerxlsx.FontSize {
			t.Errorf("%s data font %+v", sheet, s.Font)
		}
	}

	col := func(cols []string, name string) int {
		for i, c := range cols {
			if c == name {
				return i + 1
			}
		}
		t.Fatalf("no column %s", name)
		return 0
	}
	cell := func(sheet string, cols []string, name string, row int) string {
		ref, _ := excelize.CoordinatesToCellName(col(cols, name), row)
		v, _ := f.GetCellValue(sheet, ref)
		return v
	}
	first := ledgerxlsx.HeaderRow + 1
	lc := ledgerxlsx.LedgerColumns
	// The new columns: 监测对象类型 after 户主, 核查说明 after 未纳入理由.
	if col(lc, "监测对象类型") != col(lc, "户主")+1 || col(lc, "核查说明") != col(lc, "未纳入理由")+1 {
		t.Errorf("columns %v", lc)
	}
	want := map[string][]string{ // by row: 监测对象类型, 未纳入理由's tail, 核查说明
		"监测对象类型": {"脱贫户", "边缘易致贫户", "—", "突发严重困难户"},
		"核查说明":   {"", l.Cases[1].Reason, "已在监测，帮扶措施已落实。", ""},
	}
	for name, ws := range want {
		for i, w := range ws {
			if got := cell("台账", lc, name, first+i); got != w {
				t.Errorf("台账 row %d %s = %q, want %q", first+i, name, got, w)
			}
		}
	}
	if got := cell("台账", lc, "未纳入理由", first); !strings.HasSuffix(got, longReasonTail) {
		t.Errorf("未纳入理由 %q", got)
	}
	// Rows grow with their texts: the long reason's row is several times the short one's.
	long, _ := f.GetRowHeight("台账", first)
	short, _ := f.GetRowHeight("台账", first+3)
	if long < 3*short || long < 100 {
		t.Errorf("row heights: long reason %.0f pt, short row %.0f pt", long, short)
	}
	// 合计 on 台账: cases, closed, on time and late.
	total := first + len(l.Cases)
	if got := cell("台账", lc, "序号", total); got != "合计" {
		t.Errorf("台账 row %d starts %q, want 合计", total, got)
	}
	if got := cell("台账", lc, "交办编号", total); got != "本月交办 36 户，已办结 18 户；按时办结 18 户，逾期 0 户" {
		t.Errorf("台账 合计 %q", got)
	}
	// 汇总's 合计 by the townships' own rule.
	sc := ledgerxlsx.SummaryColumns
	srow := first + len(l.Townships)
	for name, w := range map[string]string{"乡镇": "合计", "交办数": "36", "按时办结数": "18", "按时办结率": "100.0%", "月底反馈率": "75.0%", "考核得分": "—"} {
		if got := cell("汇总", sc, name, srow); got != w {
			t.Errorf("汇总 合计 %s = %q, want %q", name, got, w)
		}
	}
	// 往月未办结: the earlier rounds' open cases, with their round and days overdue.
	uc := ledgerxlsx.UnfinishedColumns
	for i, w := range [][3]string{{"YJ202609-0007", "2026-09", "20"}, {"YJ202610-0008", "2026-10", "21"}, {"YJ202610-0009", "2026-10", "22"}} {
		got := [3]string{cell("往月未办结", uc, "交办编号", first+i), cell("往月未办结", uc, "原交办月份", first+i), cell("往月未办结", uc, "已逾期（工作日）", first+i)}
		if got != w {
			t.Errorf("往月未办结 row %d %q, want %q", first+i, got, w)
		}
	}
	if got := cell("往月未办结", uc, "交办编号", first+3); got != "往月交办、月底仍未办结 3 户，其中逾期 3 户" {
		t.Errorf("往月未办结 合计 %q", got)
	}
}

// TestLedgerRowHeightsFollowTheText: the estimate grows with the text and shrinks as the
// column widens; a Latin word is not split when it fits on a line.
func TestLedgerTextLines(t *testing.T) {
	reason := strings.Repeat("家庭年人均收入高于监测标准", 5) // 65 characters
	for _, c := range []struct {
		text     string
		mm       float64
		min, max int
	}{
		{"", 20, 1, 1},
		{"纳入", 12.5, 1, 1},
		{reason, 40, 6, 7}, // about 10 characters a line
		{reason, 80, 3, 4},
		{"第一行\n第二行", 40, 2, 2},
		{"YJ202611-0001 2026-12-08", 30, 2, 2},
	} {
		if got := ledgerxlsx.TextLines(c.text, c.mm, ledgerxlsx.FontSize); got < c.min || got > c.max {
			t.Errorf("%q in %.0f mm: %d lines, want %d–%d", c.text, c.mm, got, c.min, c.max)
		}
	}
}

// TestLedgerPDF prints the long ledger with LibreOffice: a PDF of several pages whose text
// holds the signature block and the end of the longest reason (a cut cell would lose it),
// and the header and page numbers on every page. Skipped without LibreOffice unless
// FANGPIN_REQUIRE_LIBREOFFICE=1 (make check-ledger-pdf installs it and keeps the PDF and
// its pages as PNG in bin/ledger-check/ to look at).
func TestLedgerPDF(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ledgerxlsx.Filename("2026-11"))
	if err := ledgerxlsx.WriteFile(path, longLedger()); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"pdfinfo", "pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil && os.Getenv("FANGPIN_REQUIRE_LIBREOFFICE") != "1" {
			t.Skipf("%s (poppler-utils) not installed: PDF check skipped (make check-ledger-pdf runs it)", tool)
		}
	}
	pdf := convertWithLibreOffice(t, path)
	out, err := exec.Command("pdfinfo", pdf).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo (poppler-utils): %v\n%s", err, out)
	}
	var pages int
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			pages, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(line, "Page size:"); ok && !strings.Contains(v, "841.") {
			t.Errorf("page size %s, want A4 landscape (841.89 x 595.276 pts)", strings.TrimSpace(v))
		}
	}
	if pages < 3 {
		t.Fatalf("%d pages, want several", pages)
	}
	text, err := exec.Command("pdftotext", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	flat := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, string(text))
	// every long reason whole: each one's end is in the text
	if n := strings.Count(flat, longReasonTail); n != 9 {
		t.Errorf("the PDF shows the end of %d long reasons, want all 9", n)
	}
	for _, w := range []string{"填报单位（盖章）", "制表人", "审核人", "负责人", "日期：", "合计", "往月未办结",
		fmt.Sprintf("第1页共%d页", pages), fmt.Sprintf("第%d页共%d页", pages, pages)} {
		if !strings.Contains(flat, w) {
			t.Errorf("the PDF's text has no %q", w)
		}
	}
	// The header on every page: pdftotext separates pages with a form feed.
	for i, page := range strings.Split(string(text), "\f") {
		page = strings.Join(strings.Fields(page), "")
		if page != "" && !strings.Contains(page, "交办编号") && !strings.Contains(page, "按时办结率") && !strings.Contains(page, "应推送数") &&
			!strings.Contains(page, "排查说明") {
			t.Errorf("page %d has no column header", i+1)
		}
	}
	// The printed size: a date in Carlito (Calibri's metrics) runs 4.668 ems, so its width
	// on the page tells the size it was printed at, 9 pt or more on every sheet.
	boxes, err := exec.Command("pdftotext", "-bbox", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	dates := regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="[0-9.]+" xMax="([0-9.]+)" yMax="[0-9.]+">20\d\d-\d\d-\d\d</word>`)
	found := dates.FindAllStringSubmatch(string(boxes), -1)
	if len(found) == 0 {
		t.Fatal("no date found in the PDF")
	}
	for _, m := range found {
		x0, _ := strconv.ParseFloat(m[1], 64)
		x1, _ := strconv.ParseFloat(m[2], 64)
		if size := (x1 - x0) / 4.668; size < 8.95 {
			t.Errorf("a date printed at %.2f pt, want 9 pt or more", size)
			break
		}
	}
	if keep := os.Getenv("FANGPIN_LEDGER_CHECK_DIR"); keep != "" {
		if out, err := exec.Command("pdftoppm", "-r", "80", "-png", pdf, filepath.Join(keep, "page")).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v\n%s", err, out)
		}
	}
}

// TestLedgerSummaryTotalWhileTheMonthRuns: in a month still in progress no township has a
// 月底反馈率, and neither has 合计 (it once showed 47.6 % under a column of —).
func TestLedgerSummaryTotalWhileTheMonthRuns(t *testing.T) {
	l := longLedger()
	for i := range l.Townships {
		l.Townships[i].FeedbackDue = false
		l.Townships[i].Fill()
	}
	f, err := ledgerxlsx.Build(l)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows(ledgerxlsx.SummarySheet)
	for _, r := range rows[ledgerxlsx.HeaderRow : ledgerxlsx.HeaderRow+len(l.Townships)+1] {
		if r[8] != "—" {
			t.Errorf("%s 月底反馈率 %q, want —", r[0], r[8])
		}
	}
	if total := rows[ledgerxlsx.HeaderRow+len(l.Townships)]; total[0] != "合计" || total[5] != "100.0%" {
		t.Errorf("合计 %q", total)
	}
}
