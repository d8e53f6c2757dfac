package sheet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// The .xls reader (BIFF8, Excel 97–2003, as Excel and WPS save it) reads the Workbook
// stream of the OLE2 container (cfb.go) record by record: the workbook globals (sheets,
// shared strings, formats and cell styles, to know a date cell) once, then a sheet's cells
// as a stream, one row at a time. Records are at most 8,224 bytes (the format's own
// bound); the shared strings go to the same bounded table as an XLSX's.

const (
	recBOF        = 0x0809
	recEOF        = 0x000A
	recBoundSheet = 0x0085
	recSST        = 0x00FC
	recContinue   = 0x003C
	recFormat     = 0x041E
	recXF         = 0x00E0
	recDateMode   = 0x0022
	recFilePass   = 0x002F
	recLabelSST   = 0x00FD
	recLabel      = 0x0204
	recRString    = 0x00D6
	recNumber     = 0x0203
	recRK         = 0x027E
	recMulRK      = 0x00BD
	recFormula    = 0x0006
	recString     = 0x0207
	recBoolErr    = 0x0205
	maxRecordLen  = 8224
)

// biffReader reads the records of a stream.
type biffReader struct {
	br      *bufio.Reader
	typ     uint16
	data    []byte
	pos     int
	buf     [maxRecordLen]byte
	unread  bool // the current record is to be returned again by next
	scratch []uint16
	out     []byte
}

func newBIFFReader(s *cfbStream, off int64) *biffReader {
	return &biffReader{br: bufio.NewReaderSize(io.NewSectionReader(s, off, s.size-off), 32<<10)}
}

func (b *biffReader) next() error {
	if b.unread {
		b.unread = false
		b.pos = 0
		return nil
	}
	var h [4]byte
	if _, err := io.ReadFull(b.br, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return io.EOF
		}
		return err
	}
	b.typ = binary.LittleEndian.Uint16(h[:])
	n := int(binary.LittleEndian.Uint16(h[2:]))
	if n > maxRecordLen {
		return fmt.Errorf("%w：记录长度 %d 超过格式上限", errNotOLE, n)
	}
	b.data = b.buf[:n]
	b.pos = 0
	if _, err := io.ReadFull(b.br, b.data); err != nil {
		return fmt.Errorf("%w：记录不完整", errNotOLE)
	}
	return nil
}

var errShortRecord = fmt.Errorf("%w：记录比内容短", errNotOLE)

// take returns the next n bytes of the record, moving into CONTINUE records if the record
// ends first (for data other than characters).
func (b *biffReader) take(n int) ([]byte, error) {
	if b.pos == len(b.data) && n > 0 {
		if err := b.cont(); err != nil {
			return nil, err
		}
	}
	if b.pos+n > len(b.data) {
		return nil, errShortRecord
	}
	v := b.data[b.pos : b.pos+n]
	b.pos += n
	return v, nil
}

func (b *biffReader) cont() error {
	if err := b.next(); err != nil {
		if errors.Is(err, io.EOF) {
			return errShortRecord
		}
		return err
	}
	if b.typ != recContinue {
		return errShortRecord
	}
	return nil
}

func (b *biffReader) skip(n int) error {
	for n > 0 {
		if b.pos == len(b.data) {
			if err := b.cont(); err != nil {
				return err
			}
		}
		k := min(n, len(b.data)-b.pos)
		b.pos += k
		n -= k
	}
	return nil
}

// str reads an XLUnicodeString (cch of lenBytes bytes, then flags) into UTF-8; when cont
// is set the characters may run on into CONTINUE records, each starting with a new flags
// byte, as in the shared-string table.
func (b *biffReader) str(lenBytes int, cont bool) ([]byte, error) {
	hb, err := b.take(lenBytes)
	if err != nil {
		return nil, err
	}
	cch := int(hb[0])
	if lenBytes == 2 {
		cch = int(binary.LittleEndian.Uint16(hb))
	}
	fb, err := b.take(1)
	if err != nil {
		return nil, err
	}
	flags := fb[0]
	runs, ext := 0, 0
	if flags&0x08 != 0 {
		v, err := b.take(2)
		if err != nil {
			return nil, err
		}
		runs = int(binary.LittleEndian.Uint16(v))
	}
	if flags&0x04 != 0 {
		v, err := b.take(4)
		if err != nil {
			return nil, err
		}
		ext = int(binary.LittleEndian.Uint32(v))
		if ext > MaxFileBytes {
			return nil, fmt.Errorf("%w：字符串附加信息长度无效", errNotOLE)
		}
	}
	high := flags&0x01 != 0
	b.scratch = b.scratch[:0]
	for left := cch; left > 0; {
		if b.pos == len(b.data) {
			if !cont {
				return nil, errShortRecord
			}
			if err := b.cont(); err != nil {
				return nil, err
			}
			f, err := b.take(1)
			if err != nil {
				return nil, err
			}
			high = f[0]&0x01 != 0
		}
		avail := len(b.data) - b.pos
		if high {
			k := min(left, avail/2)
			if k == 0 {
				return nil, errShortRecord
			}
			for i := 0; i < k; i++ {
				b.scratch = append(b.scratch, binary.LittleEndian.Uint16(b.data[b.pos+2*i:]))
			}
			b.pos += 2 * k
			left -= k
		} else {
			k := min(left, avail)
			for i := 0; i < k; i++ {
				b.scratch = append(b.scratch, uint16(b.data[b.pos+i]))
			}
			b.pos += k
			left -= k
		}
	}
	if err := b.skip(4*runs + ext); err != nil {
		return nil, err
	}
	b.out = b.out[:0]
	for _, r := range utf16.Decode(b.scratch) {
		b.out = utf8.AppendRune(b.out, r)
	}
	return b.out, nil
}

// xlsBook is an opened .xls workbook's globals.
type xlsBook struct {
	stream   *cfbStream
	sheets   []xlsSheet
	sst      *sharedStrings
	dateXF   []bool // by XF index: the cell shows a date
	date1904 bool
}

type xlsSheet struct {
	name string
	off  int64
}

func openXLS(r io.ReaderAt, size int64) (*xlsBook, error) {
	c, err := openCFB(r, size)
	if err != nil {
		return nil, err
	}
	s, ok, err := c.stream("Workbook")
	if err != nil {
		return nil, err
	}
	if !ok {
		if c.hasStream("Book") {
			return nil, errors.New("这是 Excel 5.0/95 的旧格式文件，请在 Excel 或 WPS 中打开，另存为 .xlsx 后重发")
		}
		return nil, errors.New("这个文件不是 Excel 表格（可能是 Word、WPS 或其他 Office 文件），请另存为 .xlsx 后重发")
	}
	x := &xlsBook{stream: s, sst: &sharedStrings{}}
	b := newBIFFReader(s, 0)
	if err := b.next(); err != nil || b.typ != recBOF || len(b.data) < 4 {
		return nil, fmt.Errorf("%w：工作簿开头不对", errNotOLE)
	}
	if v := binary.LittleEndian.Uint16(b.data); v != 0x0600 {
		return nil, errors.New("这是 Excel 95 或更早的格式，请在 Excel 或 WPS 中打开，另存为 .xlsx 后重发")
	}
	formats := map[int]bool{} // custom format ID → shows a date
	var xfFormats []uint16
	for {
		if err := b.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w：工作簿没有结束", errNotOLE)
			}
			return nil, err
		}
		switch b.typ {
		case recEOF:
			x.dateXF = make([]bool, len(xfFormats))
			for i, f := range xfFormats {
				x.dateXF[i] = builtinDateFormat(int(f)) || formats[int(f)]
			}
			if len(x.sheets) == 0 {
				return nil, errors.New("Excel 文件中没有工作表")
			}
			return x, nil
		case recFilePass:
			return nil, errors.New("这个 Excel 文件设置了密码，请取消密码后重发")
		case recDateMode:
			x.date1904 = len(b.data) >= 2 && binary.LittleEndian.Uint16(b.data) == 1
		case recFormat:
			if len(b.data) < 2 {
				return nil, errShortRecord
			}
			id := int(binary.LittleEndian.Uint16(b.data))
			b.pos = 2
			code, err := b.str(2, false)
			if err != nil {
				return nil, err
			}
			formats[id] = isDateFormat(string(code))
		case recXF:
			if len(b.data) < 4 {
				return nil, errShortRecord
			}
			if len(xfFormats) >= 65536 {
				return nil, fmt.Errorf("%w：单元格格式过多", errNotOLE)
			}
			xfFormats = append(xfFormats, binary.LittleEndian.Uint16(b.data[2:]))
		case recBoundSheet:
			if len(b.data) < 8 {
				return nil, errShortRecord
			}
			off := int64(binary.LittleEndian.Uint32(b.data))
			kind := b.data[5]
			b.pos = 6
			name, err := b.str(1, false)
			if err != nil {
				return nil, err
			}
			if kind != 0 {
				continue // a chart or macro sheet holds no table
			}
			if off >= s.size {
				return nil, fmt.Errorf("%w：工作表位置超出文件", errNotOLE)
			}
			if len(x.sheets) >= 4096 {
				return nil, fmt.Errorf("%w：工作表过多", errNotOLE)
			}
			x.sheets = append(x.sheets, xlsSheet{name: string(name), off: off})
		case recSST:
			if err := x.readSST(b); err != nil {
				return nil, err
			}
		}
	}
}

func (x *xlsBook) readSST(b *biffReader) error {
	h, err := b.take(8)
	if err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(h[4:])
	for i := uint32(0); i < n; i++ {
		if b.pos == len(b.data) {
			// The table ends with its record and CONTINUEs; a count that says more is cut short.
			if err := b.next(); err != nil {
				return err
			}
			if b.typ != recContinue {
				b.unread = true
				return nil
			}
		}
		s, err := b.str(2, true)
		if err != nil {
			return err
		}
		if checkCell(s) != nil {
			return limitf("Excel 文件的共享字符串第 %d 条超过 %s的单元格上限", i+1, cellLimitText)
		}
		if err := x.sst.add(s); err != nil {
			return err
		}
	}
	return nil
}

// xlsRows streams one sheet's rows.
type xlsRows struct {
	book     *xlsBook
	b        *biffReader
	row      int // the row number last returned, 1-based
	rec      []string
	ahead    []xlsCell // cells read and not yet placed, from head on
	head     int
	done     bool
	strCell  *xlsCell // a FORMULA whose text follows in a STRING record
	rowBytes int
}

type xlsCell struct {
	row, col int // 0-based
	v        string
}

func (x *xlsBook) sheet(i int) (*xlsRows, error) {
	b := newBIFFReader(x.stream, x.sheets[i].off)
	if err := b.next(); err != nil || b.typ != recBOF {
		return nil, fmt.Errorf("%w：工作表“%s”开头不对", errNotOLE, x.sheets[i].name)
	}
	return &xlsRows{book: x, b: b}, nil
}

func (x *xlsRows) next() ([]string, error) {
	x.row++
	if x.row > MaxRows {
		return nil, errTooManyRows()
	}
	x.rec = x.rec[:0]
	x.rowBytes = 0
	for {
		for x.head < len(x.ahead) && x.ahead[x.head].row+1 <= x.row {
			c := x.ahead[x.head]
			x.head++
			if c.row+1 < x.row {
				return nil, fmt.Errorf("%w：第 %d 行的单元格出现在第 %d 行之后", errNotOLE, c.row+1, x.row)
			}
			if err := x.place(c); err != nil {
				return nil, err
			}
		}
		if x.head == len(x.ahead) {
			x.ahead, x.head = x.ahead[:0], 0
		}
		if len(x.ahead) > 0 {
			return x.rec, nil // a later row's cell is waiting
		}
		if x.done {
			if len(x.rec) == 0 {
				return nil, io.EOF
			}
			return x.rec, nil
		}
		ok, err := x.cell()
		if err != nil {
			return nil, err
		}
		x.done = !ok
	}
}

func (x *xlsRows) place(c xlsCell) error {
	if c.v == "" {
		return nil
	}
	row, col := c.row+1, c.col+1
	if col > MaxColumns {
		return errTooManyColumns(row)
	}
	if checkCell([]byte(c.v)) != nil {
		return errCellTooLong(row, col)
	}
	if x.rowBytes += len(c.v); x.rowBytes > MaxLineBytes {
		return errLineTooLong(row)
	}
	for len(x.rec) < col {
		x.rec = append(x.rec, "")
	}
	x.rec[col-1] = c.v
	return nil
}

// cell reads records up to the next cell (or cells) with a value and queues them in
// ahead; ok is false at the sheet's end. Each record that can hold a cell's value has its
// decoder below, which says whether it queued a cell.
func (x *xlsRows) cell() (bool, error) {
	for {
		if err := x.b.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil // a sheet cut short ends where it ends
			}
			return false, err
		}
		if x.b.typ != recString && x.b.typ != recContinue {
			x.strCell = nil
		}
		var queued bool
		var err error
		switch x.b.typ {
		case recEOF:
			return false, nil
		case recLabelSST:
			queued, err = x.labelSST()
		case recLabel, recRString:
			queued, err = x.label()
		case recNumber:
			queued, err = x.numberRec()
		case recRK:
			queued, err = x.rk()
		case recMulRK:
			queued, err = x.mulRK()
		case recFormula:
			queued, err = x.formula()
		case recString:
			queued, err = x.formulaText()
		case recBoolErr:
			queued, err = x.boolErr()
		case recBOF:
			// An embedded chart is a substream of its own inside the sheet's: passed over
			// to its EOF.
			err = x.skipSubstream()
		}
		if err != nil {
			return false, err
		}
		if queued {
			return true, nil
		}
	}
}

// cellAt is the 0-based row and column that a cell record starts with.
func cellAt(d []byte) (int, int) {
	return int(binary.LittleEndian.Uint16(d)), int(binary.LittleEndian.Uint16(d[2:]))
}

// labelSST decodes a LABELSST: a cell whose text is in the shared-string table.
func (x *xlsRows) labelSST() (bool, error) {
	d := x.b.data
	if len(d) < 10 {
		return false, errShortRecord
	}
	r, c := cellAt(d)
	v, ok := x.book.sst.get(int(binary.LittleEndian.Uint32(d[6:])))
	if !ok {
		return false, fmt.Errorf("%w：第 %d 行的共享字符串编号超出范围", errNotOLE, r+1)
	}
	return x.queue(xlsCell{r, c, v})
}

// label decodes a LABEL or RSTRING: a cell with its text in the record.
func (x *xlsRows) label() (bool, error) {
	if len(x.b.data) < 8 {
		return false, errShortRecord
	}
	r, c := cellAt(x.b.data)
	x.b.pos = 6
	s, err := x.b.str(2, false)
	if err != nil {
		return false, err
	}
	return x.queue(xlsCell{r, c, string(s)})
}

// numberRec decodes a NUMBER: a cell with a double.
func (x *xlsRows) numberRec() (bool, error) {
	d := x.b.data
	if len(d) < 14 {
		return false, errShortRecord
	}
	r, c := cellAt(d)
	le := binary.LittleEndian
	return x.queue(xlsCell{r, c, x.number(math.Float64frombits(le.Uint64(d[6:])), le.Uint16(d[4:]))})
}

// rk decodes an RK: a cell with a number in RK form.
func (x *xlsRows) rk() (bool, error) {
	d := x.b.data
	if len(d) < 10 {
		return false, errShortRecord
	}
	r, c := cellAt(d)
	le := binary.LittleEndian
	return x.queue(xlsCell{r, c, x.number(rkValue(le.Uint32(d[6:])), le.Uint16(d[4:]))})
}

// mulRK decodes a MULRK: RK numbers in consecutive cells of a row, all queued; an empty one
// queues nothing.
func (x *xlsRows) mulRK() (bool, error) {
	d := x.b.data
	if len(d) < 6 || (len(d)-6)%6 != 0 {
		return false, errShortRecord
	}
	r, c := cellAt(d)
	n := (len(d) - 6) / 6
	if n == 0 {
		return false, nil
	}
	le := binary.LittleEndian
	for i := 0; i < n; i++ {
		off := 4 + 6*i
		x.ahead = append(x.ahead, xlsCell{r, c + i, x.number(rkValue(le.Uint32(d[off+2:])), le.Uint16(d[off:]))})
	}
	return true, nil
}

// formula decodes a FORMULA's saved result: a number, a boolean or an error is queued; a
// text result is in the STRING record that follows, so the cell waits in strCell.
func (x *xlsRows) formula() (bool, error) {
	d := x.b.data
	if len(d) < 20 {
		return false, errShortRecord
	}
	r, c := cellAt(d)
	le := binary.LittleEndian
	val := d[6:14]
	if le.Uint16(val[6:]) != 0xFFFF {
		return x.queue(xlsCell{r, c, x.number(math.Float64frombits(le.Uint64(val)), le.Uint16(d[4:]))})
	}
	switch val[0] {
	case 0: // text, in the STRING record that follows
		x.strCell = &xlsCell{row: r, col: c}
	case 1:
		return x.queue(xlsCell{r, c, boolText(val[2])})
	case 2:
		return x.queue(xlsCell{r, c, errorText(val[2])})
	}
	return false, nil
}

// formulaText decodes a STRING: the text result of the FORMULA just before it (a STRING with
// no such formula is passed over).
func (x *xlsRows) formulaText() (bool, error) {
	if x.strCell == nil {
		return false, nil
	}
	s, err := x.b.str(2, true)
	if err != nil {
		return false, err
	}
	c := *x.strCell
	x.strCell = nil
	c.v = string(s)
	return x.queue(c)
}

// boolErr decodes a BOOLERR: a cell with a boolean or an error code.
func (x *xlsRows) boolErr() (bool, error) {
	d := x.b.data
	if len(d) < 8 {
		return false, errShortRecord
	}
	r, c := cellAt(d)
	if d[7] == 0 {
		return x.queue(xlsCell{r, c, boolText(d[6])})
	}
	return x.queue(xlsCell{r, c, errorText(d[6])})
}

func (x *xlsRows) skipSubstream() error {
	for depth := 1; depth > 0; {
		if err := x.b.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("%w：嵌入的图表没有结束", errNotOLE)
			}
			return err
		}
		switch x.b.typ {
		case recBOF:
			if depth++; depth > 16 {
				return fmt.Errorf("%w：嵌套过深", errNotOLE)
			}
		case recEOF:
			depth--
		}
	}
	return nil
}

func (x *xlsRows) queue(c xlsCell) (bool, error) {
	x.ahead = append(x.ahead, c)
	return true, nil
}

func (x *xlsRows) number(v float64, xf uint16) string {
	if int(xf) < len(x.book.dateXF) && x.book.dateXF[xf] {
		return dateText(v, x.book.date1904)
	}
	return formatNumber(v)
}

// rkValue decodes an RK number: a 30-bit integer or the high 30 bits of a double, either
// possibly divided by 100.
func rkValue(rk uint32) float64 {
	var v float64
	if rk&0x02 != 0 {
		v = float64(int32(rk) >> 2)
	} else {
		v = math.Float64frombits(uint64(rk&0xFFFFFFFC) << 32)
	}
	if rk&0x01 != 0 {
		v /= 100
	}
	return v
}

func boolText(b byte) string {
	if b != 0 {
		return "TRUE"
	}
	return "FALSE"
}

func errorText(code byte) string {
	switch code {
	case 0x00:
		return "#NULL!"
	case 0x07:
		return "#DIV/0!"
	case 0x0F:
		return "#VALUE!"
	case 0x17:
		return "#REF!"
	case 0x1D:
		return "#NAME?"
	case 0x24:
		return "#NUM!"
	}
	return "#N/A"
}
