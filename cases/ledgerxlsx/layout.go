package ledgerxlsx

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"
)

// The printed page (docs/ledger.md "Printing"): A4 landscape, fitted to the page's width
// only, so a long month runs onto more pages but never shrinks below MinScale. Every
// width below is in millimetres at 100 %, for text of FontSize points; a sheet's printed
// columns add up to at most PrintableMM / MinScale, so that FontSize × MinScale — the
// smallest printed text — stays at 9 pt or more.
const (
	// PageWidthMM is A4 landscape.
	PageWidthMM = 297.0
	// MarginMM is the left and right margin; most printers print to 5 mm of the edge.
	MarginMM = 6.0
	// PrintableMM is the width the columns are fitted into.
	PrintableMM = PageWidthMM - 2*MarginMM
	// FontSize is the size of every cell but the title.
	FontSize = 10.0
	// MinScale is the smallest print scale a sheet's column widths allow (9 pt at FontSize 10).
	MinScale = 0.905
	// Font is the cells' font: the one Chinese offices print tables in. Where it is missing
	// (LibreOffice on Linux) the nearest CJK font replaces it.
	Font = "宋体"
	// LatinFont prints case numbers and dates: the workbook's default font, on every office
	// PC (Carlito, its metric twin, on Linux), with narrower digits than any CJK font's.
	LatinFont = "Calibri"
	// Footer is the page footer: 第 N 页 共 M 页.
	Footer = "&C第 &P 页 共 &N 页"
)

// mmPerWidthUnit converts a column width in Excel's units to millimetres as Excel prints
// it: the default font's digit, 7 px at 96 dpi for Calibri 11. LibreOffice measures the
// digit unrounded (Carlito's 7.44 px), so its columns are loWidening wider: a sheet is
// fitted to the page with that in mind, and the wrapped lines are counted in Excel's
// narrower columns, so that both print every column at 9 pt or more and every text whole.
const (
	mmPerWidthUnit = 7 * 25.4 / 96
	loWidening     = 7.44 / 7
)

// WidthMM is the widest a column of width units prints at 100 % (LibreOffice's measure).
func WidthMM(units float64) float64 { return units * mmPerWidthUnit * loWidening }

// budgetMM is how wide, in Excel's millimetres, a sheet's printed columns may be together.
const budgetMM = PrintableMM / MinScale / loWidening

func widthUnits(mm float64) float64 { return math.Round(mm/mmPerWidthUnit*100) / 100 }

// column is one column of a sheet: fixed (mm) or flexible (flex, at least min mm), sharing
// what the fixed columns leave of the page's width. A date or latin column is printed in
// LatinFont.
type column struct {
	name  string
	mm    float64
	flex  bool
	min   float64
	date  bool
	latin bool
}

func names(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// metric is a font's width of a character, in ems.
type metric func(r rune) float64

// fontEm is Font's: a CJK or full-width character one em, a letter or digit 0.6 (SimSun's
// are 0.5; where it is missing, the font replacing it may be as wide as DejaVu's 0.64 digits).
func fontEm(r rune) float64 {
	switch {
	case wide(r):
		return 1
	case r == '\t':
		return 2
	}
	return 0.6
}

// latinFontEm is LatinFont's (Calibri and Carlito): digits 0.507, narrower marks, capitals
// at most 0.6.
func latinFontEm(r rune) float64 {
	switch {
	case wide(r):
		return 1
	case r >= '0' && r <= '9':
		return 0.507
	case r == '-':
		return 0.306
	case r == '.' || r == ',' || r == ':' || r == ' ':
		return 0.27
	case r >= 'A' && r <= 'Z':
		return 0.6
	}
	return 0.5
}

// metrics gives each column its font's metric.
func metrics(cols []column) []metric {
	out := make([]metric, len(cols))
	for i, c := range cols {
		out[i] = fontEm
		if c.date || c.latin {
			out[i] = latinFontEm
		}
	}
	return out
}

// runeEm is how wide a character runs in Font.
func runeEm(r rune) float64 { return fontEm(r) }

// wide reports whether r is a CJK or full-width character, one em wide.
func wide(r rune) bool {
	return r >= 0x1100 && (unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFF60) || (r >= 0xFFE0 && r <= 0xFFE6) ||
		(r >= 0x2E80 && r <= 0x2FFF))
}

// cellPaddingMM is what a cell keeps free at its left and right edges together.
const cellPaddingMM = 1.2

// lineHeight is one line of wrapped text, in points per point of font size: Excel spaces
// SimSun's lines about 1.23 apart (its standard row is 13.5 pt at 11 pt), LibreOffice less;
// a little more, so that a row sized for Excel shows its text whole everywhere.
const lineHeight = 1.3

// noLineStart are the closing marks a Chinese line may not begin with: a spreadsheet takes
// the character before down with them.
const noLineStart = "，。、；：！？）」』》〉】”’,.;:!?)%"

// textLines estimates the lines text wraps into in a column mm wide at size points. Latin
// words and numbers stay whole when they fit on a line, as spreadsheets wrap them; a CJK
// line may break after any character but before a closing mark.
func textLines(text string, mm, size float64) int { return textLinesIn(text, mm, size, fontEm) }

// textLinesIn is textLines in the font of metric em.
func textLinesIn(text string, mm, size float64, em metric) int {
	if text == "" {
		return 1
	}
	emMM := size * 25.4 / 72
	capacity := max((mm-cellPaddingMM)/emMM, 1)
	lines := 1
	var used, prev float64
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if rs[i] == '\n' {
			lines++
			used, prev = 0, 0
			i++
			continue
		}
		// a word: a run of ASCII letters and digits (with - . / : inside), kept together
		j, w := i, 0.0
		if isWordRune(rs[i]) {
			for j < len(rs) && isWordRune(rs[j]) {
				w += em(rs[j])
				j++
			}
		} else {
			w = em(rs[i])
			j = i + 1
		}
		switch {
		case used+w <= capacity:
			used += w
		case rs[i] == ' ': // a space at the end of a line is dropped
			lines++
			used, w = 0, 0
		case w <= capacity && j == i+1 && strings.ContainsRune(noLineStart, rs[i]) && prev+w <= capacity:
			lines++
			used = prev + w
		case w <= capacity:
			lines++
			used = w
		default: // longer than a line: broken wherever it has to be
			for _, r := range rs[i:j] {
				e := em(r)
				if used+e > capacity {
					lines++
					used = 0
				}
				used += e
			}
		}
		prev = w
		i = j
	}
	return lines
}

func isWordRune(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' || r == '/' || r == ':' || r == '%')
}

// maxRowPt is Excel's tallest row.
const maxRowPt = 409.0

// rowHeight is the height in points that shows every cell's text whole: the most lines any
// cell wraps into. ms holds each column's font metric (nil: Font's).
func rowHeight(texts []string, widths []float64, ms []metric, size float64) float64 {
	lines := 1
	for i, t := range texts {
		em := metric(fontEm)
		if i < len(ms) {
			em = ms[i]
		}
		if i < len(widths) {
			lines = max(lines, textLinesIn(t, widths[i], size, em))
		}
	}
	return math.Min(math.Ceil(float64(lines)*size*lineHeight+3), maxRowPt)
}

// cellText is what a value shows in a cell, for estimating its height.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprint(x)
	}
}

// setWidths sets the columns' widths from mm.
func setWidths(f *excelize.File, sheet string, widths []float64) error {
	for i, w := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, widthUnits(w)); err != nil {
			return err
		}
	}
	return nil
}

// setupPrint makes a sheet print on A4 landscape, one page wide and as many pages tall as
// it takes, with rows 1..headerRow (title and column header) repeated on every page, the
// printed columns 1..printed and rows 1..lastRow as the print area, and 第 N 页 共 M 页 in
// the footer.
func setupPrint(f *excelize.File, sheet string, printed, headerRow, lastRow int) error {
	a4, landscape, one, tall := 9, "landscape", 1, 0
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &one, FitToHeight: &tall}); err != nil {
		return err
	}
	fit := true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	side, top, hf := MarginMM/25.4, 15/25.4, 7/25.4
	if err := f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{Left: &side, Right: &side, Top: &top, Bottom: &top,
		Header: &hf, Footer: &hf}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddFooter: Footer}); err != nil {
		return err
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$%d", sheet, headerRow), Scope: sheet}); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(printed)
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Area", RefersTo: fmt.Sprintf("'%s'!$A$1:$%s$%d", sheet, last, lastRow), Scope: sheet})
}

// SignatureItems are the signature block under every table, to fill in by hand.
var SignatureItems = []string{"填报单位（盖章）：", "制表人：", "审核人：", "负责人：", "日期："}

// signatureBlank is the line left to write on after each item.
func signatureBlank(item string) string {
	switch item {
	case "填报单位（盖章）：":
		return "＿＿＿＿＿＿＿＿＿＿"
	case "日期：":
		return "＿＿＿＿年＿＿月＿＿日"
	}
	return "＿＿＿＿＿＿"
}

// signatureRowPt leaves room for a signature and a seal.
const signatureRowPt = 40.0

// writeSignature writes the signature block from row on, under a table of the given
// column widths: one row of five items when the table is wide enough, else two rows. Each
// item spans a group of columns. It returns the last row written.
func writeSignature(f *excelize.File, sheet string, row int, widths []float64, style int) (int, error) {
	var total float64
	for _, w := range widths {
		total += w
	}
	rows := [][]string{SignatureItems}
	if total < 240 || len(widths) < len(SignatureItems) {
		rows = [][]string{{SignatureItems[0], SignatureItems[4]}, SignatureItems[1:4]}
	}
	for _, items := range rows {
		needs := make([]float64, len(items))
		for i, item := range items {
			for _, r := range item + signatureBlank(item) {
				needs[i] += runeEm(r)
			}
			needs[i] = needs[i]*(FontSize+1)*25.4/72 + cellPaddingMM
		}
		groups := splitColumns(widths, needs)
		height := signatureRowPt
		for i, item := range items {
			from, to := groups[i][0], groups[i][1]
			a, _ := excelize.CoordinatesToCellName(from+1, row)
			b, _ := excelize.CoordinatesToCellName(to+1, row)
			text := item + signatureBlank(item)
			if err := f.SetCellStr(sheet, a, text); err != nil {
				return row, err
			}
			if a != b {
				if err := f.MergeCell(sheet, a, b); err != nil {
					return row, err
				}
			}
			if err := f.SetCellStyle(sheet, a, b, style); err != nil {
				return row, err
			}
			var mm float64
			for _, w := range widths[from : to+1] {
				mm += w
			}
			height = math.Max(height, rowHeight([]string{text}, []float64{mm}, nil, FontSize))
		}
		if err := f.SetRowHeight(sheet, row, height); err != nil {
			return row, err
		}
		row++
	}
	return row - 1, nil
}

// splitColumns divides the columns into contiguous groups, one for each item needing
// needs[i] mm, each at least that wide when the columns allow it and sharing what is left
// equally, as [first, last] 0-based column indexes.
func splitColumns(widths []float64, needs []float64) [][2]int {
	n := len(needs)
	var total, need float64
	for _, w := range widths {
		total += w
	}
	for _, w := range needs {
		need += w
	}
	extra := max(0, (total-need)/float64(n))
	out := make([][2]int, 0, n)
	start := 0
	var acc, target float64 // from the first column: the groups so far, and where they should end
	for g := 0; g < n; g++ {
		target += needs[g] + extra
		end := start
		acc += widths[end]
		if g == n-1 {
			end = len(widths) - 1
		} else {
			// the column boundary nearest the target, leaving a column for each group to come
			for end+1 < len(widths)-(n-1-g) && acc+widths[end+1]/2 < target {
				end++
				acc += widths[end]
			}
		}
		out = append(out, [2]int{start, end})
		start = end + 1
	}
	return out
}
