package ledgerxlsx

import (
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
)

// SweepSheet lists the month's 区域排查 tasks (docs/registry.md), apart from the households of 台账.
const SweepSheet = "区域排查"

var sweepCols = []column{{name: "序号", mm: 8, latin: true}, {name: "交办编号", mm: wNo, latin: true}, {name: "乡镇", mm: wName},
	{name: "涉及村", flex: true, min: 20}, {name: "风险类别", mm: 16}, {name: "事件", flex: true, min: 20},
	{name: "交办日期", mm: wDate, date: true}, {name: "办理时限", mm: wDate, date: true}, {name: "状态", mm: wName},
	{name: "完成日期", mm: wDate, date: true}, {name: "发现户数", mm: wName}, {name: "走访上报户数", mm: wName},
	{name: "是否按时", mm: wName}, {name: "排查说明", flex: true, min: 30}}

// SweepColumns are the 区域排查 sheet's columns.
var SweepColumns = names(sweepCols)

// writeSweeps adds the 区域排查 sheet (only when the month has such tasks).
func writeSweeps(f *excelize.File, a cases.Assessment, st styles) error {
	if len(a.Sweeps) == 0 {
		return nil
	}
	if _, err := f.NewSheet(SweepSheet); err != nil {
		return err
	}
	var rows [][]any
	for i, s := range a.Sweeps {
		status, found, onTime := "未完成", any(None), any(None)
		if s.Status == cases.StatusClosed {
			status = "已完成"
		}
		if s.Found != nil {
			found = *s.Found
		}
		switch {
		case s.OnTime:
			onTime = "是"
		case s.Overdue:
			onTime = "否"
		}
		rows = append(rows, []any{i + 1, s.No, s.Township, strings.Join(s.Villages, "、"), s.Category.Label(), s.Event,
			excelDate(cases.DateOf(s.DispatchedAt)), excelDate(s.DueOn), status, optTimeDate(s.DoneAt), found, s.Linked,
			onTime, s.Note})
	}
	t := &table{f: f, sheet: SweepSheet, cols: sweepCols, widths: sheetWidths(sweepCols, len(sweepCols), rows), printed: len(sweepCols), st: st}
	if err := t.header(Title(a, SweepSheet)); err != nil {
		return err
	}
	for _, r := range rows {
		if err := t.row(r); err != nil {
			return err
		}
	}
	return t.finish()
}
