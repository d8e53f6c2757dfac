// Package sheet reads the tables people in the county actually have: CSV in UTF-8 (with or
// without BOM) or GBK, as Excel in China writes it, and XLSX (first sheet). Rows stream one
// at a time, so a file of a million rows never sits in memory, and every limit of spec §14
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
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Reader yields a table's rows after its header.
type Reader struct {
	header []string
	next   func() ([]string, error)
	close  func() error
	row    int // the file's row number of the last row returned (header = 1)
	// Encoding is "utf-8", "gbk" or "xlsx".
	Encoding string
}

// Open reads the file at path; XLSX is recognised by its zip signature, not its name.
// The limits of limits.go apply: a file over MaxFileBytes is refused before it is read.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("打开文件失败：%w", err)
	}
	r, err := openFile(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	inner := r.close
	r.close = func() error {
		if inner != nil {
			inner()
		}
		return f.Close()
	}
	return r, nil
}

func openFile(f *os.File) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("读取文件失败：%w", err)
	}
	if st.Size() > MaxFileBytes {
		return nil, ErrFileTooLarge
	}
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	if bytes.HasPrefix(head[:n], []byte("PK\x03\x04")) {
		return newXLSX(f, st.Size())
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("读取文件失败：%w", err)
	}
	return newCSV(&sizeGuard{r: f, max: MaxFileBytes})
}

// New reads a table from r, with the limits of limits.go. XLSX needs random access, so
// an XLSX is held in memory (at most MaxFileBytes); CSV streams.
func New(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(&sizeGuard{r: r, max: MaxFileBytes}, 64<<10)
	head, _ := br.Peek(4)
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		b, err := io.ReadAll(br)
		if err != nil {
			if IsLimit(err) {
				return nil, err
			}
			return nil, fmt.Errorf("读取文件失败：%w", err)
		}
		return newXLSX(bytes.NewReader(b), int64(len(b)))
	}
	return newCSV(br)
}

func newCSV(raw io.Reader) (*Reader, error) {
	guard := newLineGuard(raw)
	br := bufio.NewReaderSize(guard, 64<<10)
	sample, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		if IsLimit(err) {
			return nil, err
		}
		return nil, fmt.Errorf("读取文件失败：%w", err)
	}
	var src io.Reader = br
	enc := "utf-8"
	if bytes.HasPrefix(sample, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	} else if !validUTF8Prefix(sample) {
		// GB18030 is a superset of GBK and GB2312; Excel's "CSV" in a Chinese locale is GBK.
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
		enc = "gbk"
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	rd := &Reader{Encoding: enc}
	rows := 0
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
		return checkRecord(rec, line)
	}
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	return rd, nil
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
		r.header = make([]string, len(rec))
		for i, h := range rec {
			r.header[i] = NormalizeHeader(h)
		}
		return nil
	}
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
	return strings.TrimSpace(strings.Trim(rec[i], "\u3000"))
}

// Index is the column's index in cols, or -1 when the file has no such column.
func Index(cols map[string]int, name string) int {
	if i, ok := cols[name]; ok {
		return i
	}
	return -1
}
