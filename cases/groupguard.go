package cases

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a group chat may show of a place and what it must never show of a person's health
// (docs/privacy.md). A village comes from a department's free-text 村 cell as often as from
// the registry: a cell that holds a name, an ID number and a diagnosis must not reach a
// township group because it stood in the 村 column.

// VillagePending stands in a group's 按村统计 for a village name that is not shown.
const VillagePending = "村名待核"

// villageSuffixes end the names of the places a case can be in below a township.
var villageSuffixes = []string{"村", "社区", "居委会", "村委会", "组", "屯", "寨", "庄", "街道", "嘎查", "场", "队", "居"}

// ValidVillageName reports whether s reads as a village's name: 2 to 12 Chinese
// characters (a middle dot allowed), no digit, ending in 村, 社区, 居委会, 组 or the like.
func ValidVillageName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > 12 {
		return false
	}
	for _, r := range s {
		if r != '·' && !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	for _, suf := range villageSuffixes {
		if strings.HasSuffix(s, suf) && s != suf {
			return true
		}
	}
	return false
}

// GroupVillage is how a case's village appears in a group: the name when it reads as a
// village's name, else VillagePending; "" when there is none. Dispatch takes the village
// from the registry when the household is in it, so a department's cell is what most
// often fails here.
func GroupVillage(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if ValidVillageName(v) {
		return v
	}
	return VillagePending
}

// GroupPlace is Place as a group may read it: the village when it reads as a village's
// name, else the township.
func (c Case) GroupPlace() string {
	if v := GroupVillage(c.Village); v != "" && v != VillagePending {
		return v
	}
	return c.Township
}

// DiagnosisWords are words of diseases and treatment a group message never shows, besides
// the 病种 the departments' rows name (GroupWords adds those).
var DiagnosisWords = []string{
	"癌", "肿瘤", "白血病", "淋巴瘤", "尿毒症", "透析", "肾衰竭", "肾功能衰竭", "精神病", "精神分裂", "抑郁症", "双相",
	"癫痫", "脑瘫", "偏瘫", "瘫痪", "截肢", "艾滋", "HIV", "结核", "肝硬化", "肝炎", "心脏病", "冠心病", "心衰",
	"脑梗", "脑出血", "中风", "糖尿病", "高血压", "血友病", "地中海贫血", "红斑狼疮", "帕金森", "阿尔茨海默", "老年痴呆",
	"化疗", "放疗", "晚期", "重症", "器官移植", "先天性",
}
