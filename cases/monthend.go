package cases

import (
	"sort"
	"strings"
)

// Spot-check results as stored and typed.
const (
	SpotPass = "合格"
	SpotFail = "不合格"
)

// FeedbackSummary derives the month-end summary from an assessment.
func FeedbackSummary(a Assessment) MonthEndSummary {
	s := MonthEndSummary{Month: a.Month, AsOf: a.AsOf}
	owed := map[string]*FeedbackOwed{}
	for _, t := range a.Townships {
		owed[t.Name] = &FeedbackOwed{Township: t.Name, Dispatched: t.Dispatched}
	}
	for _, f := range a.Cases {
		s.Dispatched++
		o := owed[f.Township]
		switch {
		case f.Kind == KindInfo && f.Status != StatusClosed:
			o.OwingEntry = append(o.OwingEntry, f.No) // 信息变更 owes its 录入, not a 核查结论
		case f.Kind == KindInfo:
			s.Complete++
		case f.Status == StatusDispatched || f.Status == StatusReturned:
			o.OwingResult = append(o.OwingResult, f.No)
		case f.Status == StatusVerified:
			o.OwingEntry = append(o.OwingEntry, f.No)
			s.Complete++
		default:
			s.Complete++
		}
	}
	for _, t := range a.Townships {
		if o := owed[t.Name]; len(o.OwingResult)+len(o.OwingEntry) > 0 {
			s.Owing = append(s.Owing, *o)
		}
	}
	return s
}

// CategoryLabels joins the categories' Chinese names with 、.
func CategoryLabels(cs []Category) string {
	ls := make([]string, len(cs))
	for i, c := range cs {
		ls[i] = c.Label()
	}
	return strings.Join(ls, "、")
}

// Count adds one case with result r to the category's figures.
func (cc *CategoryCount) Count(r Result) {
	cc.Cases++
	switch r {
	case ResultInclude:
		cc.Include++
	case ResultMonitored:
		cc.Monitored++
	case ResultExclude:
		cc.Exclude++
	default:
		cc.Pending++
	}
}

// ScoreDepartments adds each department's tasks — the month's cases' tasks that are done or
// past due (TaskDue), on time by TaskOnTime — and its score
// (ScoreDepartment) to the push figures.
func ScoreDepartments(ds []DepartmentScore, tasks map[string][]Task, today Date) {
	byDept := map[string][]Task{}
	for _, ts := range tasks {
		for _, t := range ts {
			byDept[t.Department] = append(byDept[t.Department], t)
		}
	}
	for i := range ds {
		d := &ds[i]
		d.Tasks = byDept[d.Name]
		sort.Slice(d.Tasks, func(i, j int) bool { return d.Tasks[i].CaseNo < d.Tasks[j].CaseNo })
		for _, t := range d.Tasks {
			if !TaskDue(t, today) {
				continue
			}
			d.TasksDue++
			if ot := TaskOnTime(t); ot != nil && *ot {
				d.TasksOnTime++
			}
		}
		d.Score = ScoreDepartment(d.PushesOnTime, d.PushesDue, d.TasksOnTime, d.TasksDue)
	}
}
