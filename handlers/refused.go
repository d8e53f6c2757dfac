package handlers

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
)

// Bounds of the refused-rows workbook: a file that is refused almost whole (the wrong
// file, a shifted column) would otherwise come back as large as it went.
const (
	maxRefusedRows  = 10000
	maxRefusedBytes = 16 << 20
)

// refusedRows collects an import's refused rows as the file had them (intake's
// Request.Refused), to send them back as a workbook the department corrects and resends.
type refusedRows struct {
	header  []string
	nums    []int
	rows    [][]string
	reasons []string
	bytes   int
	left    int // refused rows beyond the bounds, not in the workbook
}

func (r *refusedRows) add(header []string, row int, cells []string, errs []cases.RowError) {
	if r.header == nil {
		r.header = append([]string(nil), header...)
	}
	size := 0
	for _, c := range cells {
		size += len(c)
	}
	if len(r.rows) >= maxRefusedRows || r.bytes+size > maxRefusedBytes {
		r.left++
		return
	}
	r.bytes += size
	r.nums = append(r.nums, row)
	r.rows = append(r.rows, append([]string(nil), cells...))
	var why []string
	for _, e := range errs {
		m := e.Message
		if e.Column != "" && !strings.Contains(m, e.Column) {
			m = e.Column + "：" + m
		}
		why = append(why, m)
	}
	r.reasons = append(r.reasons, strings.Join(why, "；"))
}

// Len is how many refused rows the workbook holds.
func (r *refusedRows) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rows)
}

// refusedSheet is the workbook's only sheet.
const refusedSheet = "退回的行"

// Workbook writes the refused rows: the file's own columns, then 行号 (the row's number in
// the file sent) and 错误原因. Every cell is written as text (a string cell in a text
// column), so an ID number stays as typed and a text beginning with = is no formula.
func (r *refusedRows) Workbook() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", refusedSheet); err != nil {
		return nil, err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return nil, err
	}
	header := append(append([]string(nil), r.header...), "行号", "错误原因")
	if err := f.SetSheetRow(refusedSheet, "A1", &header); err != nil {
		return nil, err
	}
	for i, cells := range r.rows {
		vals := make([]any, 0, len(header))
		for j := range r.header {
			v := ""
			if j < len(cells) {
				v = cells[j]
			}
			vals = append(vals, v)
		}
		vals = append(vals, r.nums[i], r.reasons[i])
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(refusedSheet, cell, &vals); err != nil {
			return nil, err
		}
	}
	last, _ := excelize.ColumnNumberToName(max(len(header), 1))
	if err := f.SetColStyle(refusedSheet, "A:"+last, text); err != nil {
		return nil, err
	}
	f.SetColWidth(refusedSheet, "A", last, 16)
	f.SetColWidth(refusedSheet, last, last, 48)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("refused rows workbook: %w", err)
	}
	return buf.Bytes(), nil
}

// refusedName is the workbook's file name: the file sent, with 退回 before its extension.
func refusedName(filename string) string {
	base := filename
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	if base == "" {
		base = "推送文件"
	}
	return base + "-退回的行.xlsx"
}
