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
