// Package ledgerxlsx writes the month's 预警信息核查办理台账 (spec §12) as an XLSX workbook:
// sheet 台账 with one row per case dispatched in the month and sheet 汇总 with one row per
// township, both built from the month's assessment so they agree with `fangpin report`.
// The ledger names the 户主 but never carries an ID number.
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
	LedgerSheet  = "台账"
	SummarySheet = "汇总"
)

// LedgerColumns are the 台账 sheet's columns, in order (spec §12).
var LedgerColumns = []string{"序号", "交办编号", "乡镇", "村", "户主", "风险类别", "预警来源部门", "交办日期",
	"办理时限", "核查结论", "未纳入理由", "录入日期", "办结日期", "是否按时", "抽查结果"}

// SummaryColumns are the 汇总 sheet's columns.
var SummaryColumns = []string{"乡镇", "交办数", "办结数", "按时办结数", "逾期数", "按时办结率", "抽查数", "抽查不合格数"}

var ledgerWidths = []float64{6, 17, 10, 10, 10, 30, 18, 12, 12, 12, 36, 12, 12, 10, 18}

// Filename is the file name the office receives for a month: 预警信息核查办理台账-2026-11.xlsx.
func Filename(month string) string { return "预警信息核查办理台账-" + month + ".xlsx" }

// Build makes the workbook for a month's assessment.
func Build(a postgres.Assessment) (*excelize.File, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", LedgerSheet); err != nil {
		return nil, err
	}
	if _, err := f.NewSheet(SummarySheet); err != nil {
		return nil, err
	}
	header, err := f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}},
		Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true},
		Border:    borders(),
	})
	if err != nil {
		return nil, err
	}
	dateFmt := "yyyy-mm-dd"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt, Border: borders(),
		Alignment: &excelize.Alignment{Horizontal: "center"}})
	if err != nil {
		return nil, err
	}
	text, err := f.NewStyle(&excelize.Style{Border: borders(), Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return nil, err
	}
	pctFmt := "0.0%"
	pct, err := f.NewStyle(&excelize.Style{CustomNumFmt: &pctFmt, Border: borders()})
	if err != nil {
		return nil, err
	}

	// 台账
	if err := writeHeader(f, LedgerSheet, LedgerColumns, ledgerWidths, header); err != nil {
		return nil, err
	}
	for i, c := range a.Cases {
		row := i + 2
		vals := []any{i + 1, c.No, c.Township, c.Village, c.HeadName, postgres.CategoryLabels(c.Categories),
			sources(c), excelDate(cases.DateOf(c.DispatchedAt)), excelDate(c.DueOn), conclusion(c), exclusionReason(c),
			optDate(c.EnteredOn), optTimeDate(c.ClosedAt), onTime(c), spotResult(c)}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(LedgerSheet, cell, &vals); err != nil {
			return nil, fmt.Errorf("ledger row %d: %w", row, err)
		}
		last, _ := excelize.CoordinatesToCellName(len(LedgerColumns), row)
		if err := f.SetCellStyle(LedgerSheet, cell, last, text); err != nil {
			return nil, err
		}
		for _, col := range []int{8, 9, 12, 13} { // the date columns
			c, _ := excelize.CoordinatesToCellName(col, row)
			if err := f.SetCellStyle(LedgerSheet, c, c, date); err != nil {
				return nil, err
			}
		}
	}

	// 汇总
	if err := writeHeader(f, SummarySheet, SummaryColumns, []float64{12, 10, 10, 12, 10, 12, 10, 14}, header); err != nil {
		return nil, err
	}
	for i, t := range a.Townships {
		row := i + 2
		vals := []any{t.Name, t.Dispatched, t.Closed, t.OnTime, t.Overdue, t.OnTimeRate, t.SpotChecked, t.SpotFailed}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(SummarySheet, cell, &vals); err != nil {
			return nil, fmt.Errorf("summary row %d: %w", row, err)
		}
		last, _ := excelize.CoordinatesToCellName(len(SummaryColumns), row)
		if err := f.SetCellStyle(SummarySheet, cell, last, text); err != nil {
			return nil, err
		}
		rate, _ := excelize.CoordinatesToCellName(6, row)
		if err := f.SetCellStyle(SummarySheet, rate, rate, pct); err != nil {
			return nil, err
		}
	}
	if err := writeSweeps(f, a); err != nil {
		return nil, fmt.Errorf("区域排查 sheet: %w", err)
	}
	f.SetActiveSheet(0)
	_ = f.SetDocProps(&excelize.DocProperties{Title: "预警信息核查办理台账 " + a.Month, Creator: "防返贫预警助手"})
	return f, nil
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

func writeHeader(f *excelize.File, sheet string, cols []string, widths []float64, style int) error {
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = c
	}
	if err := f.SetSheetRow(sheet, "A1", &vals); err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(cols), 1)
	if err := f.SetCellStyle(sheet, "A1", last, style); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheet, 1, 24); err != nil {
		return err
	}
	for i, w := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, w); err != nil {
			return err
		}
	}
	// Printed on A4 landscape, one page wide, the header repeated on every page.
	a4, landscape, one, tall := 9, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &tall}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + sheet + "'!$1:$1", Scope: sheet}); err != nil {
		return err
	}
	// The header stays visible while the office scrolls through hundreds of households.
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}})
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

func conclusion(c postgres.CaseFact) string {
	if c.Result != cases.ResultNone {
		return string(c.Result)
	}
	return c.Status.Label()
}

func exclusionReason(c postgres.CaseFact) string {
	if c.Result == cases.ResultExclude {
		return c.Reason
	}
	return ""
}

// OnTimeLabel is the 是否按时 column: 是, 否 (missed due_on), or 未到期 (open, not yet due).
func onTime(c postgres.CaseFact) string {
	switch {
	case c.OnTime:
		return "是"
	case c.Overdue:
		return "否"
	}
	return "未到期"
}

func spotResult(c postgres.CaseFact) string {
	switch {
	case c.SpotResult == postgres.SpotFail:
		return "不合格（已退回重办）"
	case c.SpotResult == postgres.SpotPass && c.SpotFailures > 0:
		return "合格（曾不合格退回）"
	case c.SpotResult != "":
		return c.SpotResult
	case c.SpotPicked:
		return "已抽取待检查"
	}
	return ""
}
