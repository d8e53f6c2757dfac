package sheet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
)

// The OLE2 container (Compound File Binary, [MS-CFB]) that holds an .xls workbook. Only
// what reading the Workbook stream needs is read, and every number the file declares is
// checked before it is used: the sector size, the FAT's own sectors (header and DIFAT
// chain), each chain's sectors (inside the file, no loop, long enough for the size the
// directory declares) and the stream sizes against MaxFileBytes. The FAT of a 50 MB file
// is 400 KB; nothing else is kept but the Workbook stream's list of sectors.

var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

var errNotOLE = errors.New("不是有效的 Excel 97–2003（.xls）文件")

const (
	cfbFree       = 0xFFFFFFFF
	cfbEndOfChain = 0xFFFFFFFE
	cfbFATSect    = 0xFFFFFFFD
	cfbDIFSect    = 0xFFFFFFFC
	cfbMaxRegSect = 0xFFFFFFFA
	// maxDirEntries bounds the directory: an .xls has a handful of streams.
	maxDirEntries = 4096
)

type cfbFile struct {
	r          io.ReaderAt
	size       int64
	sectorSize int64
	nSectors   uint32 // sectors the file holds after its header
	fat        []uint32
	miniCutoff uint32
	miniFAT    []uint32
	root       cfbEntry
	entries    []cfbEntry
}

type cfbEntry struct {
	name  string
	typ   byte // 1 storage, 2 stream, 5 root
	start uint32
	size  uint64
}

func corruptOLE(format string, args ...any) error {
	return fmt.Errorf("%w：%s", errNotOLE, fmt.Sprintf(format, args...))
}

func openCFB(r io.ReaderAt, size int64) (*cfbFile, error) {
	if size > MaxFileBytes {
		return nil, ErrFileTooLarge
	}
	h := make([]byte, 512)
	if _, err := r.ReadAt(h, 0); err != nil {
		return nil, corruptOLE("文件头不完整")
	}
	if !bytes.Equal(h[:8], oleMagic) {
		return nil, errNotOLE
	}
	c, err := newCFBFile(r, size, h)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	buf := make([]byte, c.sectorSize)
	if err := c.readFAT(h, buf); err != nil {
		return nil, err
	}
	entries, err := c.readDirectory(le.Uint32(h[48:]), buf)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 || entries[0].typ != 5 {
		return nil, corruptOLE("缺少根目录")
	}
	c.root = entries[0]
	if c.root.size > uint64(MaxFileBytes) {
		return nil, limitf("Excel 文件声明的小流区（%d 字节）超过 %s 的上限，已拒绝", c.root.size, fileLimitText)
	}
	if err := c.readMiniFAT(le.Uint32(h[60:]), le.Uint32(h[64:]), buf); err != nil {
		return nil, err
	}
	c.entries = entries
	return c, nil
}

// newCFBFile checks the header's sector sizes and mini-stream cutoff against the file's size.
func newCFBFile(r io.ReaderAt, size int64, h []byte) (*cfbFile, error) {
	le := binary.LittleEndian
	shift := le.Uint16(h[30:])
	if shift != 9 && shift != 12 {
		return nil, corruptOLE("扇区大小 2^%d 无效", shift)
	}
	if le.Uint16(h[32:]) != 6 {
		return nil, corruptOLE("小扇区大小无效")
	}
	c := &cfbFile{r: r, size: size, sectorSize: 1 << shift}
	if size < c.sectorSize {
		return nil, corruptOLE("文件太短")
	}
	c.nSectors = uint32((size - c.sectorSize + c.sectorSize - 1) / c.sectorSize)
	c.miniCutoff = le.Uint32(h[56:])
	if c.miniCutoff != 4096 {
		return nil, corruptOLE("小流上限 %d 无效", c.miniCutoff)
	}
	return c, nil
}

// readFAT reads the FAT: the list of its sectors (the header's first 109, then the DIFAT
// chain), then those sectors. buf is one sector of scratch.
func (c *cfbFile) readFAT(h, buf []byte) error {
	le := binary.LittleEndian
	nFAT := le.Uint32(h[44:])
	difatStart := le.Uint32(h[68:])
	nDIFAT := le.Uint32(h[72:])
	// The FAT needs one entry per sector of the file: a header that declares many more FAT
	// sectors than that (a few spare are harmless) is refused before anything is allocated.
	perSector := uint32(c.sectorSize / 4)
	if nFAT == 0 || nFAT > c.nSectors || nFAT > (c.nSectors+perSector-1)/perSector+8 {
		return limitf("Excel 文件声明的分配表（%d 个扇区）比文件本身还大，文件已损坏或被改动过，已拒绝", nFAT)
	}
	fatSectors := make([]uint32, 0, nFAT)
	for i := 0; i < 109 && uint32(len(fatSectors)) < nFAT; i++ {
		fatSectors = append(fatSectors, le.Uint32(h[76+4*i:]))
	}
	seen := 0
	for s := difatStart; uint32(len(fatSectors)) < nFAT; {
		if s == cfbEndOfChain || s == cfbFree {
			return corruptOLE("分配表目录比声明的短")
		}
		if seen++; uint32(seen) > nDIFAT || uint32(seen) > c.nSectors {
			return corruptOLE("分配表目录成环或超长")
		}
		if err := c.readSector(s, buf); err != nil {
			return err
		}
		for i := uint32(0); i < perSector-1 && uint32(len(fatSectors)) < nFAT; i++ {
			fatSectors = append(fatSectors, le.Uint32(buf[4*i:]))
		}
		s = le.Uint32(buf[c.sectorSize-4:])
	}
	c.fat = make([]uint32, 0, int(nFAT)*int(perSector))
	for _, s := range fatSectors {
		if err := c.readSector(s, buf); err != nil {
			return err
		}
		for i := uint32(0); i < perSector; i++ {
			c.fat = append(c.fat, le.Uint32(buf[4*i:]))
		}
	}
	return nil
}

// readDirectory reads the directory's entries from its chain at start, bounded by
// maxDirEntries. buf is one sector of scratch.
func (c *cfbFile) readDirectory(start uint32, buf []byte) ([]cfbEntry, error) {
	le := binary.LittleEndian
	dirChain, err := c.chain(start, 0)
	if err != nil {
		return nil, err
	}
	if int64(len(dirChain))*c.sectorSize/128 > maxDirEntries {
		return nil, limitf("Excel 文件的目录超过 %d 项，文件不像是 Excel 保存的，已拒绝", maxDirEntries)
	}
	var entries []cfbEntry
	for _, s := range dirChain {
		if err := c.readSector(s, buf); err != nil {
			return nil, err
		}
		for off := int64(0); off+128 <= c.sectorSize; off += 128 {
			e := buf[off : off+128]
			n := int(le.Uint16(e[64:]))
			if n > 64 || n%2 != 0 {
				return nil, corruptOLE("目录项名称长度无效")
			}
			u := make([]uint16, 0, 32)
			for i := 0; i+2 <= n-2; i += 2 {
				u = append(u, le.Uint16(e[i:]))
			}
			size := le.Uint64(e[120:])
			if c.sectorSize == 512 {
				size &= 0xFFFFFFFF // version 3 files leave the high half undefined
			}
			entries = append(entries, cfbEntry{name: string(utf16.Decode(u)), typ: e[66], start: le.Uint32(e[116:]), size: size})
		}
	}
	return entries, nil
}

// readMiniFAT reads the mini FAT of n sectors from its chain at start, if there is one.
// buf is one sector of scratch.
func (c *cfbFile) readMiniFAT(start, n uint32, buf []byte) error {
	if n == 0 {
		return nil
	}
	if n > c.nSectors {
		return corruptOLE("小分配表声明的扇区数超过文件大小")
	}
	mchain, err := c.chain(start, int64(n)*c.sectorSize)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	perSector := uint32(c.sectorSize / 4)
	for _, s := range mchain {
		if err := c.readSector(s, buf); err != nil {
			return err
		}
		for i := uint32(0); i < perSector; i++ {
			c.miniFAT = append(c.miniFAT, le.Uint32(buf[4*i:]))
		}
	}
	return nil
}

func (c *cfbFile) readSector(s uint32, buf []byte) error {
	if s >= c.nSectors {
		return limitf("Excel 文件指向第 %d 个扇区，而文件只有 %d 个，文件已损坏或被改动过，已拒绝", s, c.nSectors)
	}
	off := (int64(s) + 1) * c.sectorSize
	n, err := c.r.ReadAt(buf, off)
	if n < len(buf) {
		if off+int64(n) >= c.size && n > 0 {
			clear(buf[n:]) // the last sector may be cut short; what is missing reads as zeros
			return nil
		}
		return corruptOLE("读取第 %d 个扇区失败：%v", s, err)
	}
	return nil
}

// chain follows a FAT chain from start. want > 0 is the byte size the chain must cover
// (a declared stream size); the chain must end, stay inside the file and not loop.
func (c *cfbFile) chain(start uint32, want int64) ([]uint32, error) {
	var out []uint32
	limit := int(c.nSectors)
	if want > 0 {
		need := (want + c.sectorSize - 1) / c.sectorSize
		if need > int64(c.nSectors) {
			return nil, limitf("Excel 文件中的一个流声明了 %d 字节，比文件本身还大，文件已损坏或被改动过，已拒绝", want)
		}
		out = make([]uint32, 0, need)
	}
	for s := start; s != cfbEndOfChain; {
		if s > cfbMaxRegSect || s >= c.nSectors || int(s) >= len(c.fat) {
			return nil, corruptOLE("扇区链指向文件之外")
		}
		if len(out) >= limit {
			return nil, corruptOLE("扇区链成环")
		}
		out = append(out, s)
		s = c.fat[s]
	}
	if want > 0 && int64(len(out))*c.sectorSize < want {
		return nil, limitf("Excel 文件中的一个流声明了 %d 字节，实际只有 %d 字节，文件已损坏或被改动过，已拒绝", want, int64(len(out))*c.sectorSize)
	}
	return out, nil
}

// stream returns a reader of the named stream in the root storage (case-insensitive).
func (c *cfbFile) stream(name string) (*cfbStream, bool, error) {
	for _, e := range c.entries[1:] {
		if e.typ != 2 || !equalFoldASCII(e.name, name) {
			continue
		}
		if e.size > uint64(MaxFileBytes) {
			return nil, true, limitf("Excel 文件中的流 %s 声明了 %d 字节，超过 %s 的上限，已拒绝", name, e.size, fileLimitText)
		}
		if e.size < uint64(c.miniCutoff) {
			b, err := c.readMini(e)
			if err != nil {
				return nil, true, err
			}
			return &cfbStream{mem: b, size: int64(len(b))}, true, nil
		}
		sectors, err := c.chain(e.start, int64(e.size))
		if err != nil {
			return nil, true, err
		}
		return &cfbStream{c: c, sectors: sectors, size: int64(e.size)}, true, nil
	}
	return nil, false, nil
}

func (c *cfbFile) hasStream(name string) bool {
	for _, e := range c.entries[1:] {
		if e.typ == 2 && equalFoldASCII(e.name, name) {
			return true
		}
	}
	return false
}

// readMini reads a stream under the cutoff (at most 4 KB) from the mini stream.
func (c *cfbFile) readMini(e cfbEntry) ([]byte, error) {
	if e.size == 0 {
		return nil, nil
	}
	rootSectors, err := c.chain(c.root.start, int64(c.root.size))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, e.size)
	seen := 0
	for s := e.start; uint64(len(out)) < e.size; {
		if s > cfbMaxRegSect || int(s) >= len(c.miniFAT) {
			return nil, corruptOLE("小扇区链指向文件之外")
		}
		if seen++; seen > 64 {
			return nil, corruptOLE("小扇区链成环")
		}
		off := int64(s) * 64
		if off+64 > int64(len(rootSectors))*c.sectorSize {
			return nil, corruptOLE("小扇区超出小流区")
		}
		sec := rootSectors[off/c.sectorSize]
		var b [64]byte
		if _, err := c.r.ReadAt(b[:], (int64(sec)+1)*c.sectorSize+off%c.sectorSize); err != nil {
			return nil, corruptOLE("读取小扇区失败：%v", err)
		}
		out = append(out, b[:min(64, int(e.size)-len(out))]...)
		s = c.miniFAT[s]
	}
	return out, nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// cfbStream reads one stream by its sectors, from any offset.
type cfbStream struct {
	c       *cfbFile
	sectors []uint32
	mem     []byte
	size    int64
}

func (s *cfbStream) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	if s.mem != nil {
		n := copy(p, s.mem[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	n := 0
	for n < len(p) && off < s.size {
		ss := s.c.sectorSize
		sec := s.sectors[off/ss]
		in := off % ss
		k := min(int64(len(p)-n), ss-in, s.size-off)
		m, err := s.c.r.ReadAt(p[n:n+int(k)], (int64(sec)+1)*ss+in)
		n += m
		off += int64(m)
		if err != nil && m < int(k) {
			if errors.Is(err, io.EOF) {
				return n, corruptOLE("流在文件结尾前中断")
			}
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
