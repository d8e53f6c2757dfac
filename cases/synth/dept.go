package synth

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
)

// DeptSpec says what department file to make (docs/intake.md).
type DeptSpec struct {
	Category cases.Category
	// Warn rows raise a warning under the default rules; Quiet rows do not (for categories
	// where every row is a warning, Quiet rows are warnings too); Bad rows each carry one
	// mistake a department really makes: a wrong ID check digit, a negative amount or an
	// unknown value, an unknown township, the same person twice.
	Warn, Quiet, Bad int
	// Members is the registry to draw people from: registered people for medical and
	// industry warnings, registry people for population warnings. May be empty.
	Members []cases.RegistryMember
	// Townships default to the demo county's.
	Townships []string
	// Month is the period the dates fall in; default 2026-10.
	Month cases.Date
}

// DeptRow is one generated row and what it should do.
type DeptRow struct {
	Cells []string
	Kind  string // "warn", "quiet" or "bad"
}

// DeptHeader is the header of a category's file: every column of docs/intake.md.
func DeptHeader(cat cases.Category) []string { return intake.ColumnsOf(cat) }

// DeptRows generates the rows of spec, interleaved, and calls fn for each; it streams, so a
// million rows cost no memory beyond the generator's record of used ID numbers.
func (g *Gen) DeptRows(spec DeptSpec, fn func(DeptRow) error) error {
	if spec.Townships == nil {
		spec.Townships = Townships
	}
	if spec.Month.IsZero() {
		spec.Month = cases.NewDate(2026, 10, 1)
	}
	header := DeptHeader(spec.Category)
	var registered, others []cases.RegistryMember
	for _, m := range spec.Members {
		if cases.Registered(m.Kind) {
			registered = append(registered, m)
		} else {
			others = append(others, m)
		}
	}
	// The kinds, shuffled so warnings, quiet and bad rows are spread through the file; a
	// bad row never comes first, because one of the mistakes repeats the previous good row.
	kinds := make([]byte, 0, spec.Warn+spec.Quiet+spec.Bad)
	for _, k := range []struct {
		n int
		c byte
	}{{spec.Warn, 'w'}, {spec.Quiet, 'q'}, {spec.Bad, 'b'}} {
		for i := 0; i < k.n; i++ {
			kinds = append(kinds, k.c)
		}
	}
	g.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	for i, k := range kinds {
		if k != 'b' {
			kinds[0], kinds[i] = kinds[i], kinds[0]
			break
		}
	}
	taken := map[string]bool{}
	b := 0
	var lastGood []string
	for _, k := range kinds {
		kind := map[byte]string{'w': "warn", 'q': "quiet", 'b': "bad"}[k]
		if kind == "bad" {
			b++
		}
		rec := map[string]string{}
		g.fillPerson(rec, spec, kind, taken, registered, others)
		g.fillCategory(rec, spec, kind)
		cells := make([]string, len(header))
		for j, h := range header {
			cells[j] = rec[h]
		}
		if kind == "bad" {
			g.spoil(cells, header, spec, b, lastGood)
		} else {
			lastGood = append(lastGood[:0], cells...)
		}
		if err := fn(DeptRow{Cells: cells, Kind: kind}); err != nil {
			return err
		}
	}
	return nil
}

// pick draws a registry member not yet used in this file (the same person twice would
// be a duplicate row).
func (g *Gen) pick(taken map[string]bool, ms []cases.RegistryMember) (cases.RegistryMember, bool) {
	for try := 0; try < 20 && len(ms) > 0; try++ {
		m := ms[g.rng.IntN(len(ms))]
		if !taken[m.IDNumber] {
			taken[m.IDNumber] = true
			return m, true
		}
	}
	return cases.RegistryMember{}, false
}

// fillPerson chooses who the row is about so that it warns (or not) as asked.
func (g *Gen) fillPerson(rec map[string]string, spec DeptSpec, kind string, taken map[string]bool, registered, others []cases.RegistryMember) {
	town := spec.Townships[g.rng.IntN(len(spec.Townships))]
	rec[intake.ColName] = g.Name()
	rec[intake.ColID] = g.IDNumber(1950 + g.rng.IntN(55))
	rec[intake.ColTownship] = town
	rec[intake.ColVillage] = villages[g.rng.IntN(len(villages))]
	use := func(m cases.RegistryMember) {
		rec[intake.ColName], rec[intake.ColID], rec[intake.ColTownship], rec[intake.ColVillage] = m.Name, m.IDNumber, m.Township, m.Village
		rec[intake.ColHeadID] = m.HeadIDNumber
	}
	switch spec.Category {
	case cases.CatMedical, cases.CatIndustry:
		if kind == "warn" && g.rng.IntN(2) == 0 {
			if m, ok := g.pick(taken, registered); ok {
				use(m)
			} else {
				rec[intake.ColPersonKind] = "脱贫人口"
			}
		} else if kind != "warn" || spec.Category == cases.CatIndustry {
			rec[intake.ColPersonKind] = "一般农户"
			if spec.Category == cases.CatIndustry && kind == "warn" {
				if m, ok := g.pick(taken, registered); ok {
					use(m)
				}
				rec[intake.ColPersonKind] = "脱贫人口"
			}
		}
	case cases.CatEmployment:
		// 人社局 reports only 建档立卡 labour (docs/rules.md): a warning names a registered
		// household by its 户主身份证号; a quiet row, anyone else, is out of scope.
		if kind == "warn" && len(registered) > 0 {
			m := registered[g.rng.IntN(len(registered))]
			rec[intake.ColTownship], rec[intake.ColVillage], rec[intake.ColHeadID] = m.Township, m.Village, m.HeadIDNumber
		}
	case cases.CatPopulation:
		if kind == "warn" {
			// Without a registry nothing can warn: the row stays quiet.
			if m, ok := g.pick(taken, append(registered, others...)); ok {
				use(m)
			}
		}
	case cases.CatDisaster, cases.CatEpidemic:
		if kind == "warn" && g.rng.IntN(8) == 0 {
			rec[intake.ColName], rec[intake.ColID] = "", "" // township-wide alert (区域排查)
		}
	}
}

func yuan(fen int) string { return cases.Money(fen).String() }

// fillCategory writes the category's own columns.
func (g *Gen) fillCategory(rec map[string]string, spec DeptSpec, kind string) {
	day := spec.Month.AddDays(g.rng.IntN(28)).String()
	warn := kind == "warn"
	switch spec.Category {
	case cases.CatMedical:
		in, op, sp := g.rng.IntN(400000), g.rng.IntN(30000), g.rng.IntN(19000)
		if warn {
			switch {
			case rec[intake.ColPersonKind] == "脱贫人口" || rec[intake.ColHeadID] != "":
				in = 500000 + g.rng.IntN(500000)
			case g.rng.IntN(2) == 0:
				in = 2000000 + g.rng.IntN(3000000)
			default:
				op, sp = 30000+g.rng.IntN(20000), 20000+g.rng.IntN(10000)
			}
		}
		rec["住院自付累计"], rec["门诊统筹费用"], rec["门特费用"] = yuan(in), yuan(op), yuan(sp)
	case cases.CatSeriousIllness:
		rec["病种"] = []string{"恶性肿瘤", "尿毒症", "白血病", "重性精神病"}[g.rng.IntN(4)]
		rec["确诊日期"] = day
	case cases.CatEducation:
		rec["学校"] = "示例县第一中学"
		rec["学段"] = []string{"公办高中", "中职"}[g.rng.IntN(2)]
		rec["学年"] = cases.SchoolYearOf(spec.Month) // the push's own 学年
		fee, room, book, aid := 300000+g.rng.IntN(300000), 100000+g.rng.IntN(100000), 50000+g.rng.IntN(50000), 0
		if warn {
			fee += 600000
		} else {
			aid = fee + room + book - 500000 + g.rng.IntN(100000)
			if aid < 0 {
				aid = 0
			}
		}
		rec["学费"], rec["住宿费"], rec["教科书费"], rec["补助救助"] = yuan(fee), yuan(room), yuan(book), yuan(aid)
	case cases.CatDisaster:
		rec["灾害名称"] = fmt.Sprintf("%d年%d月暴雨洪涝", spec.Month.Year, spec.Month.Month)
		rec["灾害结束日期"] = day
		rec["受灾情况"] = []string{"房屋受损", "农作物绝收", "圈舍冲毁"}[g.rng.IntN(3)]
		if g.rng.IntN(2) == 0 {
			rec["损失金额"] = yuan(100000 + g.rng.IntN(3000000))
		}
	case cases.CatEpidemic:
		rec["事件名称"] = "示例传染病疫情"
		rec["事件级别"] = "重大"
		rec["发生日期"] = day
		rec["影响情况"] = "隔离治疗"
	case cases.CatIndustry:
		rec["产业项目"] = []string{"生猪养殖", "食用菌种植", "中药材种植"}[g.rng.IntN(3)]
		loss := 200000 + g.rng.IntN(800000)
		if warn {
			loss = 1000001 + g.rng.IntN(3000000)
		}
		rec["损失金额"] = yuan(loss)
	case cases.CatEmployment:
		rec["类型"] = []string{"有意愿有能力未就业", "零就业家庭"}[g.rng.IntN(2)]
	case cases.CatAssistance:
		rec["救助类别"] = []string{"特困", "低保"}[g.rng.IntN(2)]
		rec["认定日期"] = day
	case cases.CatAssurance:
		i := g.rng.IntN(5)
		rec["问题类型"] = []string{"义务教育", "基本医疗", "住房安全", "饮水安全", "吃穿"}[i]
		rec["问题描述"] = []string{"适龄儿童辍学", "未参加基本医疗保险", "住房出现安全隐患", "饮水不达标", "生活困难"}[i]
		rec["责任部门"] = []string{"教体局", "医保局", "住建局", "水利局", "民政局"}[i]
		if rec["责任部门"] == "民政局" {
			rec["责任部门"] = "住建局"
		}
	case cases.CatPopulation:
		rec["变动类型"] = []string{"死亡", "出生", "迁入", "迁出"}[g.rng.IntN(4)]
		rec["变动日期"] = day
	}
}

// spoil puts the n-th kind of mistake into a row.
func (g *Gen) spoil(cells, header []string, spec DeptSpec, n int, lastGood []string) {
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		return -1
	}
	switch n % 4 {
	case 1: // wrong check digit
		id := cells[col(intake.ColID)]
		if id == "" {
			id = g.IDNumber(1980)
		}
		last := id[17]
		wrong := byte('0')
		if last == '0' {
			wrong = '1'
		}
		cells[col(intake.ColID)] = id[:17] + string(wrong)
		if cells[col(intake.ColName)] == "" {
			cells[col(intake.ColName)] = g.Name()
		}
	case 2: // negative amount, or a value outside the list
		for i, h := range header {
			if intake.ColumnKind(spec.Category, h) == "money" {
				cells[i] = "-" + strings.TrimPrefix(yuan(100+g.rng.IntN(100000)), "-")
				return
			}
		}
		for i, h := range header {
			if intake.ColumnKind(spec.Category, h) == "date" {
				cells[i] = "2026-02-30"
				return
			}
		}
		cells[col(intake.ColTownship)] = "不存在乡"
	case 3: // unknown township
		cells[col(intake.ColTownship)] = "不存在乡"
	default: // the same person again
		copy(cells, lastGood)
		if lastGood == nil || cells[col(intake.ColID)] == "" {
			cells[col(intake.ColTownship)] = "不存在乡"
		}
	}
}

// WriteDeptCSV writes a department file as CSV; gbk selects the encoding Excel in China
// writes, otherwise UTF-8. It returns the rows it wrote.
func (g *Gen) WriteDeptCSV(w io.Writer, spec DeptSpec, gbk bool) ([]DeptRow, error) {
	var out io.Writer = w
	var enc io.WriteCloser
	if gbk {
		enc = transformWriter(w)
		out = enc
	}
	cw := csv.NewWriter(out)
	cw.Write(DeptHeader(spec.Category))
	var rows []DeptRow
	err := g.DeptRows(spec, func(r DeptRow) error {
		rows = append(rows, r)
		return cw.Write(r.Cells)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if enc != nil {
		if cerr := enc.Close(); err == nil {
			err = cerr
		}
	}
	return rows, err
}

// WriteRowsCSV writes already generated rows as CSV (UTF-8 or GBK).
func WriteRowsCSV(w io.Writer, cat cases.Category, rows []DeptRow, gbk bool) error {
	var out io.Writer = w
	var enc io.WriteCloser
	if gbk {
		enc = transformWriter(w)
		out = enc
	}
	cw := csv.NewWriter(out)
	cw.Write(DeptHeader(cat))
	for _, r := range rows {
		cw.Write(r.Cells)
	}
	cw.Flush()
	err := cw.Error()
	if enc != nil {
		if cerr := enc.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func transformWriter(w io.Writer) io.WriteCloser {
	return simplifiedchinese.GBK.NewEncoder().Writer(w).(io.WriteCloser)
}

// WriteRowsXLSX writes rows as an XLSX workbook the way Excel keeps them: amounts as
// numbers, dates as date cells (serial numbers with a date format), the rest as text.
func WriteRowsXLSX(w io.Writer, cat cases.Category, rows []DeptRow) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	header := DeptHeader(cat)
	hdr := make([]any, len(header))
	for i, h := range header {
		hdr[i] = h
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return err
	}
	for r, row := range rows {
		vals := make([]any, len(row.Cells))
		for i, v := range row.Cells {
			vals[i] = v
			switch intake.ColumnKind(cat, header[i]) {
			case "money":
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					vals[i] = x
				}
			case "date":
				if d, err := cases.ParseDate(v); err == nil {
					vals[i] = excelize.Cell{StyleID: dateStyle, Value: time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)}
				}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := sw.SetRow(cell, vals); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}
