package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The XLSX reader reads only what a table needs (the workbook's first sheet and the
// shared strings) straight from the zip as a stream, with every limit of limits.go checked
// as it goes: the zip's directory and declared sizes before anything is inflated, the
// inflated bytes while they are read, each XML token and the nesting, and the
// shared-string table it keeps. Values are the cells' raw values, as Excel stores them:
// numbers keep their digits and dates arrive as serial numbers (see ExcelDate).

var errNotXLSX = errors.New("不是有效的 Excel（XLSX）文件")

// saveAsAdvice adds what to do to a refusal of a zip that is no workbook (a .docx, a
// damaged file).
func saveAsAdvice(err error) error {
	if errors.Is(err, errNotXLSX) {
		return fmt.Errorf("%w；请在 Excel 或 WPS 中打开，另存为 .xlsx 后重发", err)
	}
	return err
}

// xlsxBook is an opened workbook.
type xlsxBook struct {
	zr       *zip.Reader
	files    map[string]*zip.File // by lower-case name
	unpacked int64                // bytes inflated so far, all parts together
}

func openBook(r io.ReaderAt, size int64) (*xlsxBook, error) {
	if size > MaxFileBytes {
		return nil, ErrFileTooLarge
	}
	dir, err := zipDirectorySize(r, size)
	if err != nil {
		return nil, err
	}
	if dir > MaxZipDirectoryBytes {
		return nil, limitf("Excel 文件的部件目录超过 %s 的上限，文件不像是 Excel 保存的，已拒绝", zipDirectoryText)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w：%v", errNotXLSX, err)
	}
	b := &xlsxBook{zr: zr, files: make(map[string]*zip.File, len(zr.File))}
	var declared uint64
	for _, f := range zr.File {
		if f.UncompressedSize64 > MaxUnpackedBytes || declared+f.UncompressedSize64 > MaxUnpackedBytes {
			return nil, limitf("Excel 文件解压后超过 %s 的上限，%s分别导入", unpackedLimitText, tooLargeFileAdvice)
		}
		declared += f.UncompressedSize64
		b.files[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(f.Name, "\\", "/"), "/"))] = f
	}
	return b, nil
}

// zipDirectorySize reads the size of the zip's central directory from its end record (and
// the zip64 one), before archive/zip allocates an entry for each part listed there.
func zipDirectorySize(r io.ReaderAt, size int64) (uint64, error) {
	const eocdLen, zip64LocLen = 22, 20
	tail := min(size, 65535+eocdLen+zip64LocLen)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("读取文件失败：%w", err)
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < eocdLen {
		return 0, errNotXLSX
	}
	eocd := buf[i:]
	records := binary.LittleEndian.Uint16(eocd[10:])
	dirSize := uint64(binary.LittleEndian.Uint32(eocd[12:]))
	dirOff := binary.LittleEndian.Uint32(eocd[16:])
	if records != 0xFFFF && dirSize != 0xFFFFFFFF && dirOff != 0xFFFFFFFF {
		return dirSize, nil
	}
	// zip64: the locator sits right before the end record and points at the zip64 end record.
	if i < zip64LocLen || !bytes.HasPrefix(buf[i-zip64LocLen:], []byte("PK\x06\x07")) {
		return 0, errNotXLSX
	}
	off := int64(binary.LittleEndian.Uint64(buf[i-zip64LocLen+8:]))
	rec := make([]byte, 56)
	if off < 0 || off > size-56 {
		return 0, errNotXLSX
	}
	if _, err := r.ReadAt(rec, off); err != nil || !bytes.HasPrefix(rec, []byte("PK\x06\x06")) {
		return 0, errNotXLSX
	}
	return binary.LittleEndian.Uint64(rec[40:]), nil
}

// open returns the part called name (case-insensitive), or nil if the zip has none.
func (b *xlsxBook) open(name string) (*partReader, error) {
	f := b.files[strings.ToLower(strings.TrimPrefix(name, "/"))]
	if f == nil {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w：无法打开 %s：%v", errNotXLSX, f.Name, err)
	}
	return &partReader{rc: rc, f: f, book: b}, nil
}

// partReader inflates one part, counting the bytes: no more than the zip declared for the
// part (a header that lies about its size does not help) and no more than
// MaxUnpackedBytes for all parts together.
type partReader struct {
	rc   io.ReadCloser
	f    *zip.File
	book *xlsxBook
	n    uint64
}

func (p *partReader) Read(b []byte) (int, error) {
	n, err := p.rc.Read(b)
	p.n += uint64(n)
	p.book.unpacked += int64(n)
	switch {
	// archive/zip answers ErrFormat while reading only when the part inflates past its
	// declared size (a part that ends short is io.ErrUnexpectedEOF).
	case p.n > p.f.UncompressedSize64 || errors.Is(err, zip.ErrFormat):
		return 0, limitf("Excel 文件的部件 %s 解压后比它声明的 %d 字节更大，文件已损坏或被改动过，已拒绝",
			p.f.Name, p.f.UncompressedSize64)
	case p.book.unpacked > MaxUnpackedBytes:
		return 0, limitf("Excel 文件解压后超过 %s 的上限，%s分别导入", unpackedLimitText, tooLargeFileAdvice)
	case errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat):
		return 0, fmt.Errorf("%w：%s 已损坏（%v）", errNotXLSX, p.f.Name, err)
	}
	return n, err
}

func (p *partReader) Close() error { return p.rc.Close() }

// xmlStream reads a part's XML token by token, refusing a single token (a tag or a text
// run) over MaxLineBytes and nesting deeper than maxXMLDepth, so memory stays bounded
// whatever the part holds.
type xmlStream struct {
	dec   *xml.Decoder
	in    *tokenGuard
	part  string
	depth int
}

type tokenGuard struct {
	r       io.Reader
	n, mark int64
	part    string
	// limit is the refusal met while reading, kept because encoding/xml may report a
	// syntax error of its own (a rune cut short) instead of the reader's error.
	limit error
}

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.limit != nil {
		return 0, g.limit
	}
	if g.n-g.mark > MaxLineBytes {
		g.limit = limitf("Excel 文件的部件 %s 中有一段超过 %s 的内容（单元格上限是 %s），已拒绝", g.part, lineLimitText, cellLimitText)
		return 0, g.limit
	}
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if err != nil && IsLimit(err) {
		g.limit = err
	}
	return n, err
}

func newXMLStream(r io.Reader, part string) *xmlStream {
	g := &tokenGuard{r: r, part: part}
	dec := xml.NewDecoder(g)
	dec.Strict = false // as Excel reads: an unknown entity does not end the sheet
	return &xmlStream{dec: dec, in: g, part: part}
}

// next returns the next token; CharData is only valid until the following call.
func (s *xmlStream) next() (xml.Token, error) {
	s.in.mark = s.in.n
	t, err := s.dec.RawToken()
	if err != nil {
		if s.in.limit != nil {
			return nil, s.in.limit
		}
		if IsLimit(err) || errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, fmt.Errorf("%w：%s 的 XML 有误：%v", errNotXLSX, s.part, err)
	}
	switch t := t.(type) {
	case xml.StartElement:
		s.depth++
		if s.depth > maxXMLDepth {
			return nil, limitf("Excel 文件的部件 %s 的 XML 嵌套超过 %s 的上限，已拒绝", s.part, xmlDepthLimitText)
		}
	case xml.EndElement:
		s.depth--
	case xml.Directive:
		// A DOCTYPE has no place in OOXML; refusing it keeps entity tricks out.
		if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
			return nil, fmt.Errorf("%w：%s 含有 DOCTYPE", errNotXLSX, s.part)
		}
	}
	return t, nil
}

func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// relationship is one entry of a .rels part.
type relationship struct{ id, typ, target string }

// readRels reads the relationships of part (its _rels/NAME.rels), nil if there are none.
func (b *xlsxBook) readRels(part string) ([]relationship, error) {
	dir, file := path.Split(part)
	name := dir + "_rels/" + file + ".rels"
	pr, err := b.open(name)
	if err != nil || pr == nil {
		return nil, err
	}
	defer pr.Close()
	s := newXMLStream(pr, name)
	var rels []relationship
	for {
		t, err := s.next()
		if errors.Is(err, io.EOF) {
			return rels, nil
		}
		if err != nil {
			return nil, err
		}
		if e, ok := t.(xml.StartElement); ok && e.Name.Local == "Relationship" {
			if len(rels) >= 10000 {
				return nil, fmt.Errorf("%w：%s 的关系过多", errNotXLSX, name)
			}
			target := attr(e, "Target")
			if !strings.HasPrefix(target, "/") {
				target = path.Join(dir, target)
			}
			rels = append(rels, relationship{id: attr(e, "Id"), typ: attr(e, "Type"), target: strings.TrimPrefix(target, "/")})
		}
	}
}

// xlsxParts is what a workbook's parts say about reading it.
type xlsxParts struct {
	sheets          []xlsxSheetRef
	sstPart, styles string
	date1904        bool
}

type xlsxSheetRef struct{ name, part string }

// maxSheets bounds the sheets a workbook may list.
const maxSheets = 4096

// parts finds the workbook part, its sheets' parts in order, and the shared strings and
// styles parts.
func (b *xlsxBook) parts() (xlsxParts, error) {
	var out xlsxParts
	workbook := "xl/workbook.xml"
	rootRels, err := b.readRels("")
	if err != nil {
		return out, err
	}
	for _, r := range rootRels {
		if strings.HasSuffix(r.typ, "/officeDocument") {
			workbook = r.target
		}
	}
	pr, err := b.open(workbook)
	if err != nil {
		return out, err
	}
	if pr == nil {
		return out, fmt.Errorf("%w：缺少工作簿 %s", errNotXLSX, workbook)
	}
	s := newXMLStream(pr, workbook)
	type named struct{ name, rid string }
	var listed []named
	for {
		t, err := s.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			pr.Close()
			return out, err
		}
		e, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		switch e.Name.Local {
		case "workbookPr":
			v := attr(e, "date1904")
			out.date1904 = v == "1" || v == "true"
		case "sheet":
			if len(listed) >= maxSheets {
				pr.Close()
				return out, fmt.Errorf("%w：工作表过多", errNotXLSX)
			}
			rid := "-"
			for _, a := range e.Attr {
				if a.Name.Local == "id" {
					rid = a.Value
				}
			}
			listed = append(listed, named{attr(e, "name"), rid})
		}
	}
	pr.Close()
	if len(listed) == 0 {
		return out, errors.New("Excel 文件中没有工作表")
	}
	rels, err := b.readRels(workbook)
	if err != nil {
		return out, err
	}
	byID := map[string]string{}
	for _, r := range rels {
		switch {
		case strings.HasSuffix(r.typ, "/chartsheet"), strings.HasSuffix(r.typ, "/dialogsheet"):
			// a chart holds no table
		case strings.HasSuffix(r.typ, "/sharedStrings"):
			out.sstPart = r.target
		case strings.HasSuffix(r.typ, "/styles"):
			out.styles = r.target
		default:
			byID[r.id] = r.target
		}
	}
	for _, l := range listed {
		if part := byID[l.rid]; part != "" {
			out.sheets = append(out.sheets, xlsxSheetRef{l.name, part}) // chart sheets have none
		}
	}
	if len(out.sheets) == 0 {
		return out, fmt.Errorf("%w：找不到工作表的内容", errNotXLSX)
	}
	if out.sstPart == "" && b.files["xl/sharedstrings.xml"] != nil {
		out.sstPart = "xl/sharedStrings.xml"
	}
	if out.styles == "" && b.files["xl/styles.xml"] != nil {
		out.styles = "xl/styles.xml"
	}
	return out, nil
}

// readStyles reads which cell styles (cellXfs, by index) show a date.
func (b *xlsxBook) readStyles(part string) ([]bool, error) {
	if part == "" {
		return nil, nil
	}
	pr, err := b.open(part)
	if err != nil || pr == nil {
		return nil, err
	}
	defer pr.Close()
	s := newXMLStream(pr, part)
	custom := map[int]bool{}
	var dates []bool
	inXfs := false
	for {
		t, err := s.next()
		if errors.Is(err, io.EOF) {
			return dates, nil
		}
		if err != nil {
			return nil, err
		}
		switch e := t.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "numFmt":
				if id, err := strconv.Atoi(attr(e, "numFmtId")); err == nil && len(custom) < 65536 {
					custom[id] = isDateFormat(attr(e, "formatCode"))
				}
			case "cellXfs":
				inXfs = true
			case "xf":
				if !inXfs {
					continue
				}
				if len(dates) >= 65536 {
					return nil, fmt.Errorf("%w：单元格格式过多", errNotXLSX)
				}
				id, _ := strconv.Atoi(attr(e, "numFmtId"))
				d, ok := custom[id]
				dates = append(dates, (ok && d) || (!ok && builtinDateFormat(id)))
			}
		case xml.EndElement:
			if e.Name.Local == "cellXfs" {
				inXfs = false
			}
		}
	}
}

// sharedStrings keeps the table in blocks of text (up to 1 MB each), 8 bytes a string
// besides, and never copies it to grow.
type sharedStrings struct {
	blocks [][]byte
	refs   [][]uint64 // chunks of 1<<16: block<<40 | offset<<20 | length
	count  int
	bytes  int64
}

const sstBlock = 1 << 20

func (t *sharedStrings) add(s []byte) error {
	t.bytes += int64(len(s)) + 8
	if t.bytes > MaxSharedStringsBytes {
		return limitf("Excel 文件中的文字（共享字符串表）超过 %s 的上限，%s分别导入", sharedStringsText, tooLargeFileAdvice)
	}
	if n := len(t.blocks); n == 0 || len(t.blocks[n-1])+len(s) > cap(t.blocks[n-1]) {
		// Blocks grow from 64 KB to 1 MB, so a small table costs little.
		size := sstBlock
		if n < 4 {
			size = 64 << 10 << n
		}
		t.blocks = append(t.blocks, make([]byte, 0, max(size, len(s))))
	}
	bi := len(t.blocks) - 1
	off := len(t.blocks[bi])
	t.blocks[bi] = append(t.blocks[bi], s...)
	if t.count&0xFFFF == 0 {
		t.refs = append(t.refs, make([]uint64, 0, 1<<16))
	}
	ci := len(t.refs) - 1
	t.refs[ci] = append(t.refs[ci], uint64(bi)<<40|uint64(off)<<20|uint64(len(s)))
	t.count++
	return nil
}

func (t *sharedStrings) get(i int) (string, bool) {
	if i < 0 || i >= t.count {
		return "", false
	}
	ref := t.refs[i>>16][i&0xFFFF]
	bi, off, n := ref>>40, (ref>>20)&0xFFFFF, ref&0xFFFFF
	return string(t.blocks[bi][off : off+n]), true
}

// readSharedStrings reads the table: each <si>'s text, rich-text runs joined, phonetic
// guides (<rPh>) left out, as Excel shows the cell.
func (b *xlsxBook) readSharedStrings(part string) (*sharedStrings, error) {
	t := &sharedStrings{}
	if part == "" {
		return t, nil
	}
	pr, err := b.open(part)
	if err != nil || pr == nil {
		return t, err
	}
	defer pr.Close()
	s := newXMLStream(pr, part)
	var (
		cur       []byte
		inSI, inT bool
		phonetic  int
	)
	for {
		tok, err := s.next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "si":
				inSI, cur = true, cur[:0]
			case "rPh":
				phonetic++
			case "t":
				inT = inSI && phonetic == 0
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "si":
				inSI = false
				v := unescapeOOXML(cur)
				if err := checkCell(v); err != nil {
					return nil, limitf("Excel 文件的共享字符串第 %d 条超过 %s的单元格上限", t.count+1, cellLimitText)
				}
				if err := t.add(v); err != nil {
					return nil, err
				}
			case "rPh":
				phonetic--
			case "t":
				inT = false
			}
		case xml.CharData:
			if inT {
				cur = append(cur, e...)
				if len(cur) > MaxLineBytes {
					return nil, limitf("Excel 文件的共享字符串第 %d 条超过 %s的单元格上限", t.count+1, cellLimitText)
				}
			}
		}
	}
}

// checkCell reports a value longer than MaxCellChars characters.
func checkCell(v []byte) error {
	if len(v) > MaxCellChars && utf8.RuneCount(v) > MaxCellChars {
		return errors.New("cell too long")
	}
	return nil
}

// unescapeOOXML decodes the _xHHHH_ escapes OOXML uses for control characters
// (_x005F_ is an escaped underscore).
func unescapeOOXML(b []byte) []byte {
	if !bytes.Contains(b, []byte("_x")) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] == '_' && i+7 <= len(b) && b[i+1] == 'x' && b[i+6] == '_' {
			if n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16); err == nil {
				out = utf8.AppendRune(out, rune(n))
				i += 7
				continue
			}
		}
		out = append(out, b[i])
		i++
	}
	return out
}

// xlsxRows streams the rows of a sheet part.
type xlsxRows struct {
	s        *xmlStream
	part     *partReader
	sst      *sharedStrings
	row      int  // the row number last returned
	aheadRow int  // a <row> already read whose number is beyond row+1 (0: none)
	done     bool // the sheet's end was reached
	rec      []string
	text     []byte
	dates    []bool // by style index: a date cell
	style    int    // the style of the cell being read
	date1904 bool
	// uncomputed: the columns (0-based) of the row last read whose formula has no result.
	uncomputed []int
}

func newXLSXBook(r io.ReaderAt, size int64) (*Book, error) {
	b, err := openBook(r, size)
	if err != nil {
		return nil, saveAsAdvice(err)
	}
	parts, err := b.parts()
	if err != nil {
		return nil, saveAsAdvice(err)
	}
	sst, err := b.readSharedStrings(parts.sstPart)
	if err != nil {
		return nil, err
	}
	dates, err := b.readStyles(parts.styles)
	if err != nil {
		return nil, err
	}
	book := &Book{Format: "xlsx"}
	for _, s := range parts.sheets {
		book.names = append(book.names, s.name)
	}
	var open *partReader
	book.close = func() error {
		if open != nil {
			return open.Close()
		}
		return nil
	}
	book.open = func(i int) (*Reader, error) {
		if open != nil {
			open.Close() // one sheet at a time
			open = nil
		}
		part := parts.sheets[i].part
		pr, err := b.open(part)
		if err != nil {
			return nil, err
		}
		if pr == nil {
			return nil, fmt.Errorf("%w：缺少工作表 %s", errNotXLSX, part)
		}
		open = pr
		xr := &xlsxRows{s: newXMLStream(pr, part), part: pr, sst: sst, dates: dates, date1904: parts.date1904}
		return &Reader{Encoding: "xlsx", next: xr.next, uncomputed: func() []int { return xr.uncomputed }}, nil
	}
	return book, nil
}

// next returns the next row of the sheet; a row the sheet leaves out is an empty one, so
// row numbers stay the sheet's own.
func (x *xlsxRows) next() ([]string, error) {
	if x.aheadRow == 0 && !x.done {
		if err := x.skipToRow(); err != nil {
			return nil, err
		}
	}
	if x.aheadRow == 0 {
		return nil, io.EOF
	}
	x.row++
	x.rec = x.rec[:0]
	x.uncomputed = x.uncomputed[:0]
	if x.aheadRow > x.row {
		return x.rec, nil // a row the sheet leaves out
	}
	x.aheadRow = 0
	if err := x.readCells(x.row); err != nil {
		return nil, err
	}
	return x.rec, nil
}

// skipToRow reads up to the next <row> and notes its number in aheadRow; at the end of
// the sheet it sets done.
func (x *xlsxRows) skipToRow() error {
	for {
		t, err := x.s.next()
		if errors.Is(err, io.EOF) {
			x.done = true
			return nil
		}
		if err != nil {
			return err
		}
		if e, ok := t.(xml.StartElement); ok && e.Name.Local == "row" {
			n := x.row + 1
			if r := attr(e, "r"); r != "" {
				v, err := strconv.Atoi(strings.TrimSpace(r))
				if err != nil || v < 1 {
					return fmt.Errorf("%w：第 %d 行的行号“%s”无效", errNotXLSX, n, r)
				}
				if v > MaxRows {
					return errTooManyRows()
				}
				n = max(v, n) // rows out of order are read in the order they come
			}
			if n > MaxRows {
				return errTooManyRows()
			}
			x.aheadRow = n
			return nil
		}
	}
}

// readCells reads the cells of the <row> just opened, up to its </row>.
func (x *xlsxRows) readCells(row int) error {
	var c xlsxCellState
	for {
		t, err := x.s.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("%w：第 %d 行没有结束", errNotXLSX, row)
			}
			return err
		}
		switch e := t.(type) {
		case xml.StartElement:
			switch e.Name.Local {
			case "c":
				if err := x.openCell(&c, e, row); err != nil {
					return err
				}
			case "v":
				c.inV, c.hasValue = true, true
			case "f":
				c.formula = true
			case "is":
				c.inIS, c.hasValue = true, true
			case "rPh":
				c.phonetic++
			case "t":
				c.inT = c.inIS && c.phonetic == 0
			}
		case xml.CharData:
			if c.inV || c.inT {
				x.text = append(x.text, e...)
				if len(x.text) > MaxLineBytes {
					return errCellTooLong(row, c.col)
				}
			}
		case xml.EndElement:
			switch e.Name.Local {
			case "v":
				c.inV = false
			case "is":
				c.inIS = false
			case "rPh":
				c.phonetic--
			case "t":
				c.inT = false
			case "c":
				if err := x.closeCell(&c, row); err != nil {
					return err
				}
			case "row":
				return nil
			}
		}
	}
}

// xlsxCellState is where readCells is in a row: the column, the bytes of the row so far, and
// what it knows of the cell it is in (its type and style, whether it has a value or a
// formula) and of the element it is in (a value, an inline string, its text, a phonetic run).
type xlsxCellState struct {
	col, rowBytes int
	typ           string
	style         int
	inCell        bool
	hasValue      bool
	formula       bool
	inV, inIS     bool
	inT           bool
	phonetic      int
}

// openCell starts a <c>: its type, style and column (the next one, or its reference r).
func (x *xlsxRows) openCell(c *xlsxCellState, e xml.StartElement, row int) error {
	c.typ, c.hasValue, c.formula, c.inCell = attr(e, "t"), false, false, true
	c.style = -1
	if v := attr(e, "s"); v != "" {
		c.style, _ = strconv.Atoi(v)
	}
	x.text = x.text[:0]
	c.col++
	if ref := attr(e, "r"); ref != "" {
		col, ok := columnOf(ref)
		if !ok {
			return fmt.Errorf("%w：第 %d 行的单元格位置“%s”无效", errNotXLSX, row, ref)
		}
		c.col = col
	}
	if c.col > 16384 { // Excel's last column, XFD
		return fmt.Errorf("%w：第 %d 行的单元格超出了 Excel 的最后一列", errNotXLSX, row)
	}
	return nil
}

// closeCell ends a <c>: a formula without its saved result is noted as uncomputed, a cell with
// a value is put in the row.
func (x *xlsxRows) closeCell(c *xlsxCellState, row int) error {
	if !c.inCell {
		return nil // a </c> without its <c> (found by FuzzXLSXParts): no cell, no column 0
	}
	c.inCell = false
	if c.formula && len(x.text) == 0 && c.typ != "str" && c.typ != "inlineStr" {
		// A formula saved without its result (as exporters write them): never 0.
		if c.col <= MaxColumns && len(x.uncomputed) < MaxColumns {
			x.uncomputed = append(x.uncomputed, c.col-1)
		}
		return nil
	}
	if !c.hasValue {
		return nil
	}
	x.style = c.style
	v, err := x.value(c.typ, row)
	if err != nil {
		return err
	}
	if v == "" {
		return nil
	}
	if c.col > MaxColumns {
		return errTooManyColumns(row)
	}
	if checkCell([]byte(v)) != nil {
		return errCellTooLong(row, c.col)
	}
	c.rowBytes += len(v)
	if c.rowBytes > MaxLineBytes {
		return errLineTooLong(row)
	}
	for len(x.rec) < c.col {
		x.rec = append(x.rec, "")
	}
	x.rec[c.col-1] = v
	return nil
}

// value is the raw value of the cell whose text was gathered: shared and inline strings
// resolved, everything else as stored.
func (x *xlsxRows) value(typ string, row int) (string, error) {
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(string(x.text)))
		if err != nil {
			return "", fmt.Errorf("%w：第 %d 行的共享字符串编号“%s”无效", errNotXLSX, row, x.text)
		}
		v, ok := x.sst.get(i)
		if !ok {
			return "", fmt.Errorf("%w：第 %d 行的共享字符串编号 %d 超出范围", errNotXLSX, row, i)
		}
		return v, nil
	case "inlineStr":
		return string(unescapeOOXML(x.text)), nil
	case "", "n":
		if x.style >= 0 && x.style < len(x.dates) && x.dates[x.style] {
			if f, err := strconv.ParseFloat(strings.TrimSpace(string(x.text)), 64); err == nil {
				return dateText(f, x.date1904), nil
			}
		}
	case "d": // an ISO 8601 date cell
		return string(x.text), nil
	}
	return string(x.text), nil
}

// columnOf reads the column of a cell reference such as "AB12" (1-based).
func columnOf(ref string) (int, bool) {
	col, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'A' <= c && c <= 'Z':
			col = col*26 + int(c-'A') + 1
		case 'a' <= c && c <= 'z':
			col = col*26 + int(c-'a') + 1
		case c == '$' && i == 0:
			continue
		default:
			return col, i > 0 && col > 0
		}
		if col > 16384 {
			return 0, false
		}
	}
	return col, col > 0
}
