// Package intake reads department screening files (docs/intake.md): it matches the header by the
// Chinese column names of each category, normalises and validates every row, applies the
// county's rules (cases.Rules) and hands the accepted rows to a store in streaming chunks,
// so a file of a million rows never sits in memory.
package intake

import (
	"github.com/fangpin/fangpin/cases"
)

// Columns every department file has (docs/intake.md).
const (
	ColName       = "姓名"
	ColID         = "身份证号"
	ColTownship   = "乡镇"
	ColVillage    = "村"
	ColHeadID     = "户主身份证号"
	ColPersonKind = "人员类别"
	ColSchoolYear = "学年"
	// ColProblemType is the assurance column whose value is part of a row's identity: one
	// person may have several 问题类型 in one file.
	ColProblemType = "问题类型"
	ColEventDate   = "发生日期" // epidemic: the event's day, from which its 3 days run
	ColChange      = "变动类型" // population: 死亡 / 出生 / 迁入 / 迁出
	ColChangeDate  = "变动日期"
)

// problemTypeIndex is the position of v among cases.ProblemTypes, -1 if none.
func problemTypeIndex(v string) int {
	for i, t := range cases.ProblemTypes {
		if t == v {
			return i
		}
	}
	return -1
}

type cellKind uint8

const (
	kindText  cellKind = iota
	kindMoney          // yuan, ≥ 0, up to two decimals
	kindDate
)

// column is one category-specific column.
type column struct {
	Name     string
	Required bool     // the header must have it
	Kind     cellKind //
	Empty    bool     // the value may be empty (a money cell then counts as 0 if Zero)
	Zero     bool     // an empty money cell is 0 yuan
	Oneof    string   // validator "oneof" list for enumerations
	Figure   cases.Figure
	Sign     int // for FigureSelfPaid: +1 adds, −1 subtracts; 0 means the column is the figure
}

// layouts are the category columns of docs/intake.md, besides the common ones.
var layouts = map[cases.Category][]column{
	cases.CatMedical: {
		{Name: ColPersonKind, Empty: true},
		{Name: "住院自付累计", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureInpatient},
		{Name: "门诊统筹费用", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureOutpatient, Sign: 1},
		{Name: "门特费用", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureOutpatient, Sign: 1},
	},
	cases.CatSeriousIllness: {
		{Name: "病种", Required: true},
		{Name: "确诊日期", Required: true, Kind: kindDate},
	},
	cases.CatEducation: {
		{Name: "学校", Required: true},
		{Name: "学段", Required: true},
		{Name: "学年", Required: true},
		{Name: "学费", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureSelfPaid, Sign: 1},
		{Name: "住宿费", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureSelfPaid, Sign: 1},
		{Name: "教科书费", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureSelfPaid, Sign: 1},
		{Name: "补助救助", Required: true, Kind: kindMoney, Empty: true, Zero: true, Figure: cases.FigureSelfPaid, Sign: -1},
	},
	cases.CatDisaster: {
		{Name: "灾害名称", Required: true},
		{Name: "灾害结束日期", Required: true, Kind: kindDate},
		{Name: "受灾情况", Required: true},
		{Name: "损失金额", Kind: kindMoney, Empty: true, Figure: cases.FigureLoss},
	},
	cases.CatEpidemic: {
		{Name: "事件名称", Required: true},
		{Name: "事件级别", Required: true},
		{Name: "发生日期", Required: true, Kind: kindDate},
		{Name: "影响情况", Required: true},
	},
	cases.CatIndustry: {
		{Name: ColPersonKind, Empty: true},
		{Name: "产业项目", Required: true},
		{Name: "损失金额", Required: true, Kind: kindMoney, Figure: cases.FigureLoss},
	},
	cases.CatEmployment: {
		{Name: "类型", Required: true, Oneof: "有意愿有能力未就业 零就业家庭"},
	},
	cases.CatAssistance: {
		{Name: "救助类别", Required: true, Oneof: "特困 低保"},
		{Name: "认定日期", Required: true, Kind: kindDate},
	},
	cases.CatAssurance: {
		{Name: ColProblemType, Required: true, Oneof: "义务教育 基本医疗 住房安全 饮水安全 吃穿"},
		{Name: "问题描述", Required: true},
		{Name: "责任部门", Required: true, Empty: true}, // blank: the department of the 问题类型 (cases.ProblemDepartment)
	},
	cases.CatPopulation: {
		{Name: "变动类型", Required: true, Oneof: cases.PopulationChangeWords()},
		{Name: "变动日期", Required: true, Kind: kindDate},
	},
}

// ColumnsOf lists a category's columns as a file header would have them: the common
// columns first, then the category's own. Optional columns are included.
func ColumnsOf(cat cases.Category) []string {
	out := []string{ColName, ColID, ColTownship, ColVillage, ColHeadID}
	for _, c := range layouts[cat] {
		out = append(out, c.Name)
	}
	return out
}

// RequiredColumnsOf lists the columns a header must have for the category.
func RequiredColumnsOf(cat cases.Category) []string {
	out := []string{ColName, ColID, ColTownship}
	for _, c := range layouts[cat] {
		if c.Required {
			out = append(out, c.Name)
		}
	}
	return out
}

// alertsAllowed: rows of these categories may leave 姓名 and 身份证号 empty for a
// township-wide alert (区域排查).
func alertsAllowed(cat cases.Category) bool {
	return cat == cases.CatDisaster || cat == cases.CatEpidemic
}

// ColumnKind says how a category's column is read: "money", "date" or "text".
func ColumnKind(cat cases.Category, name string) string {
	for _, c := range layouts[cat] {
		if c.Name == name {
			switch c.Kind {
			case kindMoney:
				return "money"
			case kindDate:
				return "date"
			}
		}
	}
	return "text"
}
