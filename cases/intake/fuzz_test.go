package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/sheet"
)

func FuzzNormalizeAmount(f *testing.F) {
	for _, s := range []string{"5000", "4999.99", "5,000.00元", "５０００", "￥1,234.5", "-1", "1.234", "4999.9899999999998",
		"0.1000000000001", " 12 元 ", "1,2,3", "", "元", "1e5", "NaN", "9999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := NormalizeAmount(s)
		if err != nil {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error message not UTF-8: %q", err)
			}
			return
		}
		if m < 0 {
			t.Fatalf("NormalizeAmount(%q) = %v, negative", s, m)
		}
		back, err := NormalizeAmount(m.String())
		if err != nil || back != m {
			t.Fatalf("round trip of %q: %v → %v, %v", s, m, back, err)
		}
	})
}

func FuzzNormalizeDate(f *testing.F) {
	for _, s := range []string{"2026-11-05", "2026/11/5", "20261105", "46331", "46331.5", "２０２６年１１月５日",
		"2026-02-30", "0", "60", "99999999", "2026-11-05 08:00:00", "2026-11-05T08:00:00Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := NormalizeDate(s)
		if err != nil {
			return
		}
		if d.Year < 1900 || d.Year > 2999 {
			t.Fatalf("NormalizeDate(%q) = %v out of range", s, d)
		}
		if again, err := NormalizeDate(d.String()); err != nil || again != d {
			t.Fatalf("round trip of %q: %v → %v, %v", s, d, again, err)
		}
	})
}

func FuzzNormalizeID(f *testing.F) {
	for _, s := range []string{"11010519491231002x", " 11010519491231002X ", "１１０１０５１９４９１２３１００２Ｘ",
		"110105194912310021", "9.9070819851214675E+17", "", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := NormalizeID(s)
		if CheckID(id) != nil {
			return
		}
		if len(id) != 18 || cases.IDCheckChar(id[:17]) != id[17] || NormalizeID(id) != id {
			t.Fatalf("NormalizeID(%q) = %q accepted but not canonical", s, id)
		}
	})
}

// FuzzRows reads arbitrary bytes as a department file of every category: the reader and
// the row checks must never panic, every row is either accepted or reported with its row
// number, and an accepted row's detail is valid JSON.
func FuzzRows(f *testing.F) {
	f.Add([]byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n甲,11010519491231002x,城关镇,\"5,000.00元\",1,1\n"))
	f.Add([]byte("\xef\xbb\xbf姓名,身份证号,乡镇,灾害名称,灾害结束日期,受灾情况\n,,城关,暴雨,46331,\"a\"\"b\"\n"))
	f.Add([]byte("\xd0\xd5\xc3\xfb,\xc9\xed\xb7\xdd\xd6\xa4\xba\xc5,\xcf\xe7\xd5\xf2\n\xd5\xc5,1,2\n"))
	f.Add([]byte("姓名,身份证号,乡镇,类型\n甲,11010519491231002X,城关镇,零就业家庭\n甲,11010519491231002X,城关镇,零就业家庭\n\x00,\xff,\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cat := range cases.Categories {
			r, err := sheet.New(bytes.NewReader(data))
			if err != nil {
				return
			}
			cols, err := sheet.Columns(r.Header(), RequiredColumnsOf(cat), ColumnsOf(cat))
			if err != nil {
				r.Close()
				continue
			}
			header := make([]string, len(r.Header()))
			for i, h := range r.Header() {
				header[i] = NormalizeText(h)
			}
			p := newParser(cat, cols, header)
			p.period = "2026-10"
			p.towns = map[string]string{"城关镇": "城关镇", "城关": "城关镇"}
			p.depts = map[string]bool{"住建局": true}
			p.rules = cases.DefaultRules()
			for n := 0; n < 1000; n++ {
				rec, row, err := r.Next()
				if errors.Is(err, io.EOF) || err != nil {
					break
				}
				var pd pending
				errs := p.parse(rec, row, &pd)
				if len(errs) > 0 {
					for _, e := range errs {
						if e.Row != row || e.Column == "" || e.Message == "" {
							t.Fatalf("row error %+v for row %d", e, row)
						}
					}
					continue
				}
				w := pd.w
				w.Detail = p.detail(rec) // read builds it only for rows that may warn
				if !json.Valid(w.Detail) {
					t.Fatalf("detail not JSON: %q", w.Detail)
				}
				if w.Township != "城关镇" || (w.IDNumber == "" && !alertsAllowed(cat)) || strings.ContainsRune(w.Name, 0) {
					t.Fatalf("accepted row %+v", w)
				}
			}
			r.Close()
		}
	})
}

// FuzzPlace: any header row places each column at most once, on a cell that names it, and
// says exactly which required columns it lacks.
func FuzzPlace(f *testing.F) {
	f.Add("序号,姓名,证件号码,所属乡镇,住院自付\n累计（元）,门诊统筹费用,门特费用", "户主姓名", "自付金额")
	f.Add("户主姓名,身份证号码,乡（镇）,保障类别,审批日期", "姓名", "")
	f.Fuzz(func(t *testing.T, header, alias, to string) {
		cells := strings.Split(header, ",")
		for _, cat := range cases.Categories {
			p := Place(cells, cat, Aliases{alias: to})
			seen := map[int]bool{}
			for c, i := range p.Columns {
				if i < 0 || i >= len(cells) || seen[i] {
					t.Fatalf("%s placed at %d (of %d), or a cell used twice", c, i, len(cells))
				}
				seen[i] = true
			}
			req := RequiredColumnsOf(cat)
			if p.Found+len(p.Missing) != len(req) || p.Matches() != (len(p.Missing) == 0) {
				t.Fatalf("found %d missing %v of %v", p.Found, p.Missing, req)
			}
			for _, m := range p.Missing {
				if _, ok := p.Columns[m]; ok {
					t.Fatalf("%s both placed and missing", m)
				}
			}
		}
	})
}
