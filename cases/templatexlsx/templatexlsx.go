// Package templatexlsx writes the workbooks a county hands out to be filled in: a
// department's push template per category (its header from the one column definition in
// cases/intake, a fictional example row, a 说明 sheet) and the org template (sheets 乡镇, 部门,
// 人员, mirroring the org file's keys). docs/intake.md describes both.
package templatexlsx

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/synth"
)

// Options says what the example row may name.
type Options struct {
	// Township is a township of the county for the example row; default the demo county's first.
	Township string
	// Today sets the example's period (the default period of a push made today).
	Today cases.Date
}

// meanings say what each column holds, by column name; a column without one is described by
// its kind alone.
var meanings = map[string]string{
	intake.ColName:        "本人姓名",
	intake.ColID:          "18 位身份证号码；请把整列设为“文本”格式，否则 Excel 会改成科学计数，号码就丢了",
	intake.ColTownship:    "所在乡镇（街道），写组织文件中的乡镇名称或简称",
	intake.ColVillage:     "所在行政村（社区），可不填",
	intake.ColHeadID:      "户主身份证号，可不填；填了能按户比对",
	intake.ColPersonKind:  "人员类别，如 脱贫人口、监测对象、一般农户；可不填",
	"住院自付累计":              "本年度住院个人自付费用累计",
	"门诊统筹费用":              "本年度门诊统筹个人负担费用",
	"门特费用":                "本年度门诊特殊病个人负担费用",
	"病种":                  "确诊的大病病种",
	"确诊日期":                "确诊的日期",
	"学校":                  "就读学校",
	"学段":                  "学段，如 学前、义务教育、公办高中、中职、高职、本科",
	intake.ColSchoolYear:  "学年，写成 2026-2027",
	"学费":                  "本学年学费",
	"住宿费":                 "本学年住宿费",
	"教科书费":                "本学年教科书费",
	"补助救助":                "本学年已获得的资助、补助和救助合计",
	"灾害名称":                "灾害名称，如 2026年7月暴雨洪涝",
	"灾害结束日期":              "灾害结束的日期",
	"受灾情况":                "受灾情况，如 房屋受损、农作物绝收",
	"损失金额":                "经济损失金额",
	"事件名称":                "疫情或公共卫生事件名称",
	"事件级别":                "事件级别，如 重大、特别重大",
	intake.ColEventDate:   "事件发生日期",
	"影响情况":                "对本人或家庭的影响",
	"产业项目":                "受损的产业项目",
	"类型":                  "就业不稳的类型",
	"救助类别":                "新纳入的救助类别",
	"认定日期":                "认定（审批）日期",
	intake.ColProblemType: "“两不愁三保障”问题类型",
	"问题描述":                "问题的具体情况",
	"责任部门":                "负责解决的部门全称；可不填，按问题类型确定",
	intake.ColChange:      "人员变动类型",
	intake.ColChangeDate:  "变动日期",
}

var kindFormats = map[string]string{
	"money": "金额（元），最多两位小数；5000、5,000.00、5000元 均可；不能为负数",
	"date":  "日期：2026-11-05、2026/11/5、2026.11.5、20261105、2026年11月5日 或 Excel 日期；必须写到日",
	"text":  "文字",
}

// Deadline says in words when a category is pushed (docs/reminders.md has the rules).
func Deadline(cat cases.Category) string {
	switch {
	case cat.Monthly():
		return "每月 5 日前推送上月数据（5 日不是工作日的，顺延到下一个工作日）"
	case cat == cases.CatEducation:
		return "每年 4 月 30 日前推送当年夏天结束的学年（期次写学年，如 2026-2027）"
	case cat == cases.CatEpidemic:
		return "事件发生后 3 日内推送"
	}
	return "发生后及时推送"
}

// Filename is the name a category's template is sent under.
func Filename(cat cases.Category) string {
	return fmt.Sprintf("推送模板-%s（%s）.xlsx", cat.Label(), cat)
}

// Department writes the push template of a category.
func Department(w io.Writer, cat cases.Category, opt Options) error {
	if !cat.Valid() {
		return cases.Errorf(cases.EInvalid, "不认识的风险类别“%s”", cat)
	}
	if opt.Township == "" {
		opt.Township = synth.Townships[0]
	}
	month := cases.NewDate(2026, 10, 1)
	if !opt.Today.IsZero() {
		month, _ = cases.ParseMonth(intake.DefaultPeriod(cat, opt.Today))
	}
	var example []string
	err := synth.New(1).DeptRows(synth.DeptSpec{Category: cat, Quiet: 1, Townships: []string{opt.Township}, Month: month},
		func(r synth.DeptRow) error { example = r.Cells; return nil })
	if err != nil {
		return fmt.Errorf("template %s: %w", cat, err)
	}
	specs := intake.ColumnSpecs(cat)
	f := excelize.NewFile()
	defer f.Close()
	const data = "数据"
	if err := f.SetSheetName(f.GetSheetName(0), data); err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": cells stay text, ID numbers keep their digits
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: 49})
	if err != nil {
		return err
	}
	for i, s := range specs {
		col, _ := excelize.ColumnNumberToName(i + 1)
		f.SetColWidth(data, col, col, 14)
		if s.Kind == "text" {
			f.SetColStyle(data, col, text)
		}
		f.SetCellValue(data, col+"1", s.Name)
		f.SetCellStyle(data, col+"1", col+"1", bold)
		f.SetCellStr(data, col+"2", example[i])
	}
	if err := notes(f, cat, specs, bold); err != nil {
		return err
	}
	return f.Write(w)
}

// notes writes the 说明 sheet: what each column means and takes, and when to push.
func notes(f *excelize.File, cat cases.Category, specs []intake.ColumnSpec, bold int) error {
	const sh = "说明"
	if _, err := f.NewSheet(sh); err != nil {
		return err
	}
	rows := [][]string{
		{fmt.Sprintf("%s（%s）推送模板", cat.Label(), cat)},
		{"推送时限", Deadline(cat)},
		{"怎样推送", "在企业微信里把填好的文件发给防返贫预警助手；或发“上传”取得上传链接；或由本部门系统调用推送接口"},
		{"填写要求", "第一行是表头，第二行起每行一人；示例行是虚构的，填写前请删除。同一人在同一期次只写一行；同一期次再次推送时，后推送的逐人覆盖先推送的"},
		{"文件", "Excel（.xlsx、.xls）、CSV 或制表符分隔的文本均可（WPS 的 .et 请另存为 .xlsx）；表头上方可有标题行，数据后的合计行和制表人等落款行会跳过；列的顺序不限，多出的列会保留但不使用"},
		{},
		{"列名", "是否必有", "说明", "填写格式", "也认得的列名"},
	}
	for _, s := range specs {
		need := "必有"
		switch {
		case !s.Required:
			need = "可选列"
		case s.Empty:
			need = "必有（可留空）"
		}
		format := kindFormats[s.Kind]
		if len(s.Choices) > 0 {
			format = "只能填：" + strings.Join(s.Choices, "、")
			words := intake.ValueWords(s.Name)
			var also []string
			for _, c := range s.Choices {
				if w := words[c]; len(w) > 0 {
					sort.Strings(w)
					also = append(also, fmt.Sprintf("%s（也认得 %s）", c, strings.Join(w, "、")))
				}
			}
			if len(also) > 0 {
				format += "；" + strings.Join(also, "；")
			}
		}
		if s.Name == intake.ColName || s.Name == intake.ColID {
			if s.Empty {
				format += "；姓名和身份证号都留空表示全乡镇的区域排查"
			}
		}
		rows = append(rows, []string{s.Name, need, meanings[s.Name], format, strings.Join(intake.Synonyms(s.Name), "、")})
	}
	for r, row := range rows {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr(sh, cell, v); err != nil {
				return err
			}
		}
	}
	f.SetCellStyle(sh, "A1", "A1", bold)
	f.SetCellStyle(sh, "A7", "E7", bold)
	f.SetColWidth(sh, "A", "A", 16)
	f.SetColWidth(sh, "B", "B", 14)
	f.SetColWidth(sh, "C", "C", 50)
	f.SetColWidth(sh, "D", "D", 60)
	f.SetColWidth(sh, "E", "E", 40)
	return nil
}

// Org writes the org template: sheets 乡镇, 部门 and 人员 with a header and an example row each,
// and a 说明 sheet. The columns are orgfile.Sheets, which the reader of the filled template
// (`fangpin org apply FILE.xlsx`, the file sent in chat) uses too.
func Org(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, NumFmt: 49})
	if err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	first := f.GetSheetName(0)
	for i, s := range orgfile.Sheets {
		if i == 0 {
			if err := f.SetSheetName(first, s.Name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(s.Name); err != nil {
			return err
		}
		last, _ := excelize.ColumnNumberToName(len(s.Columns))
		f.SetColWidth(s.Name, "A", last, 22)
		f.SetColStyle(s.Name, "A:"+last, text)
		for c := range s.Columns {
			cell, _ := excelize.CoordinatesToCellName(c+1, 1)
			f.SetCellStr(s.Name, cell, s.Columns[c].Header())
			f.SetCellStyle(s.Name, cell, cell, bold)
			cell, _ = excelize.CoordinatesToCellName(c+1, 2)
			f.SetCellStr(s.Name, cell, s.Example[c])
		}
	}
	const sh = "说明"
	if _, err := f.NewSheet(sh); err != nil {
		return err
	}
	lines := [][]string{
		{"组织文件模板", "与 org.yaml 的键一一对应；示例行是虚构的，填写前请删除。填好后由县扶贫办发给防返贫预警助手（或在上传页面选“组织架构”），确认后生效"},
		{"乡镇", "每行一个乡镇；简称、曾用名可写多个，用顿号或逗号分开；群聊ID（应用群聊）和群机器人key 二选一"},
		{"部门", "每行一个推送部门；推送类别写类别代码：" + categoryCodes() + "；令牌只写 SHA-256（64 位小写十六进制）"},
		{"人员", "每行一人；角色：cadre（乡镇干部）、liaison（部门联络员）、office（县防返贫办）、supervisor（督查）、leader（县领导，只看进度）；干部写乡镇，联络员写部门"},
	}
	for r, l := range lines {
		for c, v := range l {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			f.SetCellStr(sh, cell, v)
		}
	}
	f.SetColWidth(sh, "A", "A", 16)
	f.SetColWidth(sh, "B", "B", 100)
	return f.Write(w)
}

func categoryCodes() string {
	s := make([]string, len(cases.Categories))
	for i, c := range cases.Categories {
		s[i] = fmt.Sprintf("%s（%s）", c, c.Label())
	}
	return strings.Join(s, "、")
}
