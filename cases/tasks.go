package cases

import (
	"strings"
	"time"
)

// Department tasks (交办给相关部门, the seed's 行业性、政策性风险, docs/dispatch.md): besides the township's
// home visit, a case gets one task per 责任部门.

// ProblemTypes are the assurance 问题类型 (两不愁三保障), in the seed's order.
var ProblemTypes = []string{"义务教育", "基本医疗", "住房安全", "饮水安全", "吃穿"}

// problemDepartments is the department of each 问题类型 when a row names none.
var problemDepartments = map[string]string{
	"义务教育": "教体局",
	"基本医疗": "卫健委",
	"住房安全": "住建局",
	"饮水安全": "水利局",
	"吃穿":   "民政局",
}

// policyDepartments is the department of a category's policy (资助、产业、就业).
var policyDepartments = map[Category]string{
	CatEducation:  "教体局",
	CatIndustry:   "农业农村局",
	CatEmployment: "人社局",
}

// ProblemDepartment is the department of an assurance 问题类型, ” if unknown.
func ProblemDepartment(problem string) string { return problemDepartments[problem] }

// ProblemType is the assurance warning's 问题类型, ” for any other category.
func ProblemType(w WarningFact) string {
	if w.Category != CatAssurance {
		return ""
	}
	return strings.TrimSpace(w.Detail["问题类型"])
}

// TaskDepartment is the 责任部门 a warning gives its case a task of, ” for none: an
// assurance warning's own 责任部门, else the department of its 问题类型; education, industry
// and employment the department of that policy.
func TaskDepartment(w WarningFact) string {
	if w.Category == CatAssurance {
		if d := strings.TrimSpace(w.Detail["责任部门"]); d != "" {
			return d
		}
		return ProblemDepartment(ProblemType(w))
	}
	return policyDepartments[w.Category]
}

// ProblemKey names what a warning is about for comparisons (new problem or a repeat, verified
// before or not): its category, and for assurance its 问题类型.
func ProblemKey(w WarningFact) string {
	if p := ProblemType(w); p != "" {
		return string(w.Category) + "/" + p
	}
	return string(w.Category)
}

// TaskStatus is a department task's state.
type TaskStatus string

const (
	TaskOpen TaskStatus = "open"
	TaskDone TaskStatus = "done"
)

// TaskWorkingDays is how long a department has for its task (docs/dispatch.md).
const TaskWorkingDays = 20

// Task is one department's part of a case.
type Task struct {
	ID         int64
	CaseID     int64
	CaseNo     string
	Township   string
	Department string
	Status     TaskStatus
	DueOn      Date
	DoneOn     *Date
	Measure    string // what the department did (办理措施)
	Note       string // the office's 说明 for a task added by 转办
	CreatedAt  time.Time
}

// Overdue reports whether an open task has passed its due date on day today.
func (t Task) Overdue(today Date) bool { return t.Status == TaskOpen && today.After(t.DueOn) }

// CaseSource says how a case came to be (the `source` of `fangpin cases --json`,
// docs/dispatch.md), as an English code; people read Label().
type CaseSource string

const (
	SourceScreening  CaseSource = "screening"  // 部门筛查: department push and dispatch round
	SourceApplied    CaseSource = "applied"    // 农户申报: a household applied (docs/held-and-tasks.md)
	SourceVisit      CaseSource = "visit"      // 干部走访: found on a cadre's visit (docs/held-and-tasks.md)
	SourcePopulation CaseSource = "population" // 人员变动: a registry change (docs/held-and-tasks.md)
)

// Label is the source as people read it.
func (s CaseSource) Label() string {
	switch s {
	case SourceScreening:
		return "部门筛查"
	case SourceApplied:
		return "农户申报"
	case SourceVisit:
		return "干部走访"
	case SourcePopulation:
		return "人员变动"
	}
	return string(s)
}

// ParseCaseSource accepts a source's label or its code.
func ParseCaseSource(s string) (CaseSource, bool) {
	for _, c := range []CaseSource{SourceScreening, SourceApplied, SourceVisit, SourcePopulation} {
		if s == string(c) || s == c.Label() {
			return c, true
		}
	}
	return "", false
}

// reportWords maps the 类别 words of 申报/走访 (docs/held-and-tasks.md) to a category and, for assurance,
// a 问题类型.
var reportWords = map[string]struct {
	Category Category
	Problem  string
}{
	"因病": {CatMedical, ""},
	"大病": {CatSeriousIllness, ""},
	"因学": {CatEducation, ""},
	"因灾": {CatDisaster, ""},
	"因疫": {CatEpidemic, ""},
	"产业": {CatIndustry, ""},
	"就业": {CatEmployment, ""},
	"救助": {CatAssistance, ""},
	"住房": {CatAssurance, "住房安全"},
	"饮水": {CatAssurance, "饮水安全"},
	"教育": {CatAssurance, "义务教育"},
	"医疗": {CatAssurance, "基本医疗"},
	"吃穿": {CatAssurance, "吃穿"},
}

// ReportWords lists the 类别 words in the order a reply shows them.
var ReportWords = []string{"因病", "大病", "因学", "因灾", "因疫", "产业", "就业", "救助", "住房", "饮水", "教育", "医疗", "吃穿"}

// ParseReportWord reads a 类别 word of 申报/走访: the category and, for assurance, the 问题类型.
func ParseReportWord(s string) (Category, string, bool) {
	r, ok := reportWords[strings.TrimSpace(s)]
	return r.Category, r.Problem, ok
}
