// Package sheettest builds hostile tables for tests: XLSX files whose parts unpack to far
// more than they weigh (zip bombs), with honest or lying sizes in the zip, without ever
// holding the unpacked bytes in memory.
package sheettest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
)

// Part is one part of a workbook: Head, then Repeat written Times times, then Tail.
type Part struct {
	Name   string
	Head   []byte
	Repeat []byte
	Times  int64
	Tail   []byte
	// Declared is the unpacked size the zip claims for the part; 0 means the true size.
	Declared uint64
}

// Size is the part's true unpacked size.
func (p Part) Size() uint64 {
	return uint64(len(p.Head)) + uint64(len(p.Repeat))*uint64(p.Times) + uint64(len(p.Tail))
}

// SheetXML is the usual opening and end of a worksheet part around rows.
const (
	SheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	SheetTail = `</sheetData></worksheet>`
)

// WriteXLSX writes a workbook with one sheet (xl/worksheets/sheet1.xml) and the parts
// given; a part called xl/sharedStrings.xml is linked as the shared strings.
func WriteXLSX(w io.Writer, sheet Part, extra ...Part) error {
	sheet.Name = "xl/worksheets/sheet1.xml"
	parts := []Part{
		{Name: "[Content_Types].xml", Head: []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`</Types>`)},
		{Name: "_rels/.rels", Head: []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
			`</Relationships>`)},
		{Name: "xl/workbook.xml", Head: []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`)},
		{Name: "xl/_rels/workbook.xml.rels", Head: []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
			`</Relationships>`)},
		sheet,
	}
	parts = append(parts, extra...)
	zw := zip.NewWriter(w)
	for _, p := range parts {
		if err := writePart(zw, p); err != nil {
			return fmt.Errorf("write part %s: %w", p.Name, err)
		}
	}
	return zw.Close()
}

// writePart deflates the part section by section, each section by a fresh compressor
// ending in a sync flush, so that one compressed chunk can be repeated: its
// back-references never reach before its own start.
func writePart(zw *zip.Writer, p Part) error {
	if p.Size() == 0 && p.Declared == 0 {
		_, err := zw.CreateHeader(&zip.FileHeader{Name: p.Name, Method: zip.Store})
		return err
	}
	var comp bytes.Buffer
	crc := crc32.NewIEEE()
	section := func(b []byte) ([]byte, error) {
		var out bytes.Buffer
		fw, err := flate.NewWriter(&out, flate.BestCompression)
		if err != nil {
			return nil, err
		}
		fw.Write(b)
		if err := fw.Flush(); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}
	add := func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		c, err := section(b)
		if err != nil {
			return err
		}
		comp.Write(c)
		crc.Write(b)
		return nil
	}
	if err := add(p.Head); err != nil {
		return err
	}
	if p.Times > 0 && len(p.Repeat) > 0 {
		per := max(1, int64((1<<20)/len(p.Repeat))) // repeats in a ~1 MB chunk
		chunk := bytes.Repeat(p.Repeat, int(min(per, p.Times)))
		c, err := section(chunk)
		if err != nil {
			return err
		}
		n := p.Times / int64(len(chunk)/len(p.Repeat))
		for i := int64(0); i < n; i++ {
			comp.Write(c)
			crc.Write(chunk)
		}
		if rest := p.Times - n*int64(len(chunk)/len(p.Repeat)); rest > 0 {
			if err := add(bytes.Repeat(p.Repeat, int(rest))); err != nil {
				return err
			}
		}
	}
	if err := add(p.Tail); err != nil {
		return err
	}
	// The final block: empty, marked last.
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Close()
	size := p.Size()
	if p.Declared != 0 {
		size = p.Declared
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: p.Name, Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: size})
	if err != nil {
		return err
	}
	_, err = w.Write(comp.Bytes())
	return err
}

// Reader is n bytes made of head then pattern over and over, generated as read.
type Reader struct {
	head, pattern []byte
	n, off        int64
}

// NewReader returns a reader of n bytes: head, then pattern repeated (cut at n).
func NewReader(head, pattern string, n int64) *Reader {
	return &Reader{head: []byte(head), pattern: []byte(pattern), n: n}
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n-r.off {
		p = p[:r.n-r.off]
	}
	for i := range p {
		if r.off < int64(len(r.head)) {
			p[i] = r.head[r.off]
		} else {
			p[i] = r.pattern[(r.off-int64(len(r.head)))%int64(len(r.pattern))]
		}
		r.off++
	}
	return len(p), nil
}
