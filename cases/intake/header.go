package intake

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/sheet"
)

// Departments write the columns of docs/reference.md in their own words: 证件号码 for
// 身份证号, 所属乡镇 for 乡镇, a unit after an amount's name, a line break inside a header
// cell. A header cell is compared by its key (HeaderKey), then looked up among the
// columns' own names, the synonyms below, and a department's own words (Aliases).

// synonyms are the built-in other names of the columns (docs/reference.md lists them).
// A synonym only places a column the category has: 自付金额 is 住院自付累计 in a medical
// file and an extra column anywhere else.
var synonyms = map[string][]string{
	ColID:       {"证件号码", "身份证号码", "公民身份号码", "身份证", "公民身份证号码", "证件号"},
	ColName:     {"人员姓名", "参保人姓名", "参保人", "救助对象姓名"},
	ColTownship: {"所属乡镇", "乡镇（街道）", "乡镇名称", "乡（镇）", "乡镇街道"},
	ColVillage:  {"行政村", "村（社区）", "村名", "所属村", "村委会"},
	ColHeadID:   {"户主身份证号码", "户主证件号码", "户主公民身份号码"},
	"住院自付累计":    {"个人自付累计", "个人自付", "住院个人自付", "自付金额"},
	"救助类别":      {"保障类别", "救助类型"},
	"认定日期":      {"审批日期", "批准日期"},
}

// headName is 户主姓名: the 姓名 of a file that has no 姓名 column (民政's rosters list
// households by their head).
const headName = "户主姓名"

// valueWords map a department's own words for a listed value to the value (民政's 农村低保
// is 低保), by column.
var valueWords = map[string]map[string]string{
	"救助类别": {
		"农村低保": "低保", "城市低保": "低保", "低保户": "低保", "城乡低保": "低保", "最低生活保障": "低保",
		"特困供养": "特困", "农村特困供养": "特困", "城市特困供养": "特困", "特困人员": "特困", "五保": "特困", "五保户": "特困",
	},
}

// Synonyms returns the built-in other names of a column (for the reference and cards).
func Synonyms(column string) []string {
	out := append([]string(nil), synonyms[column]...)
	if column == ColName {
		out = append(out, headName+"（仅当没有“姓名”列时）")
	}
	return out
}

// ValueWords returns the words taken for each listed value of a column, value → words.
func ValueWords(column string) map[string][]string {
	out := map[string][]string{}
	for w, v := range valueWords[column] {
		out[v] = append(out[v], w)
	}
	return out
}

// HeaderKey is a header cell as compared: without spaces and line breaks, full-width
// letters, digits and brackets as ASCII.
func HeaderKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff':
			continue
		case r >= '！' && r <= '～':
			r -= '！' - '!'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// withoutUnit drops a trailing unit in brackets: 住院自付累计(元) → 住院自付累计. It
// returns "" when the key has none.
func withoutUnit(key string) string {
	if !strings.HasSuffix(key, ")") && !strings.HasSuffix(key, "]") && !strings.HasSuffix(key, "】") {
		return ""
	}
	i := strings.LastIndexAny(key, "([【")
	if i <= 0 {
		return ""
	}
	return key[:i]
}

// Aliases are a department's own header words: a file's header cell → the column it is.
// They are stored per department (fangpin mapping) and passed in with each import.
type Aliases map[string]string

// index of every name a header cell may be, by key → column.
var columnByKey = func() map[string]string {
	m := map[string]string{}
	for _, cat := range cases.Categories {
		for _, c := range ColumnsOf(cat) {
			m[HeaderKey(c)] = c
		}
	}
	for col, names := range synonyms {
		for _, n := range names {
			m[HeaderKey(n)] = col
		}
	}
	return m
}()

// resolve finds the column a header cell names; weak is set for 户主姓名.
func resolve(cell string, aliases map[string]string) (col string, weak bool) {
	key := HeaderKey(cell)
	if key == "" {
		return "", false
	}
	for _, k := range []string{key, withoutUnit(key)} {
		if k == "" {
			continue
		}
		if c, ok := aliases[k]; ok {
			return c, false
		}
		if c, ok := columnByKey[k]; ok {
			return c, false
		}
		if k == headName {
			return ColName, true
		}
	}
	return "", false
}

// Placement is how a file's header row maps onto a category's columns.
type Placement struct {
	// Columns maps each column found to its index in the header.
	Columns map[string]int
	// Missing lists the category's required columns the header lacks.
	Missing []string
	// Unplaced lists the header's cells (as written) that are none of the category's columns.
	Unplaced []string
	// Found counts the required columns found.
	Found int
}

// Matches reports whether the header has every required column.
func (p Placement) Matches() bool { return len(p.Missing) == 0 }

// Place maps header cells onto cat's columns, with a department's aliases (file header →
// column) before the built-in names. Each column takes the first cell that names it.
func Place(header []string, cat cases.Category, aliases Aliases) Placement {
	keyed := make(map[string]string, len(aliases))
	for k, v := range aliases {
		keyed[HeaderKey(k)] = v
	}
	wanted := map[string]bool{}
	for _, c := range ColumnsOf(cat) {
		wanted[c] = true
	}
	p := Placement{Columns: map[string]int{}}
	weakName := -1
	for i, h := range header {
		col, weak := resolve(h, keyed)
		switch {
		case weak:
			if weakName < 0 {
				weakName = i
			}
			continue
		case col != "" && wanted[col]:
			if _, dup := p.Columns[col]; !dup {
				p.Columns[col] = i
				continue
			}
		}
		if strings.TrimSpace(h) != "" {
			p.Unplaced = append(p.Unplaced, sheet.NormalizeHeader(h))
		}
	}
	if _, ok := p.Columns[ColName]; !ok && weakName >= 0 {
		p.Columns[ColName] = weakName
	} else if weakName >= 0 {
		p.Unplaced = append(p.Unplaced, sheet.NormalizeHeader(header[weakName]))
	}
	for _, c := range RequiredColumnsOf(cat) {
		if _, ok := p.Columns[c]; ok {
			p.Found++
		} else {
			p.Missing = append(p.Missing, c)
		}
	}
	return p
}

// MissingError is the refusal of a header without some required columns.
func MissingError(missing []string) string {
	q := make([]string, len(missing))
	for i, c := range missing {
		q[i] = "“" + c + "”"
	}
	return "表头缺少必需的列：" + strings.Join(q, "、")
}

// Table is a department file opened for one category: the sheet and row its header was
// found on, and its data rows after it (Rows).
type Table struct {
	*sheet.Reader
	book *sheet.Book
	// Placement is the header's placement on the category's columns.
	Placement Placement
	// PassedOver names the sheets before Sheet whose header did not match.
	PassedOver []string
	// Format is "xlsx", "xls", "csv" or "tsv".
	Format string
}

// Close releases the file.
func (t *Table) Close() error { return t.book.Close() }

// sheetRead says which sheet an import read (Batch.Sheet) and which it passed over.
func (t *Table) sheetRead() (string, []string) {
	if t.Format == "csv" || t.Format == "tsv" {
		return "", nil
	}
	return t.Sheet, t.PassedOver
}

// OpenTable opens a department's file for cat: the first sheet (of a workbook) with a
// row, among its first sheet.HeaderSearchRows, that has every required column, with
// aliases (nil: none). A file where no sheet has one is refused naming the best candidate
// row and what it lacks. Errors are *cases.Error (ETooLarge for a limit, else EInvalid).
func OpenTable(path string, cat cases.Category, aliases Aliases) (*Table, error) {
	b, err := sheet.OpenBook(path)
	if err != nil {
		return nil, readErr(err)
	}
	return findTable(b, cat, aliases)
}

func readErr(err error) error {
	if sheet.IsLimit(err) {
		return cases.Errorf(cases.ETooLarge, "%s", err.Error())
	}
	if errors.Is(err, sheet.ErrNotTable) {
		return cases.Errorf(cases.EInvalid, "%s", err.Error())
	}
	return cases.Errorf(cases.EInvalid, "文件无法读取：%s", err.Error())
}

// candidate is the best header row seen so far, for the refusal.
type candidate struct {
	sheet   string
	row     int
	found   int
	missing []string
}

func findTable(b *sheet.Book, cat cases.Category, aliases Aliases) (*Table, error) {
	var best candidate
	var passed []string
	for i, name := range b.Sheets() {
		r, err := b.Sheet(i)
		if err != nil {
			b.Close()
			return nil, readErr(err)
		}
		var place Placement
		ok, err := r.FindHeader(func(cells []string, row int) bool {
			p := Place(cells, cat, aliases)
			if p.Found > best.found || best.row == 0 {
				best = candidate{sheet: name, row: row, found: p.Found, missing: p.Missing}
			}
			place = p
			return p.Matches()
		})
		if err != nil {
			b.Close()
			return nil, readErr(err)
		}
		if ok {
			return &Table{Reader: r, book: b, Placement: place, PassedOver: passed, Format: b.Format}, nil
		}
		passed = append(passed, name)
	}
	b.Close()
	return nil, cases.Errorf(cases.EInvalid, "%s", noHeaderMessage(b.Format, best, cat))
}

func noHeaderMessage(format string, best candidate, cat cases.Category) string {
	where := ""
	if format == "xlsx" || format == "xls" {
		where = fmt.Sprintf("工作表“%s”", best.sheet)
	}
	if best.row == 0 || best.found == 0 {
		return fmt.Sprintf("文件%s前 %d 行中没有找到表头：%s类文件的表头应有 %s 这些列",
			where, sheet.HeaderSearchRows, cat.Label(), strings.Join(RequiredColumnsOf(cat), "、"))
	}
	return fmt.Sprintf("没有找到完整的表头：最接近的是%s第 %d 行，%s", where, best.row, MissingError(best.missing))
}

// MatchCategory says which of cats the file's header is for: the one category whose header
// some sheet of the file matches (with aliases). It returns an error when none or several
// match; then ask the sender.
func MatchCategory(path string, cats []cases.Category, aliases Aliases) (cases.Category, error) {
	hits, err := matchCategories(path, cats, aliases)
	if err != nil {
		return "", err
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return "", cases.Errorf(cases.EInvalid, "文件的表头不像本部门任何一类预警的表头（%s），请选择类别", categoryList(cats))
	}
	return "", cases.Errorf(cases.EInvalid, "文件的表头同时符合 %s，请选择类别", categoryList(hits))
}

// matchCategories opens the file once (a workbook's shared strings are read once) and
// tries each category on the first rows of each sheet.
func matchCategories(path string, cats []cases.Category, aliases Aliases) ([]cases.Category, error) {
	b, err := sheet.OpenBook(path)
	if err != nil {
		return nil, readErr(err)
	}
	defer b.Close()
	hit := make([]bool, len(cats))
	for i := range b.Sheets() {
		r, err := b.Sheet(i)
		if err != nil {
			return nil, readErr(err)
		}
		var rows [][]string
		if _, err := r.FindHeader(func(cells []string, _ int) bool {
			rows = append(rows, append([]string(nil), cells...))
			return false
		}); err != nil {
			return nil, readErr(err)
		}
		for j, c := range cats {
			for _, row := range rows {
				if !hit[j] && Place(row, c, aliases).Matches() {
					hit[j] = true
				}
			}
		}
	}
	var out []cases.Category
	for j, c := range cats {
		if hit[j] {
			out = append(out, c)
		}
	}
	return out, nil
}

// Inspect reads the header of the file at path for cat without importing: where it is and
// how it places, with the best candidate row when it does not match (the columns it lacks
// in Missing). A card asking the liaison to place columns is built from it.
func Inspect(path string, cat cases.Category, aliases Aliases) (Inspection, error) {
	b, err := sheet.OpenBook(path)
	if err != nil {
		return Inspection{}, readErr(err)
	}
	defer b.Close()
	var best Inspection
	for i, name := range b.Sheets() {
		r, err := b.Sheet(i)
		if err != nil {
			return Inspection{}, readErr(err)
		}
		ok, err := r.FindHeader(func(cells []string, row int) bool {
			p := Place(cells, cat, aliases)
			if best.Row == 0 || p.Found > best.Placement.Found {
				hdr := make([]string, len(cells))
				for j, c := range cells {
					hdr[j] = sheet.NormalizeHeader(c)
				}
				best = Inspection{Sheet: name, Row: row, Header: hdr, Placement: p}
			}
			return p.Matches()
		})
		if err != nil {
			return Inspection{}, readErr(err)
		}
		if ok {
			best.Matched = true
			return best, nil
		}
	}
	return best, nil
}

// Inspection is what Inspect found.
type Inspection struct {
	Sheet     string
	Row       int      // the header's (or best candidate's) row number; 0 if the file has none
	Header    []string // that row's cells, as written
	Placement Placement
	Matched   bool
}

// rowKind tells a total or footer line after the data from a data row.
func skippedRow(rec []string) bool {
	for i := 0; i < len(rec) && i < 3; i++ {
		if totalCell(rec[i]) {
			return true
		}
	}
	for _, c := range rec {
		if c == "" {
			continue
		}
		return footerCell(c)
	}
	return false
}

// markers of a total row (in one of its first three cells) and of a footer line (its first
// non-empty cell).
var (
	totalWords  = []string{"合计", "总计", "小计"}
	footerWords = []string{"制表人", "制表", "审核人", "负责人", "填表人", "填报人", "填表日期", "制表日期", "联系电话", "备注", "注:", "注：", "说明:", "说明："}
)

// totalCell: 合计, 总计 or 小计 at the start of a cell, spaces inside allowed (合  计).
// Every row is asked, so the cell's first character decides for nearly all of them.
func totalCell(c string) bool {
	switch firstRune(c) {
	case '合', '总', '小':
		return hasWordPrefix(strings.TrimLeft(c, " \u3000"), totalWords)
	}
	return false
}

func footerCell(c string) bool {
	switch firstRune(c) {
	case '制', '审', '负', '填', '联', '备', '注', '说':
		return hasWordPrefix(strings.TrimLeft(c, " \u3000"), footerWords)
	}
	return false
}

// firstRune is the first character of c after spaces; an ASCII first byte (序号, amounts)
// is answered without decoding.
func firstRune(c string) rune {
	for i := 0; i < len(c); {
		if c[i] < utf8.RuneSelf {
			if c[i] == ' ' {
				i++
				continue
			}
			return rune(c[i])
		}
		r, n := utf8.DecodeRuneInString(c[i:])
		if r != '\u3000' {
			return r
		}
		i += n
	}
	return 0
}

// hasWordPrefix reports whether s starts with one of words, spaces between its characters
// ignored.
func hasWordPrefix(s string, words []string) bool {
	for _, w := range words {
		i := 0
		ok := true
		for _, wr := range w {
			for i < len(s) && (s[i] == ' ' || strings.HasPrefix(s[i:], "\u3000")) {
				if s[i] == ' ' {
					i++
				} else {
					i += len("\u3000")
				}
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if n == 0 || r != wr {
				ok = false
				break
			}
			i += n
		}
		if ok {
			return true
		}
	}
	return false
}
