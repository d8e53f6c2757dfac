// Package ledgerxlsx writes the month's 预警信息核查办理台账 as an XLSX workbook to print
// and sign (docs/ledger.md): sheet 台账 with one row per case dispatched in the month and a
// 合计 row, sheet 汇总 with one row per township, a 合计 row and the office's dispatch, sheet
// 部门 with one row per department, sheet 往月未办结 with the earlier months' cases still
// open at the month's end, and 区域排查 when the month had such tasks. Each sheet has a
// title row (county, month, date made), prints on A4 landscape one page wide at 9 pt or
// more with its header on every page and 第 N 页 共 M 页, and ends with the signature
// block. Everything is built from the month's assessment so it agrees with `fangpin
// report`. The ledger names the 户主 but never carries a full ID number (a masked one or
// the 户编号, outside the printed columns, tells households apart); people are named,
// never their login IDs.
package ledgerxlsx

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
)

// Sheet names.
const (
	LedgerSheet     = "台账"
	SummarySheet    = "汇总"
	DepartmentSheet = "部门"
	UnfinishedSheet = "往月未办结"
)

// TitleRows is the number of rows above each sheet's header (the title: county, month,
// date made); data starts on row TitleRows+2.
const TitleRows = 1

// HeaderRow is the column header's row, repeated on every printed page with the title.
const HeaderRow = TitleRows + 1

// HouseholdIDColumn tells households of the same name apart: the registry 户编号, else the
// head's ID number masked. It is the last column, kept in the file but outside the printed
// columns (the 交办编号 identifies a case on paper).
const HouseholdIDColumn = "户编号/身份证号（脱敏）"

// Column widths in mm at 100 % and FontSize: a date (YYYY-MM-DD) and a case number on one
// line, a name of three characters on one line, two characters a line for short words.
const (
	wDate  = 18.5
	wNo    = 23.5
	wName  = 12.5
	wShort = 9.5
	wText  = 12.5 // the least a text that wraps gets
)

// ledgerCols are the 台账 columns, in the county's order (docs/ledger.md) with 监测对象类型 after 户主 and
// 核查说明 after 未纳入理由, then the household's number (not printed). The texts that wrap
// (风险类别, 未纳入理由, 核查说明, 部门办理情况, 抽查结果) share what the others leave.
var ledgerCols = []column{
	{name: "序号", mm: 9, latin: true}, {name: "交办编号", mm: wNo, latin: true}, {name: "案件类型", mm: wShort}, {name: "预警来源", mm: wShort},
	{name: "乡镇", mm: wName}, {name: "村", mm: wName}, {name: "户主", mm: wName}, {name: "监测对象类型", mm: wShort},
	{name: "风险类别", flex: true, min: wText}, {name: "预警来源部门", mm: wShort}, {name: "责任部门", mm: wShort},
	{name: "交办日期", mm: wDate, date: true}, {name: "办理时限", mm: wDate, date: true}, {name: "核查结论", mm: wName},
	{name: "未纳入理由", flex: true, min: wText}, {name: "核查说明", flex: true, min: wText},
	{name: "录入日期", mm: wDate, date: true}, {name: "办结日期", mm: wDate, date: true}, {name: "是否按时", mm: wShort},
	{name: "部门办理情况", flex: true, min: wText}, {name: "抽查结果", flex: true, min: wText},
	{name: HouseholdIDColumn, mm: 36},
}

// unfinishedCols are 往月未办结's: 台账's with the month the case was dispatched in and how
// many working days it was overdue at the month's end.
var unfinishedCols = func() []column {
	var out []column
	for _, c := range ledgerCols {
		if c.name == "风险类别" { // two characters a line, to make room for the two columns more
			c.min = wShort
		}
		out = append(out, c)
		switch c.name {
		case "交办编号":
			out = append(out, column{name: "原交办月份", mm: 13.2, latin: true})
		case "是否按时":
			out = append(out, column{name: "已逾期（工作日）", mm: wShort})
		}
	}
	return out
}()

var summaryCols = []column{{name: "乡镇", mm: 24}, {name: "交办数", mm: 16}, {name: "办结数", mm: 16}, {name: "按时办结数", mm: 20},
	{name: "逾期数", mm: 16}, {name: "按时办结率", mm: 20}, {name: "抽查数", mm: 16}, {name: "抽查不合格数", mm: 22},
	{name: "月底反馈率", mm: 20}, {name: "考核得分", mm: 18}}

var departmentCols = []column{{name: "部门", mm: 30}, {name: "应推送数", mm: 20}, {name: "按时推送数", mm: 22},
	{name: "到期任务数", mm: 22}, {name: "按时办理数", mm: 22}, {name: "考核得分", mm: 20}}

// LedgerColumns are the 台账 sheet's columns, in order.
var LedgerColumns = names(ledgerCols)

// UnfinishedColumns are the 往月未办结 sheet's columns, in order.
var UnfinishedColumns = names(unfinishedCols)

// SummaryColumns are the 汇总 sheet's columns.
var SummaryColumns = names(summaryCols)

// DepartmentColumns are the 部门 sheet's columns.
var DepartmentColumns = names(departmentCols)

// PrintedColumns is how many of a sheet's columns are printed: all but HouseholdIDColumn.
func PrintedColumns(cols []string) int {
	if len(cols) > 0 && cols[len(cols)-1] == HouseholdIDColumn {
		return len(cols) - 1
	}
	return len(cols)
}

// None is written where nothing was due (a rate or score with nothing to measure).
const None = "—"

// Filename is the file name the office receives for a month: 预警信息核查办理台账-2026-11.xlsx.
func Filename(month string) string { return "预警信息核查办理台账-" + month + ".xlsx" }

// Title is the title row's text: county, month, and the day the ledger was made.
func Title(a cases.Assessment, sheet string) string {
	m, _ := cases.ParseMonth(a.Month)
	title := fmt.Sprintf("%s预警信息核查办理台账（%d年%d月）", a.County, m.Year, int(m.Month))
	if sheet != LedgerSheet {
		title += "·" + sheet
	}
	return title + "　制表日期：" + cases.DateOf(a.AsOf).String()
}

// styles are the workbook's cell formats; quoted is text with the quote prefix; the total
// ones are the 合计 rows'.
type styles struct {
	title, header, date, text, latin, quoted, pct, score, sign, note int
	totalText, totalPct                                              int
}

// Build makes the workbook for a month's ledger.
func Build(l cases.MonthLedger) (*excelize.File, error) {
	a := l.Assessment
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", LedgerSheet); err != nil {
		return nil, err
	}
	for _, sh := range []string{SummarySheet, DepartmentSheet, UnfinishedSheet} {
		if _, err := f.NewSheet(sh); err != nil {
			return nil, err
		}
	}
	st, err := newStyles(f)
	if err != nil {
		return nil, err
	}
	total := cases.SumTownships(a.Townships)
	if err := writeLedger(f, a, st, total); err != nil {
		return nil, fmt.Errorf("%s sheet: %w", LedgerSheet, err)
	}
	if err := writeSummary(f, a, st, total); err != nil {
		return nil, fmt.Errorf("%s sheet: %w", SummarySheet, err)
	}
	if err := writeDepartments(f, a, st); err != nil {
		return nil, fmt.Errorf("%s sheet: %w", DepartmentSheet, err)
	}
	if err := writeUnfinished(f, l, st); err != nil {
		return nil, fmt.Errorf("%s sheet: %w", UnfinishedSheet, err)
	}
	if err := writeSweeps(f, a, st); err != nil {
		return nil, fmt.Errorf("%s sheet: %w", SweepSheet, err)
	}
	f.SetActiveSheet(0)
	_ = f.SetDocProps(&excelize.DocProperties{Title: Title(a, LedgerSheet), Creator: "防返贫预警助手"})
	return f, nil
}

// caseValues is one case's row by column name.
func caseValues(i int, c cases.CaseFact) map[string]any {
	return map[string]any{"序号": i + 1, "交办编号": c.No, "案件类型": c.Kind.Label(), "预警来源": c.Source.Label(), "乡镇": c.Township,
		"村": c.Village, "户主": head(c), "监测对象类型": householdKind(c), "风险类别": cases.CategoryLabels(c.Categories),
		"预警来源部门": sources(c), "责任部门": responsible(c), "交办日期": excelDate(cases.DateOf(c.DispatchedAt)),
		"办理时限": excelDate(c.DueOn), "核查结论": conclusion(c), "未纳入理由": exclusionReason(c), "核查说明": c.Note(),
		"录入日期": optDate(c.EnteredOn), "办结日期": optTimeDate(c.ClosedAt), "是否按时": onTime(c),
		"部门办理情况": taskState(c), "抽查结果": spotResult(c), HouseholdIDColumn: householdID(c)}
}

func ordered(cols []column, byName map[string]any) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = byName[c.name]
	}
	return out
}

// flexWeights sizes a sheet's flexible columns by how much text each holds (in ems, each
// cell counted up to 200), for sharing out what is left once no row gets shorter.
func flexWeights(cols []column, rows [][]any) []float64 {
	w := make([]float64, len(cols))
	for i, c := range cols {
		if !c.flex {
			continue
		}
		w[i] = 1
		for _, r := range rows {
			var em float64
			for _, ch := range cellText(r[i]) {
				em += runeEm(ch)
			}
			w[i] += min(em, 200)
		}
	}
	return w
}

// sheetWidths fits a sheet's printed columns into the page at MinScale; the columns after
// the printed ones keep their own width. The flexible columns start at their minimum and
// take what is left a millimetre at a time, each to the column that shortens the rows the
// most (a row is as tall as its tallest cell), so that the long texts get the room.
func sheetWidths(cols []column, printed int, rows [][]any) []float64 {
	widths := colWidths(cols[:printed])
	left := budgetMM
	for _, w := range widths {
		left -= w
	}
	ems := metrics(cols)
	var flex []int
	fixedLines := make([]int, len(rows))
	for i, c := range cols[:printed] {
		if c.flex {
			flex = append(flex, i)
			continue
		}
		for r, row := range rows {
			fixedLines[r] = max(fixedLines[r], textLinesIn(cellText(row[i]), widths[i], FontSize, ems[i]))
		}
	}
	lines := make([][]int, len(cols)) // the flexible columns' lines per row at their width
	linesAt := func(i int, mm float64) []int {
		out := make([]int, len(rows))
		for r, row := range rows {
			out[r] = textLinesIn(cellText(row[i]), mm, FontSize, ems[i])
		}
		return out
	}
	for _, i := range flex {
		lines[i] = linesAt(i, widths[i])
	}
	height := func(i int, li []int) int { // total lines of all rows with column i at li
		total := 0
		for r := range rows {
			m := fixedLines[r]
			for _, j := range flex {
				if j == i {
					m = max(m, li[r])
				} else {
					m = max(m, lines[j][r])
				}
			}
			total += m
		}
		return total
	}
	const step = 1.0
	for ; left >= step && len(flex) > 0; left -= step {
		best, bestLines, now := -1, []int(nil), height(-1, nil)
		for _, i := range flex {
			li := linesAt(i, widths[i]+step)
			if h := height(i, li); h < now {
				best, bestLines, now = i, li, h
			}
		}
		if best < 0 {
			break // no row gets shorter: the rest is shared below
		}
		widths[best] += step
		lines[best] = bestLines
	}
	if left > 0 && len(flex) > 0 {
		weights := flexWeights(cols[:printed], rows)
		var total float64
		for _, i := range flex {
			total += weights[i]
		}
		for _, i := range flex {
			widths[i] += left * weights[i] / total
		}
	}
	for _, c := range cols[printed:] {
		widths = append(widths, c.mm)
	}
	return widths
}

func writeLedger(f *excelize.File, a cases.Assessment, st styles, total cases.TownshipScore) error {
	var rows [][]any
	for i, c := range a.Cases {
		rows = append(rows, ordered(ledgerCols, caseValues(i, c)))
	}
	printed := PrintedColumns(LedgerColumns)
	widths := sheetWidths(ledgerCols, printed, rows)
	t := &table{f: f, sheet: LedgerSheet, cols: ledgerCols, widths: widths, printed: printed, st: st}
	if err := t.header(Title(a, LedgerSheet)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := t.row(r); err != nil {
			return err
		}
	}
	if err := t.total(LedgerTotal(total)); err != nil {
		return err
	}
	return t.finish()
}

func writeUnfinished(f *excelize.File, l cases.MonthLedger, st styles) error {
	var rows [][]any
	overdue := 0
	for i, u := range l.Unfinished {
		v := caseValues(i, u.CaseFact)
		v["原交办月份"] = u.Round
		v["已逾期（工作日）"] = "未到期"
		if u.DaysOverdue > 0 {
			v["已逾期（工作日）"] = u.DaysOverdue
			overdue++
		}
		rows = append(rows, ordered(unfinishedCols, v))
	}
	printed := PrintedColumns(UnfinishedColumns)
	widths := sheetWidths(unfinishedCols, printed, rows)
	t := &table{f: f, sheet: UnfinishedSheet, cols: unfinishedCols, widths: widths, printed: printed, st: st}
	if err := t.header(Title(l.Assessment, UnfinishedSheet)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := t.row(r); err != nil {
			return err
		}
	}
	sum := fmt.Sprintf("往月交办、月底仍未办结 %d 户，其中逾期 %d 户", len(l.Unfinished), overdue)
	if len(l.Unfinished) == 0 {
		sum = "月底没有往月交办、仍未办结的案件"
	}
	if err := t.total(sum); err != nil {
		return err
	}
	return t.finish()
}

// writeSummary writes 汇总: one row per township, then 合计, then the office's dispatch.
func writeSummary(f *excelize.File, a cases.Assessment, st styles, total cases.TownshipScore) error {
	t := &table{f: f, sheet: SummarySheet, cols: summaryCols, widths: colWidths(summaryCols), printed: len(summaryCols), st: st}
	if err := t.header(Title(a, SummarySheet)); err != nil {
		return err
	}
	for _, ts := range a.Townships {
		if err := t.row(summaryValues(ts)); err != nil {
			return err
		}
		if err := t.numberStyles(ts.OnTimeRate, ts.FeedbackRate, ts.Score, st.pct, st.score); err != nil {
			return err
		}
	}
	if err := t.totalRow(summaryValues(total)); err != nil {
		return err
	}
	if err := t.numberStyles(total.OnTimeRate, total.FeedbackRate, nil, st.totalPct, st.score); err != nil {
		return err
	}
	if err := t.line(OfficeLine(a.Office)); err != nil {
		return err
	}
	return t.finish()
}

func summaryValues(t cases.TownshipScore) []any {
	return []any{t.Name, t.Dispatched, t.Closed, t.OnTime, t.Overdue, rateCell(t.OnTimeRate), t.SpotChecked, t.SpotFailed,
		rateCell(t.FeedbackRate), scoreCell(t.Score)}
}

func writeDepartments(f *excelize.File, a cases.Assessment, st styles) error {
	t := &table{f: f, sheet: DepartmentSheet, cols: departmentCols, widths: colWidths(departmentCols), printed: len(departmentCols), st: st}
	if err := t.header(Title(a, DepartmentSheet)); err != nil {
		return err
	}
	for _, d := range a.Departments {
		if err := t.row([]any{d.Name, d.PushesDue, d.PushesOnTime, d.TasksDue, d.TasksOnTime, scoreCell(d.Score)}); err != nil {
			return err
		}
		if d.Score != nil {
			c, _ := excelize.CoordinatesToCellName(6, t.at)
			if err := f.SetCellStyle(DepartmentSheet, c, c, st.score); err != nil {
				return err
			}
		}
	}
	return t.finish()
}

// colWidths are the columns' widths in mm: a flexible one's least.
func colWidths(cols []column) []float64 {
	out := make([]float64, len(cols))
	for i, c := range cols {
		out[i] = c.mm
		if c.flex {
			out[i] = c.min
		}
	}
	return out
}

// table writes one sheet: title, header, rows that grow with their text, 合计, the
// signature block, and the page setup.
type table struct {
	f       *excelize.File
	sheet   string
	cols    []column
	widths  []float64
	printed int
	st      styles
	at      int // the last row written
}

func (t *table) header(title string) error {
	f, sheet := t.f, t.sheet
	if err := setWidths(f, sheet, t.widths); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(t.printed)
	if err := f.SetCellStr(sheet, "A1", title); err != nil {
		return err
	}
	if err := f.MergeCell(sheet, "A1", last+"1"); err != nil {
		return err
	}
	if err := f.SetCellStyle(sheet, "A1", last+"1", t.st.title); err != nil {
		return err
	}
	var printedMM float64
	for _, w := range t.widths[:t.printed] {
		printedMM += w
	}
	if err := f.SetRowHeight(sheet, 1, max(28, rowHeight([]string{title}, []float64{printedMM}, nil, 14))); err != nil {
		return err
	}
	vals := make([]any, len(t.cols))
	texts := make([]string, len(t.cols))
	for i, c := range t.cols {
		vals[i], texts[i] = c.name, c.name
	}
	first, _ := excelize.CoordinatesToCellName(1, HeaderRow)
	if err := f.SetSheetRow(sheet, first, &vals); err != nil {
		return err
	}
	end, _ := excelize.CoordinatesToCellName(len(t.cols), HeaderRow)
	if err := f.SetCellStyle(sheet, first, end, t.st.header); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheet, HeaderRow, rowHeight(texts, t.widths, nil, FontSize)); err != nil {
		return err
	}
	t.at = HeaderRow
	// The header stays visible while the office scrolls through hundreds of households.
	top := fmt.Sprintf("A%d", HeaderRow+1)
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: HeaderRow, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}}})
}

// row writes one data row, dates as date cells, formula-like texts quoted, and sets its
// height to show every text whole.
func (t *table) row(vals []any) error {
	t.at++
	if err := writeRow(t.f, t.sheet, t.at, vals, t.st); err != nil {
		return err
	}
	for i, c := range t.cols {
		style := t.st.latin
		switch {
		case c.date:
			style = t.st.date
		case !c.latin:
			continue
		}
		ref, _ := excelize.CoordinatesToCellName(i+1, t.at)
		if err := t.f.SetCellStyle(t.sheet, ref, ref, style); err != nil {
			return err
		}
	}
	return t.fitRow(vals)
}

func (t *table) fitRow(vals []any) error {
	texts := make([]string, len(vals))
	for i, v := range vals {
		texts[i] = cellText(v)
	}
	return t.f.SetRowHeight(t.sheet, t.at, rowHeight(texts, t.widths, metrics(t.cols), FontSize))
}

// LedgerTotal is 台账's 合计: the month's cases, closed, on time and late, the counts of
// 汇总's 合计 row.
func LedgerTotal(t cases.TownshipScore) string {
	return fmt.Sprintf("本月交办 %d 户，已办结 %d 户；按时办结 %d 户，逾期 %d 户", t.Dispatched, t.Closed, t.OnTime, t.Overdue)
}

// total writes a 合计 row in bold: 合计 in the first column and text across the others.
func (t *table) total(text string) error {
	t.at++
	first, _ := excelize.CoordinatesToCellName(1, t.at)
	from, _ := excelize.CoordinatesToCellName(2, t.at)
	last, _ := excelize.CoordinatesToCellName(t.printed, t.at)
	if err := t.f.SetCellStr(t.sheet, first, "合计"); err != nil {
		return err
	}
	if err := t.f.SetCellStr(t.sheet, from, text); err != nil {
		return err
	}
	if err := t.f.MergeCell(t.sheet, from, last); err != nil {
		return err
	}
	if err := t.f.SetCellStyle(t.sheet, first, last, t.st.totalText); err != nil {
		return err
	}
	var mm float64
	for _, w := range t.widths[1:t.printed] {
		mm += w
	}
	return t.f.SetRowHeight(t.sheet, t.at, rowHeight([]string{"合计", text}, []float64{t.widths[0], mm}, nil, FontSize))
}

// totalRow writes 汇总's 合计 row, a value in each column, in bold.
func (t *table) totalRow(vals []any) error {
	t.at++
	first, _ := excelize.CoordinatesToCellName(1, t.at)
	if err := t.f.SetSheetRow(t.sheet, first, &vals); err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(t.printed, t.at)
	if err := t.f.SetCellStyle(t.sheet, first, last, t.st.totalText); err != nil {
		return err
	}
	return t.fitRow(vals)
}

// numberStyles formats the last row's rates (columns 6 and 9) and score (10) of 汇总; a
// missing one stays the text —.
func (t *table) numberStyles(onTime, feedback, score *float64, pct, scoreStyle int) error {
	for col, v := range map[int]*float64{6: onTime, 9: feedback, 10: score} {
		if v == nil {
			continue
		}
		c, _ := excelize.CoordinatesToCellName(col, t.at)
		style := pct
		if col == 10 {
			style = scoreStyle
		}
		if err := t.f.SetCellStyle(t.sheet, c, c, style); err != nil {
			return err
		}
	}
	return nil
}

// line writes a note under the table, one blank row below it, across the printed columns.
func (t *table) line(text string) error {
	t.at += 2
	a, _ := excelize.CoordinatesToCellName(1, t.at)
	b, _ := excelize.CoordinatesToCellName(t.printed, t.at)
	if err := t.f.SetCellStr(t.sheet, a, text); err != nil {
		return err
	}
	if err := t.f.MergeCell(t.sheet, a, b); err != nil {
		return err
	}
	if err := t.f.SetCellStyle(t.sheet, a, b, t.st.note); err != nil {
		return err
	}
	var mm float64
	for _, w := range t.widths[:t.printed] {
		mm += w
	}
	return t.f.SetRowHeight(t.sheet, t.at, rowHeight([]string{text}, []float64{mm}, nil, FontSize))
}

// finish writes the signature block one blank row under the table and sets up printing.
func (t *table) finish() error {
	last, err := writeSignature(t.f, t.sheet, t.at+2, t.widths[:t.printed], t.st.sign)
	if err != nil {
		return err
	}
	t.at = last
	return setupPrint(t.f, t.sheet, t.printed, HeaderRow, last)
}

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	font := func(bold bool, size float64, color string) *excelize.Font {
		return &excelize.Font{Family: Font, Size: size, Bold: bold, Color: color}
	}
	top := &excelize.Alignment{Vertical: "top", WrapText: true}
	center := &excelize.Alignment{Horizontal: "center", Vertical: "top", WrapText: true}
	dateFmt, pctFmt, scoreFmt := "yyyy-mm-dd", "0.0%", "0.0"
	for _, s := range []struct {
		id    *int
		style *excelize.Style
	}{
		{&st.title, &excelize.Style{Font: font(true, 14, ""), Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}},
		{&st.header, &excelize.Style{Font: font(true, FontSize, "FFFFFF"), Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}, Border: borders()}},
		{&st.date, &excelize.Style{Font: &excelize.Font{Family: LatinFont, Size: FontSize}, CustomNumFmt: &dateFmt, Border: borders(), Alignment: center}},
		{&st.latin, &excelize.Style{Font: &excelize.Font{Family: LatinFont, Size: FontSize}, Border: borders(), Alignment: top}},
		{&st.text, &excelize.Style{Font: font(false, FontSize, ""), Border: borders(), Alignment: top}},
		{&st.pct, &excelize.Style{Font: font(false, FontSize, ""), CustomNumFmt: &pctFmt, Border: borders(), Alignment: top}},
		{&st.score, &excelize.Style{Font: font(false, FontSize, ""), CustomNumFmt: &scoreFmt, Border: borders(), Alignment: top}},
		{&st.totalText, &excelize.Style{Font: font(true, FontSize, ""), Border: borders(), Alignment: top}},
		{&st.totalPct, &excelize.Style{Font: font(true, FontSize, ""), CustomNumFmt: &pctFmt, Border: borders(), Alignment: top}},
		{&st.note, &excelize.Style{Font: font(false, FontSize, ""), Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}}},
		{&st.sign, &excelize.Style{Font: font(false, FontSize+1, ""), Alignment: &excelize.Alignment{Vertical: "bottom", WrapText: true}}},
	} {
		id, err := f.NewStyle(s.style)
		if err != nil {
			return st, err
		}
		*s.id = id
	}
	var err error
	if st.quoted, err = quotedTextStyle(f); err != nil {
		return st, err
	}
	return st, nil
}

func writeRow(f *excelize.File, sheet string, row int, vals []any, st styles) error {
	cell, _ := excelize.CoordinatesToCellName(1, row)
	if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
		return fmt.Errorf("%s row %d: %w", sheet, row, err)
	}
	last, _ := excelize.CoordinatesToCellName(len(vals), row)
	if err := f.SetCellStyle(sheet, cell, last, st.text); err != nil {
		return err
	}
	return quoteFormulaLike(f, sheet, row, vals, st.quoted)
}

// FormulaLike reports whether a text would be taken for a formula by a spreadsheet when
// typed or edited: it begins with =, +, -, @, a tab or a carriage return.
func FormulaLike(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// quotedTextStyle adds the text style with the quote prefix (Excel's leading apostrophe,
// shown as nothing): the cell stays text even when someone edits it. excelize has no
// field for it in Style, so the cell format is marked in the style sheet directly; the
// Protection setting (Excel's default) only keeps NewStyle from reusing the plain style.
func quotedTextStyle(f *excelize.File) (int, error) {
	id, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Family: Font, Size: FontSize}, Border: borders(),
		Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}, Protection: &excelize.Protection{Locked: true}})
	if err != nil {
		return 0, err
	}
	if f.Styles == nil || f.Styles.CellXfs == nil || id >= len(f.Styles.CellXfs.Xf) {
		return 0, fmt.Errorf("ledger styles: cell format %d not found", id)
	}
	yes := true
	f.Styles.CellXfs.Xf[id].QuotePrefix = &yes
	return id, nil
}

// quoteFormulaLike gives the formula-like texts of a row the quoted style (docs/ledger.md).
func quoteFormulaLike(f *excelize.File, sheet string, row int, vals []any, style int) error {
	for i, v := range vals {
		if s, ok := v.(string); ok && FormulaLike(s) {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			if err := f.SetCellStyle(sheet, cell, cell, style); err != nil {
				return err
			}
		}
	}
	return nil
}

func rateCell(r *float64) any {
	if r == nil {
		return None
	}
	return *r
}

func scoreCell(s *float64) any {
	if s == nil {
		return None
	}
	return *s
}

// OfficeLine is the office's own figure under 汇总: the round dispatched by the 10th.
func OfficeLine(o cases.OfficeScore) string {
	switch {
	case o.DispatchedOn != nil:
		state := "按时"
		if o.RoundsOnTime == 0 {
			state = "逾期"
		}
		return fmt.Sprintf("县扶贫办集中交办：%s（时限 %s，%s；按时 %d/%d）", o.DispatchedOn, o.Deadline, state, o.RoundsOnTime, o.RoundsDue)
	case o.RoundsDue > 0:
		return fmt.Sprintf("县扶贫办集中交办：时限 %s 已过，尚未交办（按时 0/%d）", o.Deadline, o.RoundsDue)
	}
	return fmt.Sprintf("县扶贫办集中交办：时限 %s，尚未到期（%s）", o.Deadline, None)
}

// Write writes the month's workbook to w.
func Write(w io.Writer, a cases.MonthLedger) error {
	f, err := Build(a)
	if err != nil {
		return fmt.Errorf("build ledger %s: %w", a.Month, err)
	}
	defer f.Close()
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("write ledger %s: %w", a.Month, err)
	}
	return nil
}

// WriteFile writes the month's workbook to path.
func WriteFile(path string, a cases.MonthLedger) error {
	f, err := Build(a)
	if err != nil {
		return fmt.Errorf("build ledger %s: %w", a.Month, err)
	}
	defer f.Close()
	if err := f.SaveAs(path); err != nil {
		return fmt.Errorf("write ledger %s: %w", path, err)
	}
	return nil
}

func borders() []excelize.Border {
	var b []excelize.Border
	for _, side := range []string{"left", "top", "right", "bottom"} {
		b = append(b, excelize.Border{Type: side, Color: "BFBFBF", Style: 1})
	}
	return b
}

// excelDate is the civil date as a time excelize stores as a date serial (no time of day,
// no time-zone shift).
func excelDate(d cases.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

func optDate(d *cases.Date) any {
	if d == nil {
		return nil
	}
	return excelDate(*d)
}

func optTimeDate(t *time.Time) any {
	if t == nil {
		return nil
	}
	return excelDate(cases.DateOf(*t))
}

func sources(c cases.CaseFact) string {
	if len(c.SourceDepartments) > 0 {
		return strings.Join(c.SourceDepartments, "、")
	}
	return c.Department
}

// head is the 户主 column: the name, or (区域排查) for a township-wide alert.
func head(c cases.CaseFact) string {
	if c.Area() {
		return "（区域排查）"
	}
	return c.HeadName
}

// householdKind is the 监测对象类型 column: the household's 户类型 in the registry, — when
// it is not there (a household not yet monitored).
func householdKind(c cases.CaseFact) string {
	if c.HouseholdKind == "" {
		return None
	}
	return c.HouseholdKind
}

// householdID tells households apart without printing an ID number: the registry 户编号,
// else the head's ID number masked (first 6, last 4).
func householdID(c cases.CaseFact) string {
	switch {
	case c.HouseholdNo != "":
		return c.HouseholdNo
	case c.HeadIDNumber != "":
		return cases.MaskIDNumber(c.HeadIDNumber)
	}
	return None
}

// responsible is the 责任部门 column: the case's department and every department with a
// task on it.
func responsible(c cases.CaseFact) string {
	var ds []string
	seen := map[string]bool{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	add(c.Department)
	for _, t := range c.Tasks {
		add(t.Department)
	}
	if len(ds) == 0 {
		return None
	}
	return strings.Join(ds, "、")
}

// taskState is the 部门办理情况 column: each department task, done (with its day and
// measure) or open (with its due date); — when the case has none.
func taskState(c cases.CaseFact) string {
	if len(c.Tasks) == 0 {
		return None
	}
	var parts []string
	for _, t := range c.Tasks {
		if t.DoneOn != nil {
			s := fmt.Sprintf("%s：%s 已办理", t.Department, t.DoneOn)
			if ot := cases.TaskOnTime(t); ot != nil && !*ot {
				s += "（逾期）"
			}
			if t.Measure != "" {
				s += "，" + t.Measure
			}
			parts = append(parts, s)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s：未办理（时限 %s）", t.Department, t.DueOn))
	}
	return strings.Join(parts, "；")
}

func conclusion(c cases.CaseFact) string { return c.Conclusion() }

func exclusionReason(c cases.CaseFact) string {
	if c.Result == cases.ResultExclude {
		return c.Reason
	}
	return ""
}

// onTime is the 是否按时 column (cases.OnTime, cases.Late): 是, 否 (missed due_on), or 未到期
// (open, not yet due).
func onTime(c cases.CaseFact) string {
	switch {
	case c.OnTime:
		return "是"
	case c.Overdue:
		return "否"
	}
	return "未到期"
}

// spotResult is the 抽查结果 column: the finding, who made it (by name) and when; a case
// returned by a spot check also shows its original due date (办理时限 holds the new one).
func spotResult(c cases.CaseFact) string {
	var s string
	switch {
	case c.SpotResult == cases.SpotFail && c.Status == cases.StatusReturned:
		s = "不合格（已退回重办）"
	case c.SpotResult == cases.SpotFail && c.OriginalDueOn != nil:
		s = "不合格（退回后已重办）"
	case c.SpotResult == cases.SpotFail:
		s = "不合格（已督办）"
	case c.SpotResult == cases.SpotPass && c.SpotFailures > 0:
		s = "合格（曾不合格）"
	case c.SpotResult != "":
		s = c.SpotResult.Label()
	case c.SpotPicked:
		return "已抽取待检查"
	default:
		if c.OriginalDueOn != nil {
			return "原办理时限 " + c.OriginalDueOn.String()
		}
		return ""
	}
	var by []string
	if c.SpotBy != "" {
		by = append(by, c.SpotBy)
	}
	if c.SpotOn != nil {
		by = append(by, c.SpotOn.String())
	}
	if len(by) > 0 {
		s += "；" + strings.Join(by, " ") + " 抽查"
	}
	if c.OriginalDueOn != nil {
		s += "；原办理时限 " + c.OriginalDueOn.String()
	}
	return s
}
