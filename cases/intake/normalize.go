package intake

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fangpin/fangpin/cases"
)

// NormalizeText trims ASCII and full-width spaces and non-breaking spaces, drops NUL
// bytes (PostgreSQL refuses them in text) and replaces invalid UTF-8, so whatever a cell
// holds can be stored and shown.
func NormalizeText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	// strings.TrimFunc, written out: it runs on every cell of every row, and most cells
	// have nothing to trim, which the ASCII test below sees without decoding a rune.
	start, end := 0, len(s)
	for start < end {
		r, n := rune(s[start]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[start:end])
		}
		if !isSpace(r) {
			break
		}
		start += n
	}
	for end > start {
		r, n := rune(s[end-1]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeLastRuneInString(s[start:end])
		}
		if !isSpace(r) {
			break
		}
		end -= n
	}
	return s[start:end]
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u3000', '\ufeff', '\u200b':
		return true
	}
	return false
}

// halfWidth turns full-width digits, points, commas and signs into ASCII.
func halfWidth(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '０' && r <= '９':
			return '0' + (r - '０')
		case r == '．' || r == '。':
			return '.'
		case r == '，':
			return ','
		case r == '－' || r == '−':
			return '-'
		case r == '／':
			return '/'
		case isSpace(r):
			return -1
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// NormalizeAmount reads a yuan amount as departments write it: `5,000.00`, `5000元`,
// `￥5000`, full-width digits. Negative or non-numeric amounts are errors, in Chinese.
// Spreadsheets sometimes store 4999.99 as 4999.9899999999998; such binary noise far below
// a fen is rounded away, while a real third decimal (12.345) is an error.
func NormalizeAmount(s string) (cases.Money, error) {
	// Fast path: a plain amount such as 4999.99 (what exports mostly hold) is already what
	// ParseMoney reads; everything else, errors included, takes the full way below.
	if m, ok := plainAmount(s); ok {
		return m, nil
	}
	orig := NormalizeText(s)
	v := halfWidth(orig)
	v = strings.TrimSuffix(v, "元")
	v = strings.TrimPrefix(strings.TrimPrefix(v, "￥"), "¥")
	v = strings.TrimSpace(v)
	if strings.Contains(v, ",") {
		if !validThousands(v) {
			return 0, fmt.Errorf("金额“%s”不是数字", orig)
		}
		v = strings.ReplaceAll(v, ",", "")
	}
	if v == "" {
		return 0, fmt.Errorf("金额不能为空")
	}
	if strings.HasPrefix(v, "-") {
		if _, err := cases.ParseMoney(v); err == nil {
			return 0, fmt.Errorf("金额“%s”不能为负数", orig)
		}
		return 0, fmt.Errorf("金额“%s”不是数字", orig)
	}
	v = roundNoise(v)
	m, err := cases.ParseMoney(v)
	if err != nil {
		if _, _, ok := strings.Cut(v, "."); ok && strings.Trim(v, "0123456789.") == "" && strings.Count(v, ".") == 1 {
			return 0, fmt.Errorf("金额“%s”最多保留两位小数（到分）", orig)
		}
		return 0, fmt.Errorf("金额“%s”不是数字", orig)
	}
	return m, nil
}

// plainAmount reads ASCII digits with at most two decimals, as cases.ParseMoney would,
// without its allocations; ok is false for anything else.
func plainAmount(s string) (m cases.Money, ok bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || len(frac) > 2 || !allDigits(whole) || !allDigits(frac) {
		return 0, false
	}
	var fen int64
	for i := 0; i < len(whole); i++ {
		fen = fen*10 + int64(whole[i]-'0')
	}
	for i := 0; i < 2; i++ {
		fen *= 10
		if i < len(frac) {
			fen += int64(frac[i] - '0')
		}
	}
	return cases.Money(fen), true
}

// validThousands accepts 1,234,567.89 but not 1,2,3.
func validThousands(v string) bool {
	whole, _, _ := strings.Cut(v, ".")
	parts := strings.Split(whole, ",")
	if len(parts[0]) == 0 || len(parts[0]) > 3 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 {
			return false
		}
	}
	return true
}

// roundNoise rounds a decimal with 9 or more fraction digits that sits within a millionth
// of a fen of a two-decimal amount; other strings pass through unchanged.
func roundNoise(v string) string {
	whole, frac, ok := strings.Cut(v, ".")
	if !ok || len(frac) < 9 || !allDigits(whole) || !allDigits(frac) {
		return v
	}
	tail := frac[2:]
	switch {
	case strings.HasPrefix(tail, "000000"):
		return whole + "." + frac[:2]
	case strings.HasPrefix(tail, "999999"):
		m, err := cases.ParseMoney(whole + "." + frac[:2])
		if err != nil {
			return v
		}
		return (m + 1).String()
	}
	return v
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// excelEpoch is day 0 of Excel's 1900 date system once its phantom 29 February 1900 is
// skipped: serial 61 is 1900-03-01.
var excelEpoch = cases.NewDate(1899, 12, 30)

// The years a date may have: anything else is a typing slip or a number read as a date.
const (
	minDateYear = 1900
	maxDateYear = 2100
	// maxSerial is 2100-12-31 as an Excel serial day.
	maxSerial = 73415
)

// NormalizeDate reads `2026-11-05`, `2026/11/5`, `2026.11.5`, `20261105`, `2026年11月5日`,
// an Excel date serial (46331) and full-width digits; a time of day after the date is
// ignored (the readers write date cells as YYYY-MM-DD). A date without a day (`2026.11`,
// `2026-11`, `2026年11月`) or outside 1900–2100 is an error, never a guess: 2026.11 is not
// serial day 2026.
func NormalizeDate(s string) (cases.Date, error) {
	orig := NormalizeText(s)
	v := halfWidth(orig)
	if v == "" {
		return cases.Date{}, fmt.Errorf("日期不能为空")
	}
	if d, _, ok := strings.Cut(v, " "); ok {
		v = d
	} else if d, _, ok := strings.Cut(v, "T"); ok && len(d) == 10 {
		v = d
	}
	if monthOnly(v) {
		return cases.Date{}, fmt.Errorf("日期“%s”没有写到日，请写完整的日期，例如 2026-11-05", orig)
	}
	if serial, ok := excelSerial(v); ok {
		if serial < 61 || serial > maxSerial || (serial >= minDateYear && serial <= maxDateYear) {
			// 1900–2100 as a number is a year, not the serial day of a date in 1905.
			return cases.Date{}, fmt.Errorf("日期“%s”不是有效的日期，请写成 2026-11-05", orig)
		}
		return excelEpoch.AddDays(serial), nil
	}
	d, err := cases.ParseDate(v)
	if err != nil {
		return cases.Date{}, fmt.Errorf("日期“%s”格式不对或不存在，请写成 2026-11-05", orig)
	}
	if d.Year < minDateYear || d.Year > maxDateYear {
		return cases.Date{}, fmt.Errorf("日期“%s”不在 1900 年到 2100 年之间，请核对", orig)
	}
	return d, nil
}

// monthOnly recognises a year and month without a day: 2026.11, 2026-11, 2026/11,
// 2026年11月, 202611.
func monthOnly(v string) bool {
	v = strings.TrimSuffix(v, "月")
	var y, m string
	switch {
	case len(v) == 6 && allDigits(v):
		y, m = v[:4], v[4:]
	default:
		i := strings.IndexAny(v, ".-/年")
		if i < 0 {
			return false
		}
		y, m = v[:i], v[i:]
		_, n := utf8.DecodeRuneInString(m)
		m = m[n:]
	}
	if len(y) != 4 || !allDigits(y) || m == "" || len(m) > 2 || !allDigits(m) {
		return false
	}
	yy, _ := strconv.Atoi(y)
	mm, _ := strconv.Atoi(m)
	return yy >= minDateYear && yy <= maxDateYear && mm >= 1 && mm <= 12
}

// excelSerial recognises a serial day number, possibly with a time fraction (46331.5).
// Eight digits are YYYYMMDD, not a serial.
func excelSerial(v string) (int, bool) {
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(whole) > 6 || !allDigits(whole) || !allDigits(frac) {
		return 0, false
	}
	n, err := strconv.Atoi(whole)
	return n, err == nil
}

// NormalizeID trims the ID number and normalises full-width digits and a lower-case x.
// The marks people and spreadsheets add to keep a number as text are removed: a leading or
// trailing apostrophe ('990…, as typed in Excel) and the ="…" wrapper of CSV exports.
func NormalizeID(s string) string {
	if plainID(s) {
		return s // what the normalisation below would return anyway
	}
	v := NormalizeText(s)
	if strings.HasPrefix(v, `="`) && strings.HasSuffix(v, `"`) && len(v) >= 3 {
		v = v[2 : len(v)-1]
	}
	v = strings.Trim(v, "'‘’`\" \t")
	return cases.NormalizeIDNumber(strings.Map(func(r rune) rune {
		if isSpace(r) {
			return -1
		}
		return r
	}, v))
}

// plainID: only ASCII digits and X, nothing to trim or convert.
func plainID(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != 'X' {
			return false
		}
	}
	return true
}

// CheckID validates a normalised ID number (GB 11643), with a hint when a spreadsheet has
// turned it into a number.
func CheckID(id string) error {
	if !plainID(id) && strings.ContainsAny(id, "Ee") && strings.Contains(id, "+") {
		return fmt.Errorf("身份证号被 Excel 存成了数字（%s），请把该列设为文本格式后重新导出", maskNumberID(id))
	}
	return cases.ValidateIDNumber(id)
}

// maskNumberID shows an ID number Excel turned into a number (9.906061986101897e+17) as far
// as its first 6 digits, the region a masked number shows too: the message is stored with the
// push and sent to the liaison, and the full mantissa is most of the number.
func maskNumberID(id string) string {
	e := strings.IndexAny(id, "Ee")
	digits := 0
	for i := 0; i < e; i++ {
		if id[i] >= '0' && id[i] <= '9' {
			if digits++; digits > 6 {
				return id[:i] + "…" + id[e:]
			}
		}
	}
	return id
}
