package cases

import (
	"sort"
)

// SpotResult is a spot check's finding, stored as an English code; people read Label().
type SpotResult string

// Spot-check results.
const (
	SpotPass SpotResult = "pass" // 合格
	SpotFail SpotResult = "fail" // 不合格
)

// Label is the finding as people read and type it.
func (r SpotResult) Label() string {
	switch r {
	case SpotPass:
		return "合格"
	case SpotFail:
		return "不合格"
	}
	return string(r)
}

// ParseSpotResult accepts a finding's label or its code.
func ParseSpotResult(s string) (SpotResult, bool) {
	for _, r := range []SpotResult{SpotPass, SpotFail} {
		if s == string(r) || s == r.Label() {
			return r, true
		}
	}
	return "", false
}

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

// ScoreCases fills the assessment's township, total and category figures from its cases
// (a.Cases): the townships named (the org's, in its order) first, then any other a case
// names; categories in the domain's order, then any the domain does not know. Until the
// month (first is its first day) is over as of today, the figures are provisional.
func (a *Assessment) ScoreCases(townships []string, first, today Date) {
	idx := map[string]int{}
	for _, t := range townships {
		idx[t] = len(a.Townships)
		a.Townships = append(a.Townships, TownshipScore{Name: t})
	}
	byCat := map[Category]*CategoryCount{}
	for _, f := range a.Cases {
		i, ok := idx[f.Township]
		if !ok {
			idx[f.Township] = len(a.Townships)
			i = len(a.Townships)
			a.Townships = append(a.Townships, TownshipScore{Name: f.Township})
		}
		ts := &a.Townships[i]
		ts.Dispatched++
		if f.Status.Open() {
			ts.Open++
		}
		switch {
		case f.Kind == KindInfo && f.Status == StatusClosed:
			ts.Closed++
			ts.InfoEntered++
		case f.Kind == KindInfo:
			ts.InfoPending++ // owes a 录入, never a 核查结论
		case f.Status == StatusClosed:
			ts.Closed++
		case f.Status == StatusVerified:
			ts.Verified++
			ts.OwingEntry++
		case f.Status == StatusReturned:
			ts.Returned++
			ts.OwingResult++
		case f.Status == StatusDispatched:
			ts.OwingResult++
		}
		if f.Result == ResultExclude {
			ts.Excluded++
		}
		if f.OnTime {
			ts.OnTime++
		}
		if f.Overdue {
			ts.Overdue++
		}
		if f.FedBack {
			ts.FedBack++
		}
		if f.SpotResult != "" {
			ts.SpotChecked++
		}
		if f.SpotFailures > 0 {
			ts.SpotFailed++
		}
		if f.Kind == KindInfo {
			if f.Status == StatusClosed {
				a.Total.InfoEntered++
			} else {
				a.Total.InfoPending++
			}
			continue // its own line, never among the households awaiting a 核查结论
		}
		a.Total.Count(f.Result)
		for _, c := range f.Categories {
			cc := byCat[c]
			if cc == nil {
				cc = &CategoryCount{Category: c}
				byCat[c] = cc
			}
			cc.Count(f.Result)
		}
	}
	for i := range a.Townships {
		a.Townships[i].FeedbackDue = today.After(first.LastOfMonth())
		a.Townships[i].Fill()
	}
	if !today.After(first.LastOfMonth()) {
		open := SumTownships(a.Townships).Open
		a.Provisional, a.Open = true, &open
	}
	for _, c := range Categories {
		if cc := byCat[c]; cc != nil {
			a.Categories = append(a.Categories, *cc)
			delete(byCat, c)
		}
	}
	for _, cc := range byCat { // categories the domain does not know; keep them visible
		a.Categories = append(a.Categories, *cc)
	}
}
