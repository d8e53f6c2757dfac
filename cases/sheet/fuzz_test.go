package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fangpin/fangpin/cases/sheet/sheettest"
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

// readBook reads every sheet of a book as the intake does (a header searched for, then the
// rows), checking the bounds every reader keeps.
func readBook(t *testing.T, b *Book) {
	t.Helper()
	defer b.Close()
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
	for i := range b.Sheets() {
		r, err := b.Sheet(i)
		if err != nil {
			return
		}
		ok, err := r.FindHeader(func(cells []string, row int) bool { check(cells); return row > 1 })
		if err != nil || !ok {
			continue
		}
		last := r.HeaderRow
		for j := 0; j < 10000; j++ {
			rec, n, err := r.Next()
			if err != nil {
				break
			}
			if n <= last {
				t.Fatalf("row number %d after %d", n, last)
			}
			last = n
			check(rec)
		}
	}
}

// FuzzXLSWorkbook feeds the BIFF8 reader any Workbook stream, in a sound container.
func FuzzXLSWorkbook(f *testing.F) {
	s := "说明文字"
	f.Add(sheettest.XLS([]sheettest.XLSSheet{
		{Name: "说明", Rows: [][]any{{"本表说明"}}},
		{Name: "数据", Rows: [][]any{{"标题"}, {"姓名", "身份证号", "金额", "日期"},
			{sheettest.Text("张三"), "990101199001011234", sheettest.Number(5000.5), sheettest.Date(46331)},
			{nil, "李四", sheettest.Formula{Number: 12}, sheettest.Formula{Text: &s}}}},
	}))
	if b, err := os.ReadFile("../intake/testdata/department-files/c2_医保_旧版xls_带标题.xls"); err == nil {
		c, _ := openCFB(bytes.NewReader(b), int64(len(b)))
		if c != nil {
			if st, ok, _ := c.stream("Workbook"); ok {
				wb := make([]byte, st.size)
				st.ReadAt(wb, 0)
				f.Add(wb)
			}
		}
	}
	f.Fuzz(func(t *testing.T, wb []byte) {
		var buf bytes.Buffer
		if err := sheettest.WriteCFB(&buf, []sheettest.Stream{{Name: "Workbook", Size: int64(len(wb)), R: bytes.NewReader(wb)}}); err != nil {
			t.Fatal(err)
		}
		b, err := NewBook(bytes.NewReader(buf.Bytes()), "")
		if err != nil {
			return
		}
		readBook(t, b)
	})
}

// FuzzXLSContainer feeds the OLE2 reader any container bytes.
func FuzzXLSContainer(f *testing.F) {
	var buf bytes.Buffer
	sheettest.WriteXLS(&buf, []sheettest.XLSSheet{{Name: "表", Rows: [][]any{{"姓名", "金额"}, {"王五", sheettest.Number(1)}}}})
	f.Add(buf.Bytes())
	if b, err := os.ReadFile("../intake/testdata/department-files/c1_医保_旧版xls_规范表头.xls"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 8 || !bytes.HasPrefix(data, oleMagic) {
			data = append(append([]byte{}, oleMagic...), data...)
		}
		b, err := NewBook(bytes.NewReader(data), "")
		if err != nil {
			return
		}
		readBook(t, b)
	})
}
