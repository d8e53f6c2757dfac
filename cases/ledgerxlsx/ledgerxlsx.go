// Package ledgerxlsx writes the month's 预警信息核查办理台账 (spec §12) as an XLSX workbook to
// print and sign: sheet 台账 with one row per case dispatched in the month, sheet 汇总 with
// one row per township, a 合计 row and the office's dispatch, and sheet 部门 with one row per
// department, each under a title row (county, month, date made), all built from the month's
// assessment so they agree with `fangpin report`. The ledger names the 户主 but never
// carries a full ID number (a masked one or the 户编号 tells households apart); people are
// named, never their login IDs.
package ledgerxlsx

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

// Sheet names.
const (
	LedgerSheet     = "台账"
	SummarySheet    = "汇总"
	DepartmentSheet = "部门"
)

// TitleRows is the number of rows above each sheet's header (the title: county, month,
// date made); data starts on row TitleRows+2.
const TitleRows = 1

// LedgerColumns are the 台账 sheet's columns, in order: spec §12's, then the masked ID or
// 户编号 that tells households of the same name apart.
var LedgerColumns = []string{"序号", "交办编号", "案件类型", "预警来源", "乡镇", "村", "户主", "风险类别", "预警来源部门",
	"责任部门", "交办日期", "办理时限", "核查结论", "未纳入理由", "录入日期", "办结日期", "是否按时", "部门办理情况", "抽查结果",
	"户编号/身份证号（脱敏）"}

// SummaryColumns are the 汇总 sheet's columns.
var SummaryColumns = []string{"乡镇", "交办数", "办结数", "按时办结数", "逾期数", "按时办结率", "抽查数", "抽查不合格数", "月底反馈率", "考核得分"}

// DepartmentColumns are the 部门 sheet's columns.
var DepartmentColumns = []string{"部门", "应推送数", "按时推送数", "到期任务数", "按时办理数", "考核得分"}

// None is written where nothing was due (a rate or score with nothing to measure).
const None = "—"

var ledgerWidths = []float64{6, 17, 8, 10, 10, 10, 12, 26, 16, 12, 12, 12, 12, 32, 12, 12, 8, 26, 26, 22}

// ledgerDateColumns are the 台账 columns holding dates (1-based).
var ledgerDateColumns = []int{11, 12, 15, 16}

// Filename is the file name the office receives for a month: 预警信息核查办理台账-2026-11.xlsx.
func Filename(month string) string { return "预警信息核查办理台账-" + month + ".xlsx" }

// Title is the title row's text: county, month, and the day the ledger was made.
func Title(a postgres.Assessment, sheet string) string {
	m, _ := cases.ParseMonth(a.Month)
	title := fmt.Sprintf("%s预警信息核查办理台账（%d年%d月）", a.County, m.Year, int(m.Month))
	if sheet != LedgerSheet {
		title += "·" + sheet
	}
	return title + "　制表日期：" + cases.DateOf(a.AsOf).String()
}

// styles are the workbook's cell formats; quoted is text with the quote prefix.
type styles struct{ title, header, date, text, quoted, pct, score int }

// Build makes the workbook for a month's assessment.
func Build(a postgres.Assessment) (*excelize.File, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", LedgerSheet); err != nil {
		return nil, err
	}
	for _, sh := range []string{SummarySheet, DepartmentSheet} {
		if _, err := f.NewSheet(sh); err != nil {
			return nil, err
		}
	}
	st, err := newStyles(f)
	if err != nil {
		return nil, err
	}

	// 台账
	if err := writeHeader(f, a, LedgerSheet, LedgerColumns, ledgerWidths, st); err != nil {
		return nil, err
	}
	for i, c := range a.Cases {
		row := TitleRows + 2 + i
		vals := []any{i + 1, c.No, string(c.Kind), c.Source, c.Township, c.Village, head(c), postgres.CategoryLabels(c.Categories),
			sources(c), responsible(c), excelDate(cases.DateOf(c.DispatchedAt)), excelDate(c.DueOn), conclusion(c), exclusionReason(c),
			optDate(c.EnteredOn), optTimeDate(c.ClosedAt), onTime(c), taskState(c), spotResult(c), householdID(c)}
		if err := writeRow(f, LedgerSheet, row, vals, st); err != nil {
			return nil, err
		}
		for _, col := range ledgerDateColumns {
			c, _ := excelize.CoordinatesToCellName(col, row)
			if err := f.SetCellStyle(LedgerSheet, c, c, st.date); err != nil {
				return nil, err
			}
		}
	}

	// 汇总: one row per township, then 合计, then the office's dispatch.
	if err := writeHeader(f, a, SummarySheet, SummaryColumns, []float64{12, 10, 10, 12, 10, 12, 10, 14, 12, 10}, st); err != nil {
		return nil, err
	}
	row := TitleRows + 2
	for _, t := range a.Townships {
		if err := summaryRow(f, row, t.Name, t, t.Score, st); err != nil {
			return nil, err
		}
		row++
	}
	total := cases.SumTownships(a.Townships) // one rule for the lines and their 合计
	if err := summaryRow(f, row, "合计", total, nil, st); err != nil {
		return nil, err
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: borders()})
	first, _ := excelize.CoordinatesToCellName(1, row)
	if err := f.SetCellStyle(SummarySheet, first, first, bold); err != nil {
		return nil, err
	}
	office, _ := excelize.CoordinatesToCellName(1, row+2)
	if err := f.SetCellStr(SummarySheet, office, OfficeLine(a.Office)); err != nil {
		return nil, err
	}

	// 部门
	if err := writeHeader(f, a, DepartmentSheet, DepartmentColumns, []float64{14, 10, 10, 12, 12, 10}, st); err != nil {
		return nil, err
	}
	for i, d := range a.Departments {
		row := TitleRows + 2 + i
		vals := []any{d.Name, d.PushesDue, d.PushesOnTime, d.TasksDue, d.TasksOnTime, scoreCell(d.Score)}
		if err := writeRow(f, DepartmentSheet, row, vals, st); err != nil {
			return nil, err
		}
		if d.Score != nil {
			c, _ := excelize.CoordinatesToCellName(6, row)
			if err := f.SetCellStyle(DepartmentSheet, c, c, st.score); err != nil {
				return nil, err
			}
		}
	}
	if err := writeSweeps(f, a); err != nil {
		return nil, fmt.Errorf("区域排查 sheet: %w", err)
	}
	f.SetActiveSheet(0)
	_ = f.SetDocProps(&excelize.DocProperties{Title: Title(a, LedgerSheet), Creator: "防返贫预警助手"})
	return f, nil
}

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	var err error
	if st.title, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}}); err != nil {
		return st, err
	}
	if st.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
		Border:    borders(),
	}); err != nil {
		return st, err
	}
	dateFmt := "yyyy-mm-dd"
	if st.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt, Border: borders(),
		Alignment: &excelize.Alignment{Horizontal: "center"}}); err != nil {
		return st, err
	}
	if st.text, err = f.NewStyle(&excelize.Style{Border: borders(), Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}}); err != nil {
		return st, err
	}
	if st.quoted, err = quotedTextStyle(f); err != nil {
		return st, err
	}
	pctFmt := "0.0%"
	if st.pct, err = f.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt, Border: borders()}); err != nil {
		return st, err
	}
	scoreFmt := "0.0"
	if st.score, err = f.NewStyle(&excelize.Style{CustomNumFmt: &scoreFmt, Border: borders()}); err != nil {
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
	id, err := f.NewStyle(&excelize.Style{Border: borders(), Alignment: &excelize.Alignment{Vertical: "top", WrapText: true},
		Protection: &excelize.Protection{Locked: true}})
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

// quoteFormulaLike gives the formula-like texts of a row the quoted style (spec §12).
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

// summaryRow writes one 汇总 row; a rate or score with nothing to measure is —.
func summaryRow(f *excelize.File, row int, name string, t postgres.TownshipScore, score *float64, st styles) error {
	vals := []any{name, t.Dispatched, t.Closed, t.OnTime, t.Overdue, rateCell(t.OnTimeRate), t.SpotChecked, t.SpotFailed,
		rateCell(t.FeedbackRate), scoreCell(score)}
	if err := writeRow(f, SummarySheet, row, vals, st); err != nil {
		return err
	}
	for col, v := range map[int]*float64{6: t.OnTimeRate, 9: t.FeedbackRate, 10: score} {
		if v == nil {
			continue
		}
		c, _ := excelize.CoordinatesToCellName(col, row)
		style := st.pct
		if col == 10 {
			style = st.score
		}
		if err := f.SetCellStyle(SummarySheet, c, c, style); err != nil {
			return err
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
func OfficeLine(o postgres.OfficeScore) string {
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
func Write(w io.Writer, a postgres.Assessment) error {
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
func WriteFile(path string, a postgres.Assessment) error {
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

// writeHeader writes the title row and the column header of a sheet and sets it up for
// printing.
func writeHeader(f *excelize.File, a postgres.Assessment, sheet string, cols []string, widths []float64, st styles) error {
	lastCol, _ := excelize.ColumnNumberToName(len(cols))
	if err := f.SetCellStr(sheet, "A1", Title(a, sheet)); err != nil {
		return err
	}
	if err := f.MergeCell(sheet, "A1", lastCol+"1"); err != nil {
		return err
	}
	if err := f.SetCellStyle(sheet, "A1", lastCol+"1", st.title); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheet, 1, 28); err != nil {
		return err
	}
	hr := TitleRows + 1
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = c
	}
	first, _ := excelize.CoordinatesToCellName(1, hr)
	if err := f.SetSheetRow(sheet, first, &vals); err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(cols), hr)
	if err := f.SetCellStyle(sheet, first, last, st.header); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheet, hr, 24); err != nil {
		return err
	}
	for i, w := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, w); err != nil {
			return err
		}
	}
	// Printed on A4 landscape, one page wide, the title and header repeated on every page.
	a4, landscape, one, tall := 9, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &tall}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$%d", sheet, hr), Scope: sheet}); err != nil {
		return err
	}
	// The header stays visible while the office scrolls through hundreds of households.
	top := fmt.Sprintf("A%d", hr+1)
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: hr, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}}})
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

func sources(c postgres.CaseFact) string {
	if len(c.SourceDepartments) > 0 {
		return strings.Join(c.SourceDepartments, "、")
	}
	return c.Department
}

// head is the 户主 column: the name, or (区域排查) for a township-wide alert.
func head(c postgres.CaseFact) string {
	if c.Area() {
		return "（区域排查）"
	}
	return c.HeadName
}

// householdID tells households apart without printing an ID number: the registry 户编号,
// else the head's ID number masked (first 6, last 4).
func householdID(c postgres.CaseFact) string {
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
func responsible(c postgres.CaseFact) string {
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
func taskState(c postgres.CaseFact) string {
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

func conclusion(c postgres.CaseFact) string { return c.Conclusion() }

func exclusionReason(c postgres.CaseFact) string {
	if c.Result == cases.ResultExclude {
		return c.Reason
	}
	return ""
}

// onTime is the 是否按时 column (cases.OnTime, cases.Late): 是, 否 (missed due_on), or 未到期
// (open, not yet due).
func onTime(c postgres.CaseFact) string {
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
func spotResult(c postgres.CaseFact) string {
	var s string
	switch {
	case c.SpotResult == postgres.SpotFail && c.Status == cases.StatusReturned:
		s = "不合格（已退回重办）"
	case c.SpotResult == postgres.SpotFail && c.OriginalDueOn != nil:
		s = "不合格（退回后已重办）"
	case c.SpotResult == postgres.SpotFail:
		s = "不合格（已督办）"
	case c.SpotResult == postgres.SpotPass && c.SpotFailures > 0:
		s = "合格（曾不合格）"
	case c.SpotResult != "":
		s = c.SpotResult
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
