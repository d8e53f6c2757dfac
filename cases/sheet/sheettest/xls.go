package sheettest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"unicode/utf16"
)

// Writers of the old binary Excel format (.xls: BIFF8 records in an OLE2 container) as
// Excel 97–2003 and WPS save it, for tests: real workbooks, and hostile containers whose
// declared sizes lie.

// Stream is one stream of an OLE2 container: Size bytes read from R.
type Stream struct {
	Name string
	Size int64
	R    io.Reader
	// Declared is the size the directory claims; 0 means Size.
	Declared uint64
}

const (
	sector      = 512
	endOfChain  = 0xFFFFFFFE
	freeSect    = 0xFFFFFFFF
	fatSect     = 0xFFFFFFFD
	difSect     = 0xFFFFFFFC
	perFAT      = sector / 4
	headerDIFAT = 109
)

// cfbLayout is where everything goes in a generated container: the sectors each stream
// occupies (padded) and the counts and first sectors of the FAT, DIFAT and directory.
type cfbLayout struct {
	sizes                           []int64 // each stream's size once padded to 4096
	nData, nDir, nFAT, nDIFAT       int64
	firstDIFAT, firstDir, firstData int64
}

// planCFB lays out a container for streams. The FAT and DIFAT must also map their own
// sectors, so their counts are iterated until they stop growing.
func planCFB(streams []Stream) cfbLayout {
	l := cfbLayout{sizes: make([]int64, len(streams))}
	for i, s := range streams {
		l.sizes[i] = max(s.Size, 4096)
		l.nData += (l.sizes[i] + sector - 1) / sector
	}
	l.nDir = int64((len(streams) + 1 + 3) / 4)
	for {
		total := l.nData + l.nDir + l.nFAT + l.nDIFAT
		f := (total + perFAT - 1) / perFAT
		d := int64(0)
		if f > headerDIFAT {
			d = (f - headerDIFAT + perFAT - 2) / (perFAT - 1)
		}
		if f == l.nFAT && d == l.nDIFAT {
			break
		}
		l.nFAT, l.nDIFAT = f, d
	}
	// Sectors: FAT, DIFAT, directory, then each stream's data.
	l.firstDIFAT = l.nFAT
	l.firstDir = l.nFAT + l.nDIFAT
	l.firstData = l.firstDir + l.nDir
	return l
}

// WriteCFB writes an OLE2 container (version 3, 512-byte sectors) holding streams in its
// root storage. Streams shorter than 4096 bytes are padded to 4096 (so that none lives in
// the mini stream); the content is streamed, never held.
func WriteCFB(w io.Writer, streams []Stream) error {
	l := planCFB(streams)
	if _, err := w.Write(l.header()); err != nil {
		return err
	}
	bw := &entryWriter{w: w}
	l.writeFAT(bw)
	l.writeDIFAT(bw)
	if bw.err != nil {
		return bw.err
	}
	if _, err := w.Write(l.directory(streams)); err != nil {
		return err
	}
	for i, s := range streams {
		n, err := io.CopyN(w, s.R, s.Size)
		if err != nil {
			return err
		}
		pad := (l.sizes[i]+sector-1)/sector*sector - n
		if _, err := w.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	return nil
}

// header is the container's 512-byte header, with the first 109 FAT sectors listed in it.
func (l cfbLayout) header() []byte {
	le := binary.LittleEndian
	h := make([]byte, sector)
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[24:], 0x3E)
	le.PutUint16(h[26:], 3)
	le.PutUint16(h[28:], 0xFFFE)
	le.PutUint16(h[30:], 9)
	le.PutUint16(h[32:], 6)
	le.PutUint32(h[44:], uint32(l.nFAT))
	le.PutUint32(h[48:], uint32(l.firstDir))
	le.PutUint32(h[56:], 4096)
	le.PutUint32(h[60:], endOfChain)
	if l.nDIFAT > 0 {
		le.PutUint32(h[68:], uint32(l.firstDIFAT))
	} else {
		le.PutUint32(h[68:], endOfChain)
	}
	le.PutUint32(h[72:], uint32(l.nDIFAT))
	for i := 0; i < headerDIFAT; i++ {
		v := uint32(freeSect)
		if int64(i) < l.nFAT {
			v = uint32(i)
		}
		le.PutUint32(h[76+4*i:], v)
	}
	return h
}

// writeFAT writes the FAT, entry by entry: its own and the DIFAT's sectors marked, the
// directory's and each stream's sectors chained, then free entries to the sector's end.
func (l cfbLayout) writeFAT(bw *entryWriter) {
	for i := int64(0); i < l.nFAT; i++ {
		bw.put(fatSect)
	}
	for i := int64(0); i < l.nDIFAT; i++ {
		bw.put(difSect)
	}
	for i := int64(0); i < l.nDir; i++ {
		if i == l.nDir-1 {
			bw.put(endOfChain)
		} else {
			bw.put(uint32(l.firstDir + i + 1))
		}
	}
	next := l.firstData
	for _, sz := range l.sizes {
		n := (sz + sector - 1) / sector
		for j := int64(0); j < n; j++ {
			if j == n-1 {
				bw.put(endOfChain)
			} else {
				bw.put(uint32(next + j + 1))
			}
		}
		next += n
	}
	for bw.n%perFAT != 0 {
		bw.put(freeSect)
	}
}

// writeDIFAT writes the DIFAT sectors: the FAT sectors after the header's 109.
func (l cfbLayout) writeDIFAT(bw *entryWriter) {
	for i := int64(0); i < l.nDIFAT; i++ {
		for j := int64(0); j < perFAT-1; j++ {
			k := headerDIFAT + i*(perFAT-1) + j
			if k < l.nFAT {
				bw.put(uint32(k))
			} else {
				bw.put(freeSect)
			}
		}
		if i == l.nDIFAT-1 {
			bw.put(endOfChain)
		} else {
			bw.put(uint32(l.firstDIFAT + i + 1))
		}
	}
}

// directory is the directory sectors: the root, then the streams as a chain of right
// siblings, then unused entries to the sector's end.
func (l cfbLayout) directory(streams []Stream) []byte {
	le := binary.LittleEndian
	dir := make([]byte, l.nDir*sector)
	entry := func(i int, name string, typ byte, child, right uint32, start uint32, size uint64) {
		e := dir[128*i : 128*i+128]
		u := utf16.Encode([]rune(name))
		for j, c := range u {
			le.PutUint16(e[2*j:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66], e[67] = typ, 1
		le.PutUint32(e[68:], freeSect)
		le.PutUint32(e[72:], right)
		le.PutUint32(e[76:], child)
		le.PutUint32(e[116:], start)
		le.PutUint64(e[120:], size)
	}
	entry(0, "Root Entry", 5, 1, freeSect, endOfChain, 0)
	start := l.firstData
	for i, s := range streams {
		right := uint32(freeSect)
		if i+1 < len(streams) {
			right = uint32(i + 2)
		}
		size := uint64(l.sizes[i])
		if s.Declared != 0 {
			size = s.Declared
		}
		entry(i+1, s.Name, 2, freeSect, right, uint32(start), size)
		start += (l.sizes[i] + sector - 1) / sector
	}
	for i := len(streams) + 1; i < int(l.nDir*4); i++ {
		e := dir[128*i : 128*i+128]
		le.PutUint32(e[68:], freeSect)
		le.PutUint32(e[72:], freeSect)
		le.PutUint32(e[76:], freeSect)
	}
	return dir
}

type entryWriter struct {
	w   io.Writer
	buf [4]byte
	n   int64
	err error
}

func (e *entryWriter) put(v uint32) {
	if e.err != nil {
		return
	}
	binary.LittleEndian.PutUint32(e.buf[:], v)
	_, e.err = e.w.Write(e.buf[:])
	e.n++
}

// Cell values of a generated workbook: a string (in the shared-string table), a Number, a
// Date (a number with a date format: an Excel serial day), a Formula with its saved result,
// or Text (a LABEL record, as some exporters write strings).
type (
	Number  float64
	Date    float64
	Text    string
	Formula struct {
		Number float64
		Text   *string // a text result (then Number is unused)
	}
)

// Chart stands for an embedded chart: a substream of its own (BOF … EOF) written where the
// cell would be, as Excel writes charts inside a sheet's records.
type Chart struct{}

// XLSSheet is a sheet of a generated workbook: its rows of cells (nil: an empty cell).
// With Gen, the rows are Rows followed by N rows that Gen makes one at a time (never held;
// their text must be Text, not string, as it is not in the shared-string table).
type XLSSheet struct {
	Name string
	Rows [][]any
	Gen  func(i int) []any
	N    int
}

// XLS builds the Workbook stream of a BIFF8 workbook with sheets.
func XLS(sheets []XLSSheet) []byte {
	var g bytes.Buffer
	sst, index := sharedStrings(sheets)
	bound := writeGlobals(&g, sheets, sst)
	var body bytes.Buffer
	base := g.Len()
	for i, s := range sheets {
		// Each BOUNDSHEET's stream offset is known only once the globals are whole.
		binary.LittleEndian.PutUint32(g.Bytes()[bound[i]:], uint32(base+body.Len()))
		writeSheet(&body, s, index)
	}
	g.Write(body.Bytes())
	return g.Bytes()
}

// biffRec writes one BIFF record: its type, its length, its data.
func biffRec(buf *bytes.Buffer, typ uint16, data []byte) {
	var h [4]byte
	binary.LittleEndian.PutUint16(h[:], typ)
	binary.LittleEndian.PutUint16(h[2:], uint16(len(data)))
	buf.Write(h[:])
	buf.Write(data)
}

// u16 is v as little-endian 16-bit words.
func u16(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

// biffString is s as a BIFF8 unicode string: its length in lenBytes bytes, the flags
// byte (UTF-16), then its characters.
func biffString(s string, lenBytes int) []byte {
	u := utf16.Encode([]rune(s))
	var b []byte
	if lenBytes == 1 {
		b = append(b, byte(len(u)))
	} else {
		b = append(b, u16(uint16(len(u)))...)
	}
	b = append(b, 1)
	for _, c := range u {
		b = append(b, u16(c)...)
	}
	return b
}

// sharedStrings is the shared-string table of the sheets' fixed rows, in order of first
// use, with each string's index in it.
func sharedStrings(sheets []XLSSheet) ([]string, map[string]int) {
	var sst []string
	index := map[string]int{}
	for _, s := range sheets {
		for _, r := range s.Rows {
			for _, c := range r {
				if v, ok := c.(string); ok {
					if _, seen := index[v]; !seen {
						index[v] = len(sst)
						sst = append(sst, v)
					}
				}
			}
		}
	}
	return sst, index
}

// writeGlobals writes the workbook globals substream: BOF, code page, the date formats,
// one BOUNDSHEET a sheet, the SST, EOF. It returns where in g each BOUNDSHEET's stream
// offset lies, to be filled in once the sheets' places are known.
func writeGlobals(g *bytes.Buffer, sheets []XLSSheet, sst []string) []int {
	biffRec(g, 0x0809, u16(0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0, 6, 0))
	biffRec(g, 0x0042, u16(1200)) // CODEPAGE: UTF-16
	fmtCode := `yyyy"年"m"月"d"日"`
	biffRec(g, 0x041E, append(u16(176), biffString(fmtCode, 2)...))
	xf := func(ifmt uint16) []byte { return append(u16(0, ifmt, 0xFFF5), make([]byte, 14)...) }
	biffRec(g, 0x00E0, xf(0))   // XF 0: General
	biffRec(g, 0x00E0, xf(14))  // XF 1: a built-in date
	biffRec(g, 0x00E0, xf(176)) // XF 2: the custom date
	bound := make([]int, len(sheets))
	for i, s := range sheets {
		bound[i] = g.Len() + 4
		biffRec(g, 0x0085, append([]byte{0, 0, 0, 0, 0, 0}, biffString(s.Name, 1)...))
	}
	writeSST(g, sst)
	biffRec(g, 0x000A, nil)
	return bound
}

// writeSheet writes one sheet's substream: BOF, its cells row by row (the fixed rows, then
// the generated ones), EOF.
func writeSheet(body *bytes.Buffer, s XLSSheet, index map[string]int) {
	biffRec(body, 0x0809, u16(0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0, 6, 0))
	for r := 0; r < len(s.Rows)+s.N; r++ {
		var row []any
		if r < len(s.Rows) {
			row = s.Rows[r]
		} else {
			row = s.Gen(r - len(s.Rows))
		}
		for c, cell := range row {
			writeCell(body, r, c, cell, index)
		}
	}
	biffRec(body, 0x000A, nil)
}

// writeCell writes the record(s) of one cell at row r, column c (none for nil).
func writeCell(body *bytes.Buffer, r, c int, cell any, index map[string]int) {
	head := u16(uint16(r), uint16(c), 0)
	num := func(v float64, xf uint16) {
		binary.LittleEndian.PutUint16(head[4:], xf)
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
		biffRec(body, 0x0203, append(head, b...))
	}
	switch v := cell.(type) {
	case nil:
	case string:
		if _, ok := index[v]; !ok {
			panic("sheettest: a generated row's text must be Text")
		}
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, uint32(index[v]))
		biffRec(body, 0x00FD, append(head, b...))
	case Text:
		biffRec(body, 0x0204, append(head, biffString(string(v), 2)...))
	case Number:
		if v == Number(math.Trunc(float64(v))) && math.Abs(float64(v)) < 1<<29 {
			rk := uint32(int32(v)<<2) | 2 // an RK integer, as Excel writes small numbers
			b := make([]byte, 4)
			binary.LittleEndian.PutUint32(b, rk)
			biffRec(body, 0x027E, append(head, b...))
		} else {
			num(float64(v), 0)
		}
	case Date:
		num(float64(v), 2)
	case Chart:
		biffRec(body, 0x0809, u16(0x0600, 0x0020, 0x0DBB, 0x07CC, 0, 0, 6, 0))
		biffRec(body, 0x1002, make([]byte, 16)) // CHART
		biffRec(body, 0x000A, nil)
	case Formula:
		writeFormula(body, head, v)
	default:
		panic("sheettest: unknown cell type")
	}
}

// writeFormula writes a FORMULA record with its saved result, followed by a STRING record
// when that result is text.
func writeFormula(body *bytes.Buffer, head []byte, v Formula) {
	val := make([]byte, 8)
	if v.Text != nil {
		val[6], val[7] = 0xFF, 0xFF
	} else {
		binary.LittleEndian.PutUint64(val, math.Float64bits(v.Number))
	}
	data := append(append(head, val...), 0, 0, 0, 0, 0, 0, 3, 0, 0x1E, 0, 0) // flags, chn, a tiny =0 formula
	biffRec(body, 0x0006, data)
	if v.Text != nil {
		biffRec(body, 0x0207, biffString(*v.Text, 2))
	}
}

// writeSST writes the shared-string table, cut into CONTINUE records at 8,224 bytes as
// Excel does: a string's header stays whole, its characters may run on, each CONTINUE
// starting with the flags byte again.
func writeSST(g *bytes.Buffer, sst []string) {
	const maxRec = 8224
	var recs [][]byte
	cur := make([]byte, 8)
	binary.LittleEndian.PutUint32(cur, uint32(len(sst)))
	binary.LittleEndian.PutUint32(cur[4:], uint32(len(sst)))
	for _, s := range sst {
		u := utf16.Encode([]rune(s))
		if len(cur)+3+2 > maxRec {
			recs, cur = append(recs, cur), nil
		}
		cur = binary.LittleEndian.AppendUint16(cur, uint16(len(u)))
		cur = append(cur, 1)
		for len(u) > 0 {
			room := (maxRec - len(cur)) / 2
			if room == 0 {
				recs, cur = append(recs, cur), []byte{1}
				continue
			}
			k := min(room, len(u))
			for _, c := range u[:k] {
				cur = binary.LittleEndian.AppendUint16(cur, c)
			}
			u = u[k:]
		}
	}
	recs = append(recs, cur)
	for i, r := range recs {
		typ := uint16(0x003C)
		if i == 0 {
			typ = 0x00FC
		}
		var h [4]byte
		binary.LittleEndian.PutUint16(h[:], typ)
		binary.LittleEndian.PutUint16(h[2:], uint16(len(r)))
		g.Write(h[:])
		g.Write(r)
	}
}

// WriteXLS writes a .xls workbook with sheets.
func WriteXLS(w io.Writer, sheets []XLSSheet) error {
	b := XLS(sheets)
	if len(b) > math.MaxInt32 {
		return errors.New("sheettest: workbook too large")
	}
	return WriteCFB(w, []Stream{{Name: "Workbook", Size: int64(len(b)), R: bytes.NewReader(b)}})
}
