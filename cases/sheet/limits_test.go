package sheet_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
)

func heapPeak(t *testing.T, fn func()) uint64 {
	t.Helper()
	return sheettest.HeapPeak(fn)
}

// readAll opens the table and reads every row; it returns the first error.
func readAll(open func() (*sheet.Reader, error)) (rows int, err error) {
	r, err := open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for {
		_, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows++
	}
}

func writeFile(t *testing.T, name string, write func(w io.Writer) error) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

const memBound = 64 << 20 // far under the process's 256 MB: the reader's own share

// expectLimit checks err is a refusal naming want.
func expectLimit(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !sheet.IsLimit(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v; want a limit error naming %q", err, want)
	}
}

func TestCSVHugeHeaderLineIsRefusedInBoundedMemory(t *testing.T) {
	// A 60 MB header line, as in the attack: streamed, never held.
	var err error
	peak := heapPeak(t, func() {
		_, err = readAll(func() (*sheet.Reader, error) {
			return sheet.New(sheettest.NewReader("姓名,身份证号", ",列", 60<<20))
		})
	})
	expectLimit(t, err, "文件第 1 行超过 1 MB 的单行上限")
	if peak > memBound {
		t.Errorf("reading took %d MB of heap, want under %d MB", peak>>20, memBound>>20)
	}
}

func TestCSVQuotedFieldOverLinesIsBounded(t *testing.T) {
	// One record whose quoted field spans many short lines: still one record, still 1 MB.
	_, err := readAll(func() (*sheet.Reader, error) {
		return sheet.New(sheettest.NewReader("a,b\n1,\"", "x\n", 3<<20))
	})
	expectLimit(t, err, "文件第 2 行超过 1 MB 的单行上限")
}

func TestCSVStrayQuoteIsNotMistakenForALongLine(t *testing.T) {
	// A lone quote inside an unquoted cell (12" etc.) opens nothing: the 2 MB after it are
	// ordinary short lines.
	body := "名称,数量\n显示器 27\",1\n" + strings.Repeat("甲,2\n", 300000)
	rows, err := readAll(func() (*sheet.Reader, error) { return sheet.New(strings.NewReader(body)) })
	if err != nil || rows != 300001 {
		t.Fatalf("rows %d, err %v; want 300001 rows", rows, err)
	}
}

func TestCSVOverFileLimitIsRefused(t *testing.T) {
	var err error
	peak := heapPeak(t, func() {
		_, err = readAll(func() (*sheet.Reader, error) {
			return sheet.New(sheettest.NewReader("姓名,乡镇,说明\n", "张三,城关镇,"+strings.Repeat("这是一段较长的说明", 4)+"\n", sheet.MaxFileBytes+10))
		})
	})
	expectLimit(t, err, "50 MB")
	if peak > memBound {
		t.Errorf("reading took %d MB of heap", peak>>20)
	}
	// The same from a file on disk is refused by its size before it is read.
	p := filepath.Join(t.TempDir(), "big.csv")
	f, _ := os.Create(p)
	f.Truncate(sheet.MaxFileBytes + 1)
	f.Close()
	_, err = sheet.Open(p)
	expectLimit(t, err, "文件超过 50 MB 的上限")
}

func TestCSVRowsColumnsAndCells(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"columns", "a,b\n1," + strings.Repeat(",", 300) + "x\n", "文件第 2 行超过 256 列的上限"},
		{"cell", "a,b\n1," + strings.Repeat("字", sheet.MaxCellChars+1) + "\n", "文件第 2 行第 2 列的单元格超过 32,767 个字符的上限"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(func() (*sheet.Reader, error) { return sheet.New(strings.NewReader(tc.file)) })
			expectLimit(t, err, tc.want)
		})
	}
	// Trailing empty cells beyond 256 columns (a spreadsheet's trailing commas) are fine,
	// and a cell of exactly 32,767 characters too.
	ok := "a,b\n1," + strings.Repeat("字", sheet.MaxCellChars) + strings.Repeat(",", 400) + "\n"
	if rows, err := readAll(func() (*sheet.Reader, error) { return sheet.New(strings.NewReader(ok)) }); err != nil || rows != 1 {
		t.Fatalf("rows %d, err %v", rows, err)
	}
	// 1,048,576 rows with the header is the most; one more is refused.
	at := sheettest.NewReader("a\n", "1\n", 2*int64(sheet.MaxRows))
	if rows, err := readAll(func() (*sheet.Reader, error) { return sheet.New(at) }); err != nil || rows != sheet.MaxRows-1 {
		t.Fatalf("rows %d, err %v; want %d", rows, err, sheet.MaxRows-1)
	}
	over := sheettest.NewReader("a\n", "1\n", 2*int64(sheet.MaxRows)+2)
	_, err := readAll(func() (*sheet.Reader, error) { return sheet.New(over) })
	expectLimit(t, err, "1,048,576 行")
}

// row is a sheet row with one inline-string cell, as Excel's "write as text" stores it.
const row = `<row><c t="inlineStr"><is><t>城关镇</t></is></c></row>`

func TestXLSXBombDeclaredSizeIsRefused(t *testing.T) {
	// 2 MB on disk, 1.5 GB unpacked, and the zip says so.
	p := writeFile(t, "bomb.xlsx", func(w io.Writer) error {
		return sheettest.WriteXLSX(w, sheettest.Part{Head: []byte(sheettest.SheetHead), Repeat: []byte(row),
			Times: 1500 << 20 / int64(len(row)), Tail: []byte(sheettest.SheetTail)})
	})
	var err error
	start := time.Now()
	peak := heapPeak(t, func() { _, err = readAll(func() (*sheet.Reader, error) { return sheet.Open(p) }) })
	expectLimit(t, err, "解压后超过 500 MB 的上限")
	if peak > memBound || time.Since(start) > 5*time.Second {
		t.Errorf("refusing took %d MB of heap and %v", peak>>20, time.Since(start))
	}
}

func TestXLSXBombLyingHeaderIsRefused(t *testing.T) {
	// The zip claims 2 MB for a sheet that inflates to 1.5 GB.
	p := writeFile(t, "liar.xlsx", func(w io.Writer) error {
		return sheettest.WriteXLSX(w, sheettest.Part{Head: []byte(sheettest.SheetHead), Repeat: []byte(row),
			Times: 1500 << 20 / int64(len(row)), Tail: []byte(sheettest.SheetTail), Declared: 2 << 20})
	})
	var err error
	peak := heapPeak(t, func() { _, err = readAll(func() (*sheet.Reader, error) { return sheet.Open(p) }) })
	expectLimit(t, err, "解压后比它声明的 2097152 字节更大")
	if peak > memBound {
		t.Errorf("refusing took %d MB of heap", peak>>20)
	}
	// The same file through New (held in memory, no file): the same refusal.
	b, _ := os.ReadFile(p)
	_, err = readAll(func() (*sheet.Reader, error) { return sheet.New(bytes.NewReader(b)) })
	expectLimit(t, err, "解压后比它声明的")
}

func TestXLSXLimits(t *testing.T) {
	long := strings.Repeat("长", sheet.MaxCellChars+1)
	for _, tc := range []struct {
		name  string
		sheet sheettest.Part
		extra []sheettest.Part
		want  string
	}{
		{"rows", sheettest.Part{Repeat: []byte(row), Times: 3, Tail: []byte(`<row r="1048577"><c t="inlineStr"><is><t>x</t></is></c></row>`)},
			nil, "1,048,576 行"},
		{"columns", sheettest.Part{Repeat: []byte(row), Times: 1, Tail: []byte(`<row><c r="IW2" t="inlineStr"><is><t>x</t></is></c></row>`)},
			nil, "文件第 2 行超过 256 列的上限"},
		{"inline cell", sheettest.Part{Repeat: []byte(row), Times: 1, Tail: []byte(`<row><c r="B2" t="inlineStr"><is><t>` + long + `</t></is></c></row>`)},
			nil, "文件第 2 行第 2 列的单元格超过 32,767 个字符的上限"},
		{"huge value", sheettest.Part{Repeat: []byte(row), Times: 1, Tail: []byte(`<row><c><v>` + strings.Repeat("9", 3<<20) + `</v></c></row>`)},
			nil, "文件第 2 行第 1 列的单元格超过 32,767 个字符的上限"},
		{"huge tag", sheettest.Part{Repeat: []byte(row), Times: 1, Tail: []byte(`<row><c r="A2" x="` + strings.Repeat("9", 3<<20) + `"><v>1</v></c></row>`)},
			nil, "超过 1 MB 的内容"},
		{"row text", sheettest.Part{Repeat: []byte(row), Times: 1,
			Tail: []byte(`<row>` + strings.Repeat(`<c t="s"><v>0</v></c>`, 100) + `</row>`)},
			[]sheettest.Part{{Name: "xl/sharedStrings.xml", Head: []byte(`<sst><si><t>` + strings.Repeat("x", 30000) + `</t></si></sst>`)}},
			"文件第 2 行超过 1 MB 的单行上限"},
		{"shared strings", sheettest.Part{Repeat: []byte(row), Times: 1},
			[]sheettest.Part{{Name: "xl/sharedStrings.xml", Head: []byte(`<sst>`), Repeat: []byte(`<si><t>` + strings.Repeat("甲乙丙丁", 200) + `</t></si>`), Times: 30000, Tail: []byte(`</sst>`)}},
			"共享字符串表）超过 64 MB 的上限"},
		{"shared string cell", sheettest.Part{Repeat: []byte(row), Times: 1},
			[]sheettest.Part{{Name: "xl/sharedStrings.xml", Head: []byte(`<sst><si><r><t>` + long + `</t></r></si></sst>`)}},
			"共享字符串第 1 条超过 32,767 个字符的单元格上限"},
		{"nesting", sheettest.Part{Repeat: []byte(row), Times: 1, Tail: []byte(`<row><c>` + strings.Repeat("<x>", 100) + `</c></row>`)},
			nil, "嵌套超过 64 层"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.sheet.Head = append([]byte(sheettest.SheetHead), tc.sheet.Head...)
			tc.sheet.Tail = append(tc.sheet.Tail, sheettest.SheetTail...)
			p := writeFile(t, "t.xlsx", func(w io.Writer) error { return sheettest.WriteXLSX(w, tc.sheet, tc.extra...) })
			var err error
			peak := heapPeak(t, func() { _, err = readAll(func() (*sheet.Reader, error) { return sheet.Open(p) }) })
			expectLimit(t, err, tc.want)
			if peak > 2*memBound {
				t.Errorf("refusing took %d MB of heap", peak>>20)
			}
		})
	}
}

func TestXLSXZipDirectoryIsBounded(t *testing.T) {
	p := writeFile(t, "parts.xlsx", func(w io.Writer) error {
		extra := make([]sheettest.Part, 30000)
		for i := range extra {
			extra[i] = sheettest.Part{Name: strings.Repeat("p", 20) + string(rune('a'+i%26)) + "/" + itoa(i)}
		}
		return sheettest.WriteXLSX(w, sheettest.Part{Head: []byte(sheettest.SheetHead + row), Tail: []byte(sheettest.SheetTail)}, extra...)
	})
	_, err := sheet.Open(p)
	expectLimit(t, err, "部件目录超过 1 MB 的上限")
}

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		if i /= 10; i == 0 {
			return s
		}
	}
}

// An ordinary generated workbook reads the same as before: values raw, gaps kept as the
// sheet's own row numbers, shared strings with rich text and phonetic guides.
func TestXLSXReadsRowsAndValues(t *testing.T) {
	p := writeFile(t, "ok.xlsx", func(w io.Writer) error {
		return sheettest.WriteXLSX(w, sheettest.Part{Head: []byte(sheettest.SheetHead +
			`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>金额</t></is></c></row>` +
			`<row r="4" spans="1:3"><c r="A4" t="s"><v>1</v></c><c r="B4"><f>1+1</f><v>2</v></c><c r="C4" s="1"><v>5000.5</v></c></row>` +
			`<row r="5"><c r="A5" t="str"><v>a_x000D_b</v></c><c r="XFD5" s="2"/></row>` +
			sheettest.SheetTail)},
			sheettest.Part{Name: "xl/sharedStrings.xml", Head: []byte(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
				`<si><t xml:space="preserve"> 姓名 </t></si><si><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r><rPh><t>ZHANG</t></rPh></si></sst>`)})
	})
	r, err := sheet.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h := r.Header(); len(h) != 3 || h[0] != "姓名" || h[1] != "" || h[2] != "金额" {
		t.Fatalf("header %q", h)
	}
	var got []string
	var nums []int
	for {
		rec, n, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join(rec, "|"))
		nums = append(nums, n)
	}
	if len(got) != 2 || got[0] != "张三|2|5000.5" || got[1] != "a_x000D_b" || nums[0] != 4 || nums[1] != 5 {
		t.Fatalf("rows %q at %v", got, nums)
	}
}
