package cases

import "strings"

// Category is one of the nine screening items (docs/rules.md).
type Category string

const (
	CatMedical        Category = "medical"         // 因病·医疗费用（医保局）
	CatSeriousIllness Category = "serious_illness" // 因病·大病（卫健委）
	CatEducation      Category = "education"       // 因学（教体局）
	CatDisaster       Category = "disaster"        // 因灾（应急管理局）
	CatEpidemic       Category = "epidemic"        // 因疫（卫健委）
	CatIndustry       Category = "industry"        // 因产业失败（农业农村局）
	CatEmployment     Category = "employment"      // 因就业不稳（人社局）
	CatAssistance     Category = "assistance"      // 新增特困/低保（民政局）
	CatAssurance      Category = "assurance"       // 两不愁三保障（多部门）
	CatPopulation     Category = "population"      // 人员变动（公安局）
)

// Categories lists the nine items in the seed's order.
var Categories = []Category{CatMedical, CatSeriousIllness, CatEducation, CatDisaster,
	CatEpidemic, CatIndustry, CatEmployment, CatAssistance, CatAssurance, CatPopulation}

var categoryLabels = map[Category]string{
	CatMedical:        "因病（医疗费用）",
	CatSeriousIllness: "因病（大病）",
	CatEducation:      "因学",
	CatDisaster:       "因灾",
	CatEpidemic:       "因疫",
	CatIndustry:       "因产业失败",
	CatEmployment:     "因就业不稳",
	CatAssistance:     "新增特困/低保",
	CatAssurance:      "两不愁三保障",
	CatPopulation:     "人员变动",
}

// Valid reports whether c is one of the known categories.
func (c Category) Valid() bool { _, ok := categoryLabels[c]; return ok }

// Label is the category's Chinese name.
func (c Category) Label() string {
	if l, ok := categoryLabels[c]; ok {
		return l
	}
	return string(c)
}

// CategoryLabels joins the categories' Chinese names with 、 (a reason, an audit line).
func CategoryLabels(cs []Category) string {
	ls := make([]string, len(cs))
	for i, c := range cs {
		ls[i] = c.Label()
	}
	return strings.Join(ls, "、")
}

// GroupLabel is what a group chat may read: 因病 without saying which disease or amount.
func (c Category) GroupLabel() string {
	switch c {
	case CatMedical, CatSeriousIllness:
		return "因病"
	}
	return c.Label()
}

// ParseCategory accepts a code or a Chinese label.
func ParseCategory(s string) (Category, bool) {
	c := Category(s)
	if c.Valid() {
		return c, true
	}
	for k, v := range categoryLabels {
		if v == s {
			return k, true
		}
	}
	return "", false
}

// Monthly reports whether the category is pushed every month by the 5th (docs/rules.md).
func (c Category) Monthly() bool {
	switch c {
	case CatMedical, CatSeriousIllness, CatEmployment, CatAssistance, CatPopulation:
		return true
	}
	return false
}
