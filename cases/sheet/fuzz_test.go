package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLineGuard checks the CSV line guard against encoding/csv itself, with a small limit:
// a file the guard lets through never gives a record of more bytes than the limit (the
// memory bound), and a file the guard refuses really has a record longer than the limit
// (no false refusals, e.g. from reading quotes differently than encoding/csv does).
func FuzzLineGuard(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,\"b\nc\"\n1,2\n", "a,b\n显示器 27\",1\n" + strings.Repeat("x,y\n", 20),
		"\"a\"\"b\",c\r\n\"d\"e\",f\n", "\n\n\na\n", "\"unterminated\n" + strings.Repeat("z", 40),
		"a\"b,\"c\"\"\",d\r\r\n", strings.Repeat("q", 40) + "\n",
	} {
		f.Add([]byte(s))
	}
	const limit = 32
	f.Fuzz(func(t *testing.T, data []byte) {
		g := newLineGuard(bytes.NewReader(data))
		g.max = limit
		guarded := csv.NewReader(g)
		guarded.FieldsPerRecord, guarded.LazyQuotes = -1, true
		var refused error
		for {
			rec, err := guarded.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if IsLimit(err) {
					refused = err
				}
				break
			}
			n := 0
			for _, v := range rec {
				n += len(v)
			}
			if n > limit {
				t.Fatalf("the guard let through a record of %d bytes (limit %d): %q", n, limit, rec)
			}
		}
		if refused == nil {
			return
		}
		// Unguarded, encoding/csv must find a record spanning more than the limit.
		plain := csv.NewReader(bytes.NewReader(data))
		plain.FieldsPerRecord, plain.LazyQuotes = -1, true
		var prev int64
		for {
			_, err := plain.Read()
			off := plain.InputOffset()
			if off-prev > limit {
				return
			}
			prev = off
			if err != nil && (errors.Is(err, io.EOF) || off >= int64(len(data))) {
				break
			}
		}
		t.Fatalf("refused (%v) though every record is within %d bytes: %q", refused, limit, data)
	})
}

// FuzzXLSXParts reads arbitrary sheet and shared-string XML inside a valid workbook: the
// reader never panics, and whatever rows it returns are within the limits.
func FuzzXLSXParts(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>金额</t></is></c></row><row r="3"><c t="s"><v>1</v></c><c><v>5000</v></c></row>`,
		`<sst><si><t>姓名</t></si><si><r><t>张</t></r><r><t>三</t></r><rPh><t>ZS</t></rPh></si></sst>`)
	f.Add(`<row><c r="XFD1"><v>1</v></c></row><row r="0"/>`, `<sst><si><t>_x000D_</t></si></sst>`)
	f.Add(`<row><c t="s"><v>7</v></c></row>`, `<sst><si></si>`)
	f.Add(`<row><c><f>1+1</f><v>2</v></c><c t="b"><v>1</v></c></row>`, ``)
	f.Fuzz(func(t *testing.T, sheetXML, sstXML string) {
		var buf bytes.Buffer
		if err := writeTestXLSX(&buf, `<worksheet><sheetData>`+sheetXML+`</sheetData></worksheet>`, sstXML); err != nil {
			t.Fatal(err)
		}
		r, err := New(bytes.NewReader(buf.Bytes()))
		if err != nil {
			return
		}
		defer r.Close()
		check := func(rec []string) {
			if len(rec) > MaxColumns {
				t.Fatalf("row of %d columns", len(rec))
			}
			for _, v := range rec {
				if utf8.RuneCountInString(v) > MaxCellChars {
					t.Fatalf("cell of %d characters", utf8.RuneCountInString(v))
				}
			}
		}
		check(r.Header())
		last := 0
		for i := 0; i < 10000; i++ {
			rec, n, err := r.Next()
			if err != nil {
				return
			}
			if n <= last {
				t.Fatalf("row number %d after %d", n, last)
			}
			last = n
			check(rec)
		}
	})
}
