package intake_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
)

func TestPlaceHeader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		cat      cases.Category
		header   []string
		aliases  intake.Aliases
		columns  map[string]int
		missing  []string
		unplaced []string
	}{
		{"synonyms, units, breaks, full width", cases.CatMedical,
			[]string{"序号", "参保人姓名", "证 件 号 码", "所属乡镇", "村（社区）", "住院自付\n累计（元）", "门诊统筹费用(元)", "门特费用【元】"},
			nil, map[string]int{"姓名": 1, "身份证号": 2, "乡镇": 3, "村": 4, "住院自付累计": 5, "门诊统筹费用": 6, "门特费用": 7},
			nil, []string{"序号"}},
		{"户主姓名 is 姓名 only without 姓名", cases.CatAssistance,
			[]string{"户主姓名", "姓名", "身份证号码", "乡镇（街道）", "保障类别", "批准日期"},
			nil, map[string]int{"姓名": 1, "身份证号": 2, "乡镇": 3, "救助类别": 4, "认定日期": 5},
			nil, []string{"户主姓名"}},
		{"户主姓名 as 姓名", cases.CatAssistance,
			[]string{"户主姓名", "公民身份号码", "乡（镇）", "救助类型", "审批日期"},
			nil, map[string]int{"姓名": 0, "身份证号": 1, "乡镇": 2, "救助类别": 3, "认定日期": 4}, nil, nil},
		{"自付金额 is medical's only", cases.CatIndustry,
			[]string{"姓名", "身份证号", "乡镇", "产业项目", "损失金额", "自付金额"},
			nil, map[string]int{"姓名": 0, "身份证号": 1, "乡镇": 2, "产业项目": 3, "损失金额": 4}, nil, []string{"自付金额"}},
		{"a department's own words first", cases.CatMedical,
			[]string{"姓名", "身份证号", "乡镇", "个人负担（元）", "门诊", "门特费用"},
			intake.Aliases{"个人负担（元）": "住院自付累计", "门诊": "门诊统筹费用"},
			map[string]int{"姓名": 0, "身份证号": 1, "乡镇": 2, "住院自付累计": 3, "门诊统筹费用": 4, "门特费用": 5}, nil, nil},
		{"missing named", cases.CatMedical,
			[]string{"姓名", "身份证号", "乡镇", "个人负担"},
			nil, map[string]int{"姓名": 0, "身份证号": 1, "乡镇": 2},
			[]string{"住院自付累计", "门诊统筹费用", "门特费用"}, []string{"个人负担"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := intake.Place(c.header, c.cat, c.aliases)
			if !reflect.DeepEqual(p.Columns, c.columns) || !reflect.DeepEqual(p.Missing, c.missing) || !reflect.DeepEqual(p.Unplaced, c.unplaced) {
				t.Errorf("columns %v missing %q unplaced %q;\nwant %v missing %q unplaced %q", p.Columns, p.Missing, p.Unplaced, c.columns, c.missing, c.unplaced)
			}
		})
	}
}

// Totals and footer lines are skipped and counted, wherever the 合计 stands in the first
// three cells; a blank row inside the data is passed over; a row that only mentions 合计
// further right is data.
func TestTotalsAndFootersAreSkipped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := func() string { return f.gen.IDNumber(1970) }
	b := f.importBytes(t, "医保局", cases.CatMedical, csvOf("序号,姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用,备注",
		"1,王试一,"+id()+",城关镇,100,0,0,",
		",,,,,,,",
		"2,王试二,"+id()+",城关镇,200,0,0,合计以后再报",
		"小 计,,,,300,0,0,",
		",合  计,,,300,0,0,",
		"总计：,,,,300,0,0,",
		"制表人：刘某某      审核人：陈某某,,,,,,,",
		"注：金额单位为元,,,,,,,",
		"备注：无,,,,,,,",
		"联系电话：0000-1234567,,,,,,,",
	))
	if b.Rows != 2 || b.Accepted != 2 || b.Skipped != 7 || len(b.Errors) != 0 {
		t.Errorf("rows %d accepted %d skipped %d errors %+v; want 2 2 7 none", b.Rows, b.Accepted, b.Skipped, b.Errors)
	}
}

func TestMatchCategoryAndInspect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	medical := write("医保.csv", "标题\n姓名,证件号码,乡镇,住院自付累计（元）,门诊统筹费用,门特费用\n王,1,城关镇,1,0,0\n")
	odd := write("怪.csv", "姓名,身份证号,乡镇,个人负担,门诊统筹费用,门特费用,经办人\n王,1,城关镇,1,0,0,张\n")
	if c, err := intake.MatchCategory(medical, []cases.Category{cases.CatAssurance, cases.CatMedical}, nil); err != nil || c != cases.CatMedical {
		t.Errorf("medical file: %s %v", c, err)
	}
	// The chat delivery's question: which categories fit, the header under a title and in
	// other words.
	if got, err := intake.MatchCategories(medical, []cases.Category{cases.CatAssurance, cases.CatMedical}); err != nil || !reflect.DeepEqual(got, []cases.Category{cases.CatMedical}) {
		t.Errorf("MatchCategories: %v %v; want medical", got, err)
	}
	if _, err := intake.MatchCategory(odd, []cases.Category{cases.CatAssurance, cases.CatMedical}, nil); err == nil || !strings.Contains(err.Error(), "请选择类别") {
		t.Errorf("odd file: %v; want to be asked", err)
	}
	in, err := intake.Inspect(odd, cases.CatMedical, nil)
	if err != nil || in.Matched || in.Row != 1 || !reflect.DeepEqual(in.Placement.Missing, []string{"住院自付累计"}) ||
		!reflect.DeepEqual(in.Placement.Unplaced, []string{"个人负担", "经办人"}) || len(in.Header) != 7 {
		t.Errorf("inspect: %+v %v", in, err)
	}
	// The liaison's answer, stored for the department, places it next time.
	aliases := intake.Aliases{"个人负担": "住院自付累计"}
	if in, err := intake.Inspect(odd, cases.CatMedical, aliases); err != nil || !in.Matched {
		t.Errorf("inspect with the answer: %+v %v", in, err)
	}
	if c, err := intake.MatchCategory(odd, []cases.Category{cases.CatAssurance, cases.CatMedical}, aliases); err != nil || c != cases.CatMedical {
		t.Errorf("odd file with the answer: %s %v", c, err)
	}
	f := setup(t)
	b, err := intake.ImportFile(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
		Period: "2026-11", Today: cases.NewDate(2026, 12, 7), Aliases: aliases}, odd)
	if err != nil || b.Rows != 1 {
		t.Errorf("import with aliases: %+v %v", b, err)
	}
}

// A department's own value words (stored with its mapping) are taken like the built-in ones.
func TestValueAliases(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.gen.IDNumber(1970)
	file := csvOf("姓名,身份证号,乡镇,保障类别,审批日期", "王试一,"+id+",城关镇,农村五保对象,2026-11-02", "王试二,"+f.gen.IDNumber(1971)+",城关镇,分散供养,2026-11-02")
	r, err := sheet.New(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := intake.Import(context.Background(), f.db, intake.Request{Department: "民政局", Category: cases.CatAssistance, Period: "2026-10",
		SHA256: sum(file), Today: cases.NewDate(2026, 11, 3), ValueAliases: map[string]map[string]string{"救助类别": {"农村五保对象": "特困"}}}, r)
	if err != nil || b.Accepted != 1 || len(b.Errors) != 1 || b.Errors[0].Row != 3 || !strings.Contains(b.Errors[0].Message, "分散供养") {
		t.Fatalf("%+v %v; want row 2 taken (农村五保对象 → 特困), row 3 refused", b, err)
	}
	var detail string
	if err := f.db.Get(&detail, `SELECT detail::text FROM warnings WHERE batch_id = $1 AND row_no = 2`, b.ID); err != nil {
		t.Fatal(err)
	}
	if detail = pgtest.Open(t, f.db, detail); !strings.Contains(detail, `"救助类别":"特困"`) {
		t.Errorf("detail %s; want 救助类别 特困", detail)
	}
}

func TestDatesNeverGuessed(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"2026-11-05": "2026-11-05", "2026/11/5": "2026-11-05", "2026.11.5": "2026-11-05", "20261105": "2026-11-05",
		"2026年11月5日": "2026-11-05", "46331": "2026-11-05", "2026-11-05 08:30:00": "2026-11-05",
		"2026.11": "没有写到日", "2026-11": "没有写到日", "2026年11月": "没有写到日", "2026/11": "没有写到日", "202611": "没有写到日",
		"2026": "不是有效的日期", "2101-01-01": "1900 年到 2100 年", "1899-12-31": "格式不对", "2026-02-30": "格式不对",
	} {
		d, err := intake.NormalizeDate(in)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = d.String()
		}
		if !strings.Contains(got, want) {
			t.Errorf("NormalizeDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIDMarksAreCleaned(t *testing.T) {
	t.Parallel()
	const id = "990208196603059510"
	for _, in := range []string{"'" + id, id + "'", `="` + id + `"`, "‘" + id + "’", "\t" + id, " " + id + "\u3000"} {
		if got := intake.NormalizeID(in); got != id {
			t.Errorf("NormalizeID(%q) = %q", in, got)
		}
	}
}

// docs/reference.md is what a county tells its departments: it must name every column of
// every category, every built-in synonym and every value word the reader takes.
func TestReferenceListsEveryColumnAndSynonym(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, cat := range cases.Categories {
		if !strings.Contains(doc, "`"+string(cat)+"`") {
			t.Errorf("reference.md does not list category %s", cat)
		}
		for _, c := range intake.ColumnsOf(cat) {
			if !strings.Contains(doc, c) {
				t.Errorf("reference.md does not name column %s (%s)", c, cat)
			}
			for _, s := range intake.Synonyms(c) {
				s, _, _ = strings.Cut(s, "（仅当")
				if !strings.Contains(doc, s) {
					t.Errorf("reference.md does not list %s as another name of %s", s, c)
				}
			}
			for v, words := range intake.ValueWords(c) {
				for _, w := range words {
					if !strings.Contains(doc, w) {
						t.Errorf("reference.md does not list %s → %s", w, v)
					}
				}
			}
		}
	}
}

// Row numbers are the file's own: under two title rows the header is row 3 and the first
// data row 4. A workbook none of whose sheets has the header is refused naming the best
// row, its sheet and what it lacks.
func TestRowNumbersUnderTitlesAndBestCandidate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dir := t.TempDir()
	titled := filepath.Join(dir, "医保.csv")
	os.WriteFile(titled, []byte("XX县医疗保障局2026年11月明细表\n单位：元\n姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n甲,990101199001011234,城关镇,1,0,0\n"), 0o600)
	b, err := intake.ImportFile(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
		Period: "2026-11", Today: cases.NewDate(2026, 12, 7)}, titled)
	if err != nil || len(b.Errors) != 1 || b.Errors[0].Row != 4 || b.Errors[0].Column != "身份证号" {
		t.Errorf("titled file: %+v %v; want the bad ID on row 4", b, err)
	}
	book := filepath.Join(dir, "医保.xls")
	out, _ := os.Create(book)
	sheettest.WriteXLS(out, []sheettest.XLSSheet{
		{Name: "说明", Rows: [][]any{{"填表说明：身份证号请设为文本"}}},
		{Name: "数据", Rows: [][]any{{"明细表"}, {"姓名", "证件号码", "乡镇", "住院自付累计"}, {"甲", "1", "城关镇", sheettest.Number(1)}}},
	})
	out.Close()
	_, err = intake.ImportFile(context.Background(), f.db, intake.Request{Department: "医保局", Category: cases.CatMedical,
		Period: "2026-11", Today: cases.NewDate(2026, 12, 7)}, book)
	if err == nil || !strings.Contains(err.Error(), "工作表“数据”第 2 行") || !strings.Contains(err.Error(), "“门诊统筹费用”、“门特费用”") {
		t.Errorf("no sheet with the header: %v; want the best row (数据, row 2) and what it lacks", err)
	}
}
