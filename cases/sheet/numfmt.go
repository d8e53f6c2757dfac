package sheet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Spreadsheets store a date cell as a number of days with a date format; the readers turn
// such a cell into "YYYY-MM-DD" (with the time when it has one), so that a date is never
// confused with a number that merely looks like one (2026.11 is not a serial day).

// builtinDateFormat reports whether a built-in number format ID is a date or time format,
// the Chinese locale's (27–36, 50–58) included.
func builtinDateFormat(id int) bool {
	switch {
	case id >= 14 && id <= 22, id >= 27 && id <= 36, id >= 45 && id <= 47, id >= 50 && id <= 58:
		return true
	}
	return false
}

// isDateFormat reports whether a format code shows a date or time: it has y, m, d, h or s
// outside quoted text, escapes and [colour]/[condition] brackets ([h] and [mm] count).
func isDateFormat(code string) bool {
	code = strings.ToLower(code)
	if sec, _, ok := strings.Cut(code, ";"); ok {
		code = sec // the positive section decides
	}
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				return false
			}
			i += j + 1
		case '\\', '_', '*':
			i++ // the next character is literal, or a padding width
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			in := code[i+1 : i+j]
			if in == "h" || in == "hh" || in == "m" || in == "mm" || in == "s" || in == "ss" {
				return true
			}
			i += j
		case 'y', 'm', 'd', 'h', 's':
			return true
		}
	}
	return false
}

// excelEpoch1900 is day 0 of the 1900 date system once Excel's phantom 29 February 1900
// is skipped: serial 61 is 1900-03-01.
var excelEpoch1900 = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// dateText writes a date cell's serial as YYYY-MM-DD (and hh:mm:ss when it has a time).
// A serial that cannot be a date is written as the number it is, for the row's check to
// refuse.
func dateText(v float64, date1904 bool) string {
	if math.IsNaN(v) || v < 1 || v > 2958465 { // Excel's own range, to 9999-12-31
		return formatNumber(v)
	}
	if date1904 {
		v += 1462
	}
	days := math.Floor(v)
	secs := math.Round((v - days) * 86400)
	if secs >= 86400 {
		days, secs = days+1, 0
	}
	t := excelEpoch1900.AddDate(0, 0, int(days))
	if days < 61 {
		t = t.AddDate(0, 0, 1) // before the phantom day, serial 1 is 1900-01-01
	}
	if secs == 0 {
		return t.Format("2006-01-02")
	}
	return t.Add(time.Duration(secs) * time.Second).Format("2006-01-02 15:04:05")
}

// formatNumber writes a number cell as Excel keeps it in XLSX: the shortest decimal that
// reads back the same, and an exponent from 1e15 up, so that an ID number stored as a
// number shows as such (9.90606198610189E+17) rather than as 18 digits that look valid.
func formatNumber(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strings.ToUpper(strconv.FormatFloat(v, 'g', -1, 64))
	}
	if v == math.Trunc(v) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// cellRef names a cell as Excel does ("M5"), col and row 1-based.
func cellRef(col, row int) string {
	name := ""
	for col > 0 {
		col--
		name = string(rune('A'+col%26)) + name
		col /= 26
	}
	return fmt.Sprintf("%s%d", name, row)
}

// CellRef names a cell as Excel does ("M5"), col and row 1-based.
func CellRef(col, row int) string { return cellRef(col, row) }
