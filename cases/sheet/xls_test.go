package sheet_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
)

func xlsFile(t *testing.T, sheets []sheettest.XLSSheet) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := sheettest.WriteXLS(&buf, sheets); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rowsOf reads sheet i from its first row: row number → cells.
func rowsOf(t *testing.T, b *sheet.Book, i int) map[int][]string {
	t.Helper()
	r, err := b.Sheet(i)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := r.FindHeader(func([]string, int) bool { return true }); !ok || err != nil {
		t.Fatalf("no first row: %v", err)
	}
	out := map[int][]string{r.HeaderRow: append([]string(nil), r.Header()...)}
	for {
		rec, n, err := r.Next()
		if err != nil {
			break
		}
		out[n] = append([]string(nil), rec...)
	}
	return out
}

// A generated .xls: every kind of cell Excel and WPS write, a shared-string table long
// enough to run over CONTINUE records (a string cut in the middle), two sheets.
func TestXLSReadsWhatExcelWrites(t *testing.T) {
	long := strings.Repeat("示例乡镇名称很长", 700) // 5,600 characters: over one record
	text := "公式的文字结果"
	var many [][]any
	many = append(many, []any{"序号", "名称"})
	for i := 0; i < 3000; i++ {
		many = append(many, []any{sheettest.Number(i + 1), "名称" + strings.Repeat("甲", i%7) + string(rune('A'+i%26)) + itoa(i)})
	}
	data := xlsFile(t, []sheettest.XLSSheet{
		{Name: "说明", Rows: [][]any{{"填表说明"}}},
		{Name: "数据", Rows: [][]any{
			{"XX县医疗保障局明细表"},
			nil,
			{"姓名", "身份证号", "金额", "日期", "公式", "文字公式", "长文字"},
			{sheettest.Text("王试一"), "99011219820526121X", sheettest.Number(4999.99), sheettest.Date(46331), sheettest.Formula{Number: 6200.5}, sheettest.Formula{Text: &text}, long},
			{"王试二", sheettest.Number(990606198610189696), sheettest.Number(-12), sheettest.Date(46331.5), sheettest.Formula{Number: 0}, nil, nil},
			{nil, nil, nil, nil, nil, nil, nil, sheettest.Chart{}},
			{"王试三"},
		}},
		{Name: "多", Rows: many},
	})
	b, err := sheet.NewBook(bytes.NewReader(data), "明细.xls")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Format != "xls" || !reflect.DeepEqual(b.Sheets(), []string{"说明", "数据", "多"}) {
		t.Fatalf("format %s sheets %q", b.Format, b.Sheets())
	}
	got := rowsOf(t, b, 1)
	want := map[int][]string{
		1: {"XX县医疗保障局明细表"},
		3: {"姓名", "身份证号", "金额", "日期", "公式", "文字公式", "长文字"},
		4: {"王试一", "99011219820526121X", "4999.99", "2026-11-05", "6200.5", text, long},
		// An ID stored as a number shows as one (never as 18 digits that look valid); a
		// date with a time keeps it.
		5: {"王试二", "9.906061986101897E+17", "-12", "2026-11-05 12:00:00", "0"},
		// An embedded chart's substream between rows is passed over.
		7: {"王试三"},
	}
	if !reflect.DeepEqual(got, want) {
		for n := range want {
			if !reflect.DeepEqual(got[n], want[n]) {
				t.Errorf("row %d: %q, want %q", n, got[n], want[n])
			}
		}
		t.Fatalf("rows %v", len(got))
	}
	all := rowsOf(t, b, 2)
	if len(all) != 3001 || all[3001][1] != many[3000][1].(string) || all[1500][0] != "1499" {
		t.Errorf("third sheet: %d rows, row 3001 %q, row 1500 %q", len(all), all[3001], all[1500])
	}
}

// The content decides the format, whatever the name: a .xls that is a CSV, a .csv that is
// an .xls, a .txt with tabs.
func TestFormatByContent(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	xls := xlsFile(t, []sheettest.XLSSheet{{Name: "表1", Rows: [][]any{{"姓名", "乡镇"}, {"王", "城关镇"}}}})
	for _, c := range []struct {
		name, format string
		data         []byte
	}{
		{"a.csv", "xls", xls},
		{"a.xls", "csv", []byte("姓名,乡镇\n王,城关镇\n")},
		{"a.txt", "tsv", []byte("姓名\t乡镇\r\n王\t城关镇\r\n")},
		{"a.csv", "tsv", []byte("姓名\t乡镇\n王\t城关镇\n")},
		// Excel's 另存为 "Unicode 文本": UTF-16 with a BOM, tab-separated.
		{"a.txt", "tsv", utf16le("\ufeff姓名\t乡镇\r\n王\t城关镇\r\n")},
	} {
		b, err := sheet.OpenBook(write(c.name, c.data))
		if err != nil {
			t.Fatalf("%s as %s: %v", c.name, c.format, err)
		}
		got := rowsOf(t, b, 0)
		b.Close()
		if b.Format != c.format || !reflect.DeepEqual(got[2], []string{"王", "城关镇"}) {
			t.Errorf("%s: format %s rows %v; want %s", c.name, b.Format, got, c.format)
		}
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// Broken and hostile containers are refused by what they declare, before reading it.
func TestXLSContainerChecks(t *testing.T) {
	good := xlsFile(t, []sheettest.XLSSheet{{Name: "表", Rows: [][]any{{"姓名"}, {"王"}}}})
	patch := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	le := binary.LittleEndian
	// The generated layout: header, FAT sector 0 (at 512), directory sector 1 (at 1024), the stream from sector 2.
	for _, c := range []struct {
		name, says string
		data       []byte
		limit      bool
	}{
		{"FAT bigger than the file", "比文件本身还大", patch(func(b []byte) { le.PutUint32(b[44:], 1<<20) }), true},
		// 10 FAT sectors for a file of 10 sectors: 1,280 entries where 10 are needed.
		{"FAT far larger than needed", "比文件本身还大", patch(func(b []byte) { le.PutUint32(b[44:], 10) }), true},
		{"stream declares 40 MB", "比文件本身还大", patch(func(b []byte) { le.PutUint64(b[1024+128+120:], 40<<20) }), true},
		{"stream declares 4 GB", "超过 50 MB 的上限", patch(func(b []byte) { le.PutUint32(b[1024+128+120:], 0xFFFFFFF0) }), true},
		{"chain loops", "成环", patch(func(b []byte) { le.PutUint32(b[512+4*2:], 2) }), false},
		{"chain leaves the file", "扇区链指向文件之外", patch(func(b []byte) { le.PutUint32(b[512+4*2:], 99999) }), false},
		{"bad sector size", "扇区大小", patch(func(b []byte) { le.PutUint16(b[30:], 20) }), false},
		{"no workbook", "不是 Excel 表格", patch(func(b []byte) { copy(b[1024+128:], []byte{'W', 0, 'o', 0, 'r', 0, 'd', 0}) }), false},
		{"encrypted", "设置了密码", func() []byte {
			wb := sheettest.XLS([]sheettest.XLSSheet{{Name: "表", Rows: [][]any{{"姓名"}}}})
			wb = append(append(append([]byte{}, wb[:20]...), 0x2F, 0, 0, 0), wb[20:]...) // FILEPASS after BOF
			var buf bytes.Buffer
			sheettest.WriteCFB(&buf, []sheettest.Stream{{Name: "Workbook", Size: int64(len(wb)), R: bytes.NewReader(wb)}})
			return buf.Bytes()
		}(), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := sheet.NewBook(bytes.NewReader(c.data), "")
			if err == nil {
				defer b.Close()
				r, e := b.Sheet(0)
				if e == nil {
					_, e = r.FindHeader(func([]string, int) bool { return false })
				}
				err = e
			}
			if err == nil || !strings.Contains(err.Error(), c.says) || sheet.IsLimit(err) != c.limit {
				t.Fatalf("got %v (limit %v); want an error saying %q (limit %v)", err, sheet.IsLimit(err), c.says, c.limit)
			}
		})
	}
}

// Anything that is not a table is refused saying to save it as .xlsx.
func TestNotATableIsRefused(t *testing.T) {
	for name, data := range map[string][]byte{
		"名单.pdf":  []byte("%PDF-1.7"),
		"名单.et":   xlsFile(t, nil),
		"名单":      {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13},
		"名单.docx": []byte("PK\x03\x04"),
		"random":  bytes.Repeat([]byte{0x00, 0xff, 0x13, 0x80}, 100),
	} {
		_, err := sheet.NewBook(bytes.NewReader(data), name)
		if err == nil || !strings.Contains(err.Error(), "另存为 .xlsx") {
			t.Errorf("%s: %v; want a refusal saying 另存为 .xlsx", name, err)
		}
	}
	// A Word document is a zip too: without a workbook in it, it is refused the same way.
	var docx bytes.Buffer
	zw := zip.NewWriter(&docx)
	w, _ := zw.Create("word/document.xml")
	w.Write([]byte("<w:document/>"))
	zw.Close()
	if _, err := sheet.NewBook(bytes.NewReader(docx.Bytes()), "名单.xlsx"); err == nil || !strings.Contains(err.Error(), "另存为 .xlsx") {
		t.Errorf("a .docx named .xlsx: %v", err)
	}
	if _, err := sheet.NewBook(bytes.NewReader([]byte("%PDF-1.7\x00\x01")), "x.csv"); !errors.Is(err, sheet.ErrNotTable) {
		t.Errorf("PDF named .csv: %v", err)
	}
}
