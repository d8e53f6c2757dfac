package cases

import (
	"reflect"
	"testing"
)

func TestFeedbackSummaryOwing(t *testing.T) {
	a := Assessment{Month: "2026-11",
		Townships: []TownshipScore{{Name: "城关镇", Dispatched: 4}, {Name: "河口乡", Dispatched: 2}, {Name: "青山镇", Dispatched: 1}},
		Cases: []CaseFact{
			{No: "A1", Township: "城关镇", Status: StatusDispatched},
			{No: "A2", Township: "城关镇", Status: StatusVerified},
			{No: "A3", Township: "城关镇", Status: StatusClosed},
			{No: "A4", Township: "城关镇", Kind: KindInfo, Status: StatusDispatched},
			{No: "B1", Township: "河口乡", Status: StatusReturned},
			{No: "B2", Township: "河口乡", Kind: KindInfo, Status: StatusClosed},
			{No: "C1", Township: "青山镇", Status: StatusClosed},
		}}
	s := FeedbackSummary(a)
	if s.Dispatched != 7 || s.Complete != 4 {
		t.Errorf("dispatched %d complete %d, want 7 and 4 (closed, verified, closed 信息变更)", s.Dispatched, s.Complete)
	}
	want := []FeedbackOwed{
		{Township: "城关镇", Dispatched: 4, OwingResult: []string{"A1"}, OwingEntry: []string{"A2", "A4"}},
		{Township: "河口乡", Dispatched: 2, OwingResult: []string{"B1"}},
	}
	if !reflect.DeepEqual(s.Owing, want) {
		t.Errorf("owing %+v, want %+v (青山镇 owes nothing)", s.Owing, want)
	}
}

func TestCategoryLabels(t *testing.T) {
	if got := CategoryLabels([]Category{CatMedical, CatEducation}); got != CatMedical.Label()+"、"+CatEducation.Label() {
		t.Errorf("labels %q", got)
	}
	if got := CategoryLabels(nil); got != "" {
		t.Errorf("no categories: %q, want empty", got)
	}
}

func TestCategoryCountAndDepartmentScores(t *testing.T) {
	var cc CategoryCount
	for _, r := range []Result{ResultInclude, ResultExclude, ResultMonitored, ""} {
		cc.Count(r)
	}
	if cc.Cases != 4 || cc.Include != 1 || cc.Exclude != 1 || cc.Monitored != 1 || cc.Pending != 1 {
		t.Errorf("count %+v", cc)
	}
	done := MustDate("2026-11-20")
	ds := []DepartmentScore{{Name: "水利局", PushesDue: 1, PushesOnTime: 1}, {Name: "民政局"}}
	ScoreDepartments(ds, map[string][]Task{
		"B2": {{CaseNo: "B2", Department: "水利局", DueOn: MustDate("2026-11-25"), DoneOn: &done}},
		"A1": {{CaseNo: "A1", Department: "水利局", DueOn: MustDate("2026-11-25")}},
	}, MustDate("2026-11-26"))
	if got := ds[0]; len(got.Tasks) != 2 || got.Tasks[0].CaseNo != "A1" || got.TasksDue != 2 || got.TasksOnTime != 1 {
		t.Errorf("水利局 %+v: want both tasks, sorted, due 2, on time 1", got)
	}
	if ds[1].TasksDue != 0 || ds[1].Tasks != nil {
		t.Errorf("民政局 has no task: %+v", ds[1])
	}
}

func TestScoreCasesByTownshipAndCategory(t *testing.T) {
	a := Assessment{Month: "2026-11", Cases: []CaseFact{
		{No: "A1", Township: "城关镇", Status: StatusClosed, Result: ResultInclude, Categories: []Category{CatMedical, CatEducation}, OnTime: true, FedBack: true},
		{No: "A2", Township: "城关镇", Status: StatusReturned, Categories: []Category{CatMedical}, SpotResult: SpotFail, SpotFailures: 1},
		{No: "A3", Township: "城关镇", Kind: KindInfo, Status: StatusDispatched},
		{No: "X1", Township: "外乡", Status: StatusVerified, Result: ResultExclude, Categories: []Category{"unknown"}},
	}}
	a.ScoreCases([]string{"河口乡", "城关镇"}, MustDate("2026-11-01"), MustDate("2026-11-20"))
	var names []string
	for _, ts := range a.Townships {
		names = append(names, ts.Name)
	}
	if !reflect.DeepEqual(names, []string{"河口乡", "城关镇", "外乡"}) {
		t.Errorf("townships %v: want the org's in order, then one only a case names", names)
	}
	c := a.Townships[1]
	if c.Dispatched != 3 || c.Closed != 1 || c.Returned != 1 || c.OwingResult != 1 || c.InfoPending != 1 || c.Open != 2 || c.OnTime != 1 || c.SpotChecked != 1 || c.SpotFailed != 1 {
		t.Errorf("城关镇 %+v", c)
	}
	if !a.Provisional || a.Open == nil || *a.Open != 3 {
		t.Errorf("a month not over is provisional with its open cases: %v %v", a.Provisional, a.Open)
	}
	if a.Total.Cases != 3 || a.Total.InfoPending != 1 {
		t.Errorf("total %+v: 信息变更 counted apart", a.Total)
	}
	var cats []Category
	for _, cc := range a.Categories {
		cats = append(cats, cc.Category)
	}
	if !reflect.DeepEqual(cats, []Category{CatMedical, CatEducation, "unknown"}) || a.Categories[0].Cases != 2 {
		t.Errorf("categories %+v: domain order, then unknown ones", a.Categories)
	}
}
