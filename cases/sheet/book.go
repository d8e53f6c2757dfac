package sheet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotTable refuses a file that is none of the formats read here (a WPS .et, a Word
// document, a PDF, a picture, random bytes).
var ErrNotTable = errors.New("文件不是可以读取的表格（可以读取 .xlsx、.xls、.csv 和制表符分隔的 .txt），请在 Excel 或 WPS 中打开，另存为 .xlsx 后重发")

// Book is an opened file: a workbook's sheets, or the one table of a CSV or text file.
type Book struct {
	// Format is "xlsx", "xls", "csv" or "tsv".
	Format string
	names  []string
	open   func(i int) (*Reader, error)
	close  func() error
}

// Sheets names the workbook's sheets in their order (one "" for CSV and text).
func (b *Book) Sheets() []string { return b.names }

// Sheet opens sheet i for reading from its first row; no header is taken yet (see
// FindHeader). A CSV's one table can be opened once.
func (b *Book) Sheet(i int) (*Reader, error) {
	if i < 0 || i >= len(b.names) {
		return nil, fmt.Errorf("没有第 %d 个工作表", i+1)
	}
	r, err := b.open(i)
	if err != nil {
		return nil, err
	}
	r.Sheet = b.names[i]
	return r, nil
}

// Close releases the file.
func (b *Book) Close() error {
	if b.close != nil {
		return b.close()
	}
	return nil
}

// refusedExtensions are formats people send that are not tables this reader takes; the
// content would say the same, the name says it sooner and more precisely.
var refusedExtensions = map[string]string{
	".et":      "WPS 表格（.et）",
	".ett":     "WPS 表格模板（.ett）",
	".xlsb":    "Excel 二进制工作簿（.xlsb）",
	".ods":     "OpenDocument 表格（.ods）",
	".numbers": "Numbers 表格",
	".doc":     "Word 文档", ".docx": "Word 文档", ".wps": "WPS 文字文档", ".pdf": "PDF 文件",
	".jpg": "图片", ".jpeg": "图片", ".png": "图片", ".gif": "图片", ".bmp": "图片",
	".zip": "压缩包", ".rar": "压缩包", ".7z": "压缩包",
}

// RefuseName is the refusal of a file whose name (as sent) says it is not a table read
// here (WPS .et, Word, PDF, a picture); nil for any other name.
func RefuseName(name string) error { return refuseByName(name) }

func refuseByName(name string) error {
	ext := strings.ToLower(filepath.Ext(name))
	if what, ok := refusedExtensions[ext]; ok {
		return fmt.Errorf("收到的是%s，不是可以读取的表格，请在 Excel 或 WPS 中打开，另存为 .xlsx 后重发", what)
	}
	return nil
}

// OpenError says in Chinese why a file could not be opened — not there, not readable. The
// message is all a person reads; err stays wrapped (errors.Is, the logs).
func OpenError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &openError{fmt.Sprintf("找不到文件“%s”，请核对路径和文件名", path), err}
	case errors.Is(err, fs.ErrPermission):
		return &openError{fmt.Sprintf("没有权限读取文件“%s”，请检查文件的权限", path), err}
	}
	return fmt.Errorf("打开文件失败：%w", err)
}

type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

// OpenBook opens the file at path. The format is told by the content (a zip is an XLSX, an
// OLE2 container an .xls, text is CSV or tab-separated), not by the name; a name that says
// WPS .et, Word, PDF or a picture is refused at once, and so is any other content.
func OpenBook(path string) (*Book, error) {
	if err := refuseByName(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, OpenError(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("读取文件失败：%w", err)
	}
	if st.Size() > MaxFileBytes {
		f.Close()
		return nil, ErrFileTooLarge
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	var b *Book
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		b, err = newXLSXBook(f, st.Size())
	case bytes.HasPrefix(head, oleMagic):
		b, err = newXLSBook(f, st.Size())
	default:
		if _, err = f.Seek(0, io.SeekStart); err == nil {
			b, err = newTextBook(&sizeGuard{r: f, max: MaxFileBytes})
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	inner := b.close
	b.close = func() error {
		if inner != nil {
			inner()
		}
		return f.Close()
	}
	return b, nil
}

// NewBook reads a file from r like OpenBook; name (may be empty) is the file's name as
// sent. A workbook is held in memory (at most MaxFileBytes) for random access; text streams.
func NewBook(r io.Reader, name string) (*Book, error) {
	if err := refuseByName(name); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(&sizeGuard{r: r, max: MaxFileBytes}, 64<<10)
	head, _ := br.Peek(8)
	zipped, ole := bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, oleMagic)
	if !zipped && !ole {
		return newTextBook(br)
	}
	data, err := io.ReadAll(br)
	if err != nil {
		if IsLimit(err) {
			return nil, err
		}
		return nil, fmt.Errorf("读取文件失败：%w", err)
	}
	if zipped {
		return newXLSXBook(bytes.NewReader(data), int64(len(data)))
	}
	return newXLSBook(bytes.NewReader(data), int64(len(data)))
}

func newTextBook(r io.Reader) (*Book, error) {
	rd, err := newCSV(r)
	if err != nil {
		return nil, err
	}
	format := "csv"
	if rd.sep == '\t' {
		format = "tsv"
	}
	used := false
	return &Book{Format: format, names: []string{""}, open: func(int) (*Reader, error) {
		if used {
			return nil, errors.New("文本表格只能读取一次")
		}
		used = true
		return rd, nil
	}}, nil
}

func newXLSBook(r io.ReaderAt, size int64) (*Book, error) {
	x, err := openXLS(r, size)
	if err != nil {
		if errors.Is(err, errNotOLE) {
			return nil, fmt.Errorf("%w；请在 Excel 或 WPS 中打开，另存为 .xlsx 后重发", err)
		}
		return nil, err
	}
	b := &Book{Format: "xls"}
	for _, s := range x.sheets {
		b.names = append(b.names, s.name)
	}
	b.open = func(i int) (*Reader, error) {
		rows, err := x.sheet(i)
		if err != nil {
			return nil, err
		}
		return &Reader{Encoding: "xls", next: rows.next}, nil
	}
	return b, nil
}
