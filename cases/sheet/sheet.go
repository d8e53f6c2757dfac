// Package sheet reads the tables people in the county actually have: CSV in UTF-8 (with or
// without BOM) or GBK, as Excel in China writes it, and XLSX (first sheet). Rows stream one
// at a time, so a file of a million rows never sits in memory, and every limit of docs/limits.md
// (limits.go) is checked as the bytes arrive: a zip bomb, an endless line or a huge cell is
// refused with a *LimitError naming the limit, in bounded memory.
package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	gounicode "unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Reader yields a table's rows after its header.
type Reader struct {
	header []string
	next   func() ([]string, error)
	close  func() error
	row    int // the file's row number of the last row returned (header = 1)
	// uncomputed lists the columns (0-based) of the last row read whose formula has no
	// saved result; nil for formats that always save one.
	uncomputed func() []int
	// Encoding is "utf-8", "utf-16", "gbk", "xlsx" or "xls".
	Encoding string
	// Sheet is the workbook sheet's name ("" for CSV and text files).
	Sheet string
	// HeaderRow is the header's row number in the file.
	HeaderRow int
	sep       byte // a text file's separator
}

// Open reads the file at path; the format is recognised by its content, not its name.
// The header is the first non-blank row of the first sheet. The limits of limits.go apply:
// a file over MaxFileBytes is refused before it is read.
func Open(path string) (*Reader, error) {
	b, err := OpenBook(path)
	if err != nil {
		return nil, err
	}
	return firstSheet(b)
}

// New reads a table from r like Open. A workbook needs random access, so an XLSX or XLS is
// held in memory (at most MaxFileBytes); CSV streams.
func New(r io.Reader) (*Reader, error) {
	b, err := NewBook(r, "")
	if err != nil {
		return nil, err
	}
	return firstSheet(b)
}

func firstSheet(b *Book) (*Reader, error) {
	r, err := b.Sheet(0)
	if err != nil {
		b.Close()
		return nil, err
	}
	r.close = b.Close
	if err := r.readHeader(); err != nil {
		b.Close()
		return nil, err
	}
	return r, nil
}

// newCSV reads comma- or tab-separated text in UTF-8 (BOM or not) or GBK. The separator
// is the one the first line uses most (WPS's 文本文件 is tab-separated, whatever its name).
func newCSV(raw io.Reader) (*Reader, error) {
	pre := bufio.NewReaderSize(raw, 64<<10)
	sample, err := pre.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		if IsLimit(err) {
			return nil, err
		}
		return nil, fmt.Errorf("读取文件失败：%w", err)
	}
	wide := ""
	if le, be := bytes.HasPrefix(sample, []byte{0xFF, 0xFE}), bytes.HasPrefix(sample, []byte{0xFE, 0xFF}); le || be {
		// Excel's "Unicode 文本" is UTF-16 with a BOM: decoded first, so that the line guard
		// and everything after it see UTF-8, as for any other text.
		order := unicode.LittleEndian
		if be {
			order = unicode.BigEndian
		}
		pre = bufio.NewReaderSize(transform.NewReader(pre, unicode.UTF16(order, unicode.ExpectBOM).NewDecoder()), 64<<10)
		if sample, err = pre.Peek(64 << 10); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			if IsLimit(err) {
				return nil, err
			}
			return nil, fmt.Errorf("读取文件失败：%w", err)
		}
		wide = "utf-16"
	}
	bom := bytes.HasPrefix(sample, []byte("\xef\xbb\xbf"))
	gbk := !bom && !validUTF8Prefix(sample)
	if !looksLikeText(sample, gbk) {
		return nil, ErrNotTable
	}
	sep := separatorOf(sample)
	guard := newLineGuard(pre)
	guard.sep = sep
	br := bufio.NewReaderSize(guard, 64<<10)
	var src io.Reader = br
	enc := "utf-8"
	if wide != "" {
		enc = wide
	}
	if bom {
		br.Discard(3)
	} else if gbk {
		// GB18030 is a superset of GBK and GB2312; Excel's "CSV" in a Chinese locale is GBK.
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
		enc = "gbk"
	}
	cr := csv.NewReader(src)
	cr.Comma = rune(sep)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	rd := &Reader{Encoding: enc, sep: sep}
	rows := 0
	lastLine := 0 // the line the previous record ended on
	rd.next = func() ([]string, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && !IsLimit(err) {
				return nil, fmt.Errorf("第 %d 行无法按 CSV 读取：%v", pe.Line, pe.Err)
			}
			var le *LimitError
			if errors.As(err, &le) {
				return nil, le
			}
			return nil, err
		}
		rows++
		if rows > MaxRows {
			return nil, errTooManyRows()
		}
		line, _ := cr.FieldPos(0)
		// encoding/csv passes over empty lines; a spreadsheet shows each as a row, and row
		// numbers are the file's own.
		if line > lastLine+1 {
			rd.row += line - lastLine - 1
		}
		end, _ := cr.FieldPos(len(rec) - 1)
		lastLine = end + strings.Count(rec[len(rec)-1], "\n")
		return checkRecord(rec, line)
	}
	return rd, nil
}

// separatorOf is tab when the first line has more tabs than commas, else comma.
func separatorOf(sample []byte) byte {
	line := sample
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if tabs := bytes.Count(line, []byte{'\t'}); tabs > 0 && tabs > bytes.Count(line, []byte{','}) {
		return '\t'
	}
	return ','
}

// looksLikeText refuses bytes that no table-saving program writes as text: control
// characters other than tab and line ends, or bytes that are neither UTF-8 nor GB18030.
func looksLikeText(sample []byte, gbk bool) bool {
	if len(sample) == 0 {
		return true
	}
	for _, c := range sample {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f' {
			return false
		}
		if c == 0x7f {
			return false
		}
	}
	if !gbk {
		return true
	}
	dec, _, err := transform.Bytes(simplifiedchinese.GB18030.NewDecoder(), sample)
	if err != nil {
		return false
	}
	// A cut multi-byte character at the sample's end decodes as one replacement, and a stray
	// byte in a clerk's file is no reason to refuse it; binary data is mostly replacements.
	return bytes.Count(dec, []byte("\ufffd")) <= 1+utf8.RuneCount(dec)/100
}

// checkRecord refuses a CSV record with a non-empty cell right of MaxColumns or a cell
// over MaxCellChars; empty cells beyond MaxColumns (a spreadsheet's trailing commas) are
// dropped.
func checkRecord(rec []string, line int) ([]string, error) {
	for i, v := range rec {
		if v == "" {
			continue
		}
		if i >= MaxColumns {
			return nil, errTooManyColumns(line)
		}
		if len(v) > MaxCellChars && utf8.RuneCountInString(v) > MaxCellChars {
			return nil, errCellTooLong(line, i+1)
		}
	}
	if len(rec) > MaxColumns {
		rec = rec[:MaxColumns]
	}
	return rec, nil
}

// validUTF8Prefix is utf8.Valid that forgives a rune cut at the end of the sample.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

func (r *Reader) readHeader() error {
	for {
		rec, err := r.next()
		if errors.Is(err, io.EOF) {
			return errors.New("文件是空的，没有表头")
		}
		if err != nil {
			return err
		}
		r.row++
		if blank(rec) {
			continue
		}
		r.setHeader(rec)
		return nil
	}
}

func (r *Reader) setHeader(rec []string) {
	r.header = make([]string, len(rec))
	for i, h := range rec {
		r.header[i] = NormalizeHeader(h)
	}
	r.HeaderRow = r.row
}

// HeaderSearchRows is how far down a file its header is looked for: titles, a unit line
// and blank rows may stand above it.
const HeaderSearchRows = 20

// FindHeader reads the first HeaderSearchRows rows and takes as the header the first
// non-blank one that accept takes (cells are only valid during the call; row is the
// file's row number). The rows above it are passed over. found is false when no row was
// taken; the reader is then spent.
func (r *Reader) FindHeader(accept func(cells []string, row int) bool) (found bool, err error) {
	for r.row < HeaderSearchRows {
		rec, err := r.next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		r.row++
		if blank(rec) {
			continue
		}
		if accept(rec, r.row) {
			r.setHeader(rec)
			return true, nil
		}
	}
	return false, nil
}

// Uncomputed lists the columns (0-based) of the row Next returned last whose cell is a
// formula saved without its result (a system's export that Excel never calculated).
func (r *Reader) Uncomputed() []int {
	if r.uncomputed == nil {
		return nil
	}
	return r.uncomputed()
}

// NormalizeHeader trims spaces (ASCII and full-width) and a stray BOM from a column name.
func NormalizeHeader(h string) string {
	return strings.TrimSpace(strings.Trim(h, "\ufeff\u3000 \t"))
}

// Header is the first non-blank row, normalised.
func (r *Reader) Header() []string { return r.header }

// Next returns the next non-blank row and its row number in the file; io.EOF at the end.
// The slice is reused by the following call.
func (r *Reader) Next() ([]string, int, error) {
	for {
		rec, err := r.next()
		if err != nil {
			return nil, r.row + 1, err
		}
		r.row++
		if !blank(rec) {
			return rec, r.row, nil
		}
	}
}

// Close releases the file.
func (r *Reader) Close() error {
	if r.close != nil {
		return r.close()
	}
	return nil
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// Columns maps the names a reader needs to their index in the header. Missing required
// columns are reported together, in Chinese, naming each.
func Columns(header []string, required, optional []string) (map[string]int, error) {
	idx := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := idx[h]; !dup && h != "" {
			idx[h] = i
		}
	}
	var missing []string
	out := map[string]int{}
	for _, c := range required {
		i, ok := idx[c]
		if !ok {
			missing = append(missing, "“"+c+"”")
			continue
		}
		out[c] = i
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("表头缺少必需的列：%s", strings.Join(missing, "、"))
	}
	for _, c := range optional {
		if i, ok := idx[c]; ok {
			out[c] = i
		}
	}
	return out, nil
}

// Cell returns the trimmed value of column name in rec, or "" if absent.
func Cell(rec []string, cols map[string]int, name string) string {
	i, ok := cols[name]
	if !ok {
		return ""
	}
	return CellAt(rec, i)
}

// CellAt is Cell by the column's index (Index), for a reader that looks the columns up
// once rather than for every row: -1 (a missing optional column) reads as "".
func CellAt(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return trimCell(rec[i])
}

// trimCell is the cell without the spaces around it, full-width (U+3000) and other Unicode
// spaces included. Most cells have none, and most of a registry's begin or end with a Chinese
// character, where strings.TrimSpace leaves its ASCII fast path for a rune-by-rune scan of
// both ends: looking at the two end runes first spares that for a county's million cells.
func trimCell(s string) string {
	if s == "" {
		return s
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if !uniSpace(first) && !uniSpace(last) {
		return s
	}
	return strings.TrimSpace(s) // U+3000 is a Unicode space: TrimSpace trims it too
}

func uniSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || '\t' <= r && r <= '\r'
	}
	return gounicode.IsSpace(r)
}

// Index is the column's index in cols, or -1 when the file has no such column.
func Index(cols map[string]int, name string) int {
	if i, ok := cols[name]; ok {
		return i
	}
	return -1
}
