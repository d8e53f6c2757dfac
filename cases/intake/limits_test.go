package intake_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
)

// Rows that may warn wait for their registry lookup in chunks; the chunks in flight are
// bounded by their bytes too, not only their count. Here each row is ~0.9 MB of extra
// columns (one long shared string cited ten times, so the file stays small) and none
// warns after the lookup, so nothing is stored: without the byte bound the 300 rows'
// details, ~270 MB, would all wait in one chunk.
func TestWideRowsDoNotPileUpInChunks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	long := strings.Repeat("长", 30000)
	cols := []string{"姓名", "身份证号", "乡镇", "住院自付累计", "门诊统筹费用", "门特费用"}
	var head strings.Builder
	head.WriteString(sheettest.SheetHead + "<row>")
	for _, c := range cols {
		head.WriteString(`<c t="inlineStr"><is><t>` + c + `</t></is></c>`)
	}
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&head, `<c t="inlineStr"><is><t>附注%d</t></is></c>`, i)
	}
	head.WriteString("</row>")
	var rows strings.Builder
	const n = 300
	for i := 0; i < n; i++ {
		// 6000 yuan 住院: a warning only if the person turns out 建档立卡, which nobody here is.
		fmt.Fprintf(&rows, `<row><c t="inlineStr"><is><t>甲</t></is></c><c t="inlineStr"><is><t>%s</t></is></c>`+
			`<c t="inlineStr"><is><t>城关镇</t></is></c><c><v>6000</v></c><c><v>0</v></c><c><v>0</v></c>%s</row>`,
			f.gen.IDNumber(1970), strings.Repeat(`<c t="s"><v>0</v></c>`, 10))
	}
	var file bytes.Buffer
	err := sheettest.WriteXLSX(&file, sheettest.Part{Head: []byte(head.String() + rows.String()), Tail: []byte(sheettest.SheetTail)},
		sheettest.Part{Name: "xl/sharedStrings.xml", Head: []byte(`<sst><si><t>` + long + `</t></si></sst>`)})
	if err != nil {
		t.Fatal(err)
	}
	var b cases.Batch
	peak := sheettest.HeapPeak(func() { b = f.importBytes(t, "医保局", cases.CatMedical, file.Bytes()) })
	if b.Rows != n || b.Accepted != n || b.Warnings != 0 {
		t.Fatalf("rows %d accepted %d warnings %d; want %d, %d, 0; errors %v", b.Rows, b.Accepted, b.Warnings, n, n, b.Errors)
	}
	t.Logf("peak heap %d MB", peak>>20)
	if peak > 128<<20 {
		t.Fatalf("importing took %d MB of heap; want the chunks in flight bounded (under 128 MB)", peak>>20)
	}
}

// A row error quotes the cell it is about, but not 30,000 characters of it: 10,000 such
// errors would otherwise make an answer of a gigabyte.
func TestRowErrorsQuoteLongCellsClipped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	town := strings.Repeat("镇", 30000)
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用",
		"甲,"+f.gen.IDNumber(1970)+","+town+",1,0,0"))
	if b.Rejected != 1 || len(b.Errors) != 1 {
		t.Fatalf("%+v", b)
	}
	m := []rune(b.Errors[0].Message)
	if len(m) > 210 || !strings.HasPrefix(string(m), "乡镇“镇镇") || !strings.HasSuffix(string(m), "……") {
		t.Fatalf("message of %d characters: %.40q…", len(m), string(m))
	}
}
