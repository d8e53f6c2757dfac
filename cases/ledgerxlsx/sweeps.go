package ledgerxlsx

import (
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
)

// SweepSheet lists the month's 区域排查 tasks (spec §5c), apart from the households of 台账.
const SweepSheet = "区域排查"

// SweepColumns are the 区域排查 sheet's columns.
var SweepColumns = []string{"序号", "交办编号", "乡镇", "涉及村", "风险类别", "事件", "交办日期", "办理时限",
	"状态", "完成日期", "发现户数", "走访上报户数", "是否按时", "排查说明"}

// writeSweeps adds the 区域排查 sheet (only when the month has such tasks).
func writeSweeps(f *excelize.File, a postgres.Assessment) error {
	if len(a.Sweeps) == 0 {
		return nil
	}
	if _, err := f.NewSheet(SweepSheet); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	if err := writeHeader(f, a, SweepSheet, SweepColumns, []float64{6, 16, 10, 20, 10, 20, 12, 12, 8, 12, 8, 10, 8, 30}, st); err != nil {
		return err
	}
	for i, s := range a.Sweeps {
		row := TitleRows + 2 + i
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
		vals := []any{i + 1, s.No, s.Township, strings.Join(s.Villages, "、"), s.Category.Label(), s.Event,
			excelDate(cases.DateOf(s.DispatchedAt)), excelDate(s.DueOn), status, optTimeDate(s.DoneAt), found, s.Linked,
			onTime, s.Note}
		if err := writeRow(f, SweepSheet, row, vals, st); err != nil {
			return err
		}
		for _, col := range []int{7, 8, 10} {
			c, _ := excelize.CoordinatesToCellName(col, row)
			if err := f.SetCellStyle(SweepSheet, c, c, st.date); err != nil {
				return err
			}
		}
	}
	return nil
}
