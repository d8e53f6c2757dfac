package cases

import (
	"reflect"
	"strings"
	"testing"
)

// TestPlanRound decides rounds from facts alone: which households merge, are held or become
// cases, with which due dates, kinds and department tasks, on the 交办 and the 申报/走访 paths.
func TestPlanRound(t *testing.T) {
	day := MustDate("2026-11-10") // a Tuesday: the 20th working day after it is 2026-12-08
	due := MustDate("2026-12-08")
	closed := MustDate("2026-10-20")
	monitored := &RegistryHousehold{No: "H1", HeadIDNumber: "A", HeadName: "王建国", Township: "城关镇", Village: "东村",
		Kind: HouseholdEdge, Risk: RiskOpen}
	med := func(id int64, person, amount string) WarningFact {
		return WarningFact{ID: id, Category: CatMedical, IDNumber: person, Name: "某某", Township: "城关镇", Amount: amount}
	}
	house := func(id int64, person string) WarningFact {
		return WarningFact{ID: id, Category: CatAssurance, IDNumber: person, Name: "某某", Township: "城关镇",
			Detail: map[string]string{"问题类型": "住房安全", "责任部门": "住建局"}}
	}
	job := func(id int64, person string) WarningFact {
		return WarningFact{ID: id, Category: CatEmployment, IDNumber: person, Name: "某某", Township: "城关镇"}
	}
	area := WarningFact{ID: 50, Category: CatDisaster, Township: "河口乡", Village: "西村", Detail: map[string]string{"灾害名称": "洪涝"}}
	earlierMed := EarlierResult{CaseID: 7, CaseNo: "YJ202610-0007", Result: ResultExclude, ClosedOn: &closed,
		Verified: []WarningFact{med(1, "B", "8000.00")}}
	visit := &SelfFoundPath{Source: SourceVisit, Reporter: "zhangsan"}

	type want struct {
		action      PlanAction
		into        string // merge: the open case
		moveDue     bool   // merge: due_on moves to the 20th working day
		reason      string // merge: the audit reason starts so
		kind        Kind   // create
		source      CaseSource
		responsible string
		departments []string
		held        int
		dups        int // merge and repeat: the warnings that repeat ones the case holds
	}
	tests := []struct {
		name      string
		ws        []WarningFact
		open      map[string]OpenCase
		earlier   map[string]EarlierResult
		selfFound *SelfFoundPath
		want      []want // per household, in GroupWarnings' order
	}{
		{
			name: "new problem merges into the open case, moves due_on and gives its department a task",
			ws:   []WarningFact{house(10, "B")},
			open: map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}}},
			want: []want{{action: PlanMerge, into: "YJ202611-0003", moveDue: true, reason: "补充预警 1 条（两不愁三保障）", departments: []string{"住建局"}}},
		},
		{
			name: "same problem merges without moving due_on, its department already has a task",
			ws:   []WarningFact{house(10, "B"), med(11, "B", "100")},
			open: map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical", "assurance/住房安全"},
				TaskDepartments: []string{"住建局"}}},
			want: []want{{action: PlanMerge, into: "YJ202611-0003", reason: "补充预警 2 条（因病（医疗费用）、两不愁三保障）"}},
		},
		{
			name: "same problem, but a department with no task on the case gets one",
			ws:   []WarningFact{job(12, "B")},
			open: map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"employment"}}},
			want: []want{{action: PlanMerge, into: "YJ202611-0003", departments: []string{"人社局"}}},
		},
		{
			name: "a new problem for a department whose task is done gives it a task again",
			ws:   []WarningFact{job(12, "B")},
			open: map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}, TaskDepartments: []string{"人社局"}}},
			want: []want{{action: PlanMerge, into: "YJ202611-0003", moveDue: true, departments: []string{"人社局"}}},
		},
		{
			name:    "verified problem within six months is held (比对已核)",
			ws:      []WarningFact{med(13, "B", "9000.00")},
			earlier: map[string]EarlierResult{"head:B": earlierMed},
			want:    []want{{action: PlanHold, held: 1}},
		},
		{
			name:    "grown by half it becomes a new case",
			ws:      []WarningFact{med(13, "B", "12000.00")},
			earlier: map[string]EarlierResult{"head:B": earlierMed},
			want:    []want{{action: PlanCreate, kind: KindNew, source: SourceScreening}},
		},
		{
			name:    "an open case wins over an earlier verified one",
			ws:      []WarningFact{med(13, "B", "9000.00")},
			open:    map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}}},
			earlier: map[string]EarlierResult{"head:B": earlierMed},
			want:    []want{{action: PlanMerge, into: "YJ202611-0003"}},
		},
		{
			name: "new cases: 更新 for a monitored household, 新增 otherwise, 区域排查 for an area, with tasks",
			ws: []WarningFact{
				{ID: 20, Category: CatEmployment, IDNumber: "A", Name: "王建国", Township: "城关镇", Reg: monitored},
				house(21, "C"), area,
			},
			want: []want{
				{action: PlanCreate, kind: KindUpdate, source: SourceScreening, departments: []string{"人社局"}},
				{action: PlanCreate, kind: KindNew, source: SourceScreening, departments: []string{"住建局"}},
				{action: PlanCreate, kind: KindSweep, source: SourceScreening},
			},
		},
		{
			name: "two households following one open case: the second sees what the first brought",
			ws:   []WarningFact{house(30, "B"), house(31, "D")},
			open: map[string]OpenCase{
				"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}},
				"head:D": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}},
			},
			want: []want{
				{action: PlanMerge, into: "YJ202611-0003", moveDue: true, departments: []string{"住建局"}},
				{action: PlanMerge, into: "YJ202611-0003"},
			},
		},
		{
			name: "a re-sent warning (same person, category, 问题类型, period) is a duplicate, not 补充预警",
			ws:   []WarningFact{withPeriod(house(60, "B"), "2026-11"), withPeriod(med(61, "B", "900"), "2026-11")},
			open: map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical", "assurance/住房安全"},
				Warnings: []string{"B|assurance/住房安全|2026-11", "B|medical|2026-11"}, TaskDepartments: []string{"住建局"}}},
			want: []want{{action: PlanRepeat, into: "YJ202611-0003", dups: 2}},
		},
		{
			name: "next month's warning of the same problem merges; the re-sent one beside it does not count",
			ws:   []WarningFact{withPeriod(med(62, "B", "900"), "2026-11"), withPeriod(med(63, "B", "1900"), "2026-12")},
			open: map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"},
				Warnings: []string{"B|medical|2026-11"}}},
			want: []want{{action: PlanMerge, into: "YJ202611-0003", reason: "补充预警 1 条（因病（医疗费用））", dups: 1}},
		},
		{
			name:      "a cadre's 走访 of a problem the case holds still merges: what they saw now",
			ws:        []WarningFact{withPeriod(med(64, "B", ""), "2026-11")},
			open:      map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}, Warnings: []string{"B|medical|2026-11"}}},
			selfFound: visit,
			want:      []want{{action: PlanMerge, into: "YJ202611-0003", reason: "补充预警（干部走访）"}},
		},
		{
			name:      "申报/走访: never held, the case is of the report's source and the finder handles it",
			ws:        []WarningFact{med(40, "B", "9000.00")},
			earlier:   map[string]EarlierResult{"head:B": earlierMed},
			selfFound: visit,
			want:      []want{{action: PlanCreate, kind: KindNew, source: SourceVisit, responsible: "zhangsan"}},
		},
		{
			name:      "申报/走访 into an open case: the same merge and task rule",
			ws:        []WarningFact{house(41, "B")},
			open:      map[string]OpenCase{"head:B": {ID: 3, No: "YJ202611-0003", Problems: []string{"medical"}, TaskDepartments: []string{"住建局"}}},
			selfFound: visit,
			want:      []want{{action: PlanMerge, into: "YJ202611-0003", moveDue: true, reason: "补充预警（干部走访）", departments: []string{"住建局"}}},
		},
	}
	cal := NewCalendar()
	at := day.At(10, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PlanRound(RoundFacts{Date: day, At: at, Cal: cal, Households: GroupWarnings(tt.ws),
				Open: tt.open, Earlier: tt.earlier, SelfFound: tt.selfFound})
			if p.Due != due {
				t.Errorf("due %s, want %s", p.Due, due)
			}
			if len(p.Households) != len(tt.want) {
				t.Fatalf("%d households planned, want %d: %+v", len(p.Households), len(tt.want), p.Households)
			}
			for i, w := range tt.want {
				got := p.Households[i]
				if got.Action != w.action {
					t.Fatalf("household %s: %s, want %s", got.Household.Key, got.Action, w.action)
				}
				if len(got.Departments) != 0 || len(w.departments) != 0 {
					if !reflect.DeepEqual(got.Departments, w.departments) {
						t.Errorf("household %s: tasks of %v, want %v", got.Household.Key, got.Departments, w.departments)
					}
				}
				if len(got.Duplicates) != w.dups {
					t.Errorf("household %s: %d duplicates, want %d", got.Household.Key, len(got.Duplicates), w.dups)
				}
				switch w.action {
				case PlanRepeat:
					if got.Into.No != w.into || len(got.Household.Warnings) != 0 {
						t.Errorf("repeat of %s with %d other warnings, want %s and none", got.Into.No, len(got.Household.Warnings), w.into)
					}
				case PlanMerge:
					c := got.Command
					if got.Into.No != w.into || c.Action != ActAddWarnings || !c.Now.Equal(at) {
						t.Errorf("merge into %s with %+v, want %s at %s", got.Into.No, c, w.into, at)
					}
					if moved := c.Date == due; moved != w.moveDue || (!moved && !c.Date.IsZero()) {
						t.Errorf("merge moves due_on to %s, want moved=%v (to %s)", c.Date, w.moveDue, due)
					}
					if !strings.HasPrefix(c.Reason, w.reason) {
						t.Errorf("reason %q, want %q", c.Reason, w.reason)
					}
				case PlanHold:
					if len(got.Held) != w.held || got.Earlier.CaseNo != earlierMed.CaseNo {
						t.Fatalf("held %d against %q, want %d against %s", len(got.Held), got.Earlier.CaseNo, w.held, earlierMed.CaseNo)
					}
					if h := got.Held[0]; h.EarlierCase != earlierMed.CaseNo || !strings.Contains(h.Reason, "YJ202610-0007") || h.Township != "城关镇" {
						t.Errorf("held warning %+v", h)
					}
				case PlanCreate:
					if got.Kind != w.kind || got.Source != w.source || got.DueOn != due || got.Responsible != w.responsible {
						t.Errorf("create %s/%s due %s by %q, want %s/%s due %s by %q",
							got.Kind, got.Source, got.DueOn, got.Responsible, w.kind, w.source, due, w.responsible)
					}
				}
			}
			if n := p.Count(PlanCreate) + p.Count(PlanMerge) + p.Count(PlanHold) + p.Count(PlanRepeat); n != len(p.Households) {
				t.Errorf("counts add up to %d of %d households", n, len(p.Households))
			}
		})
	}
}

func withPeriod(w WarningFact, period string) WarningFact {
	w.Period = period
	return w
}

// TestPlanPopulation: 人员变动 warnings become one 信息变更 case per registry household, due
// by the end of the month after, or join the household's open 信息变更 case.
func TestPlanPopulation(t *testing.T) {
	day := MustDate("2026-11-10")
	h1 := &RegistryHousehold{No: "H1", HeadIDNumber: "A", HeadName: "王建国", Township: "城关镇", Village: "东村"}
	h2 := &RegistryHousehold{No: "H2", HeadIDNumber: "C", HeadName: "周芳", Township: "河口乡", Village: "西村"}
	pop := GroupPopulation([]WarningFact{
		{ID: 1, Category: CatPopulation, IDNumber: "B", Township: "河口乡", Reg: h1},
		{ID: 2, Category: CatPopulation, IDNumber: "C", Township: "河口乡", Reg: h2},
		{ID: 3, Category: CatPopulation, IDNumber: "A", Township: "城关镇", Reg: h1},
	})
	if len(pop) != 2 || pop[0].Key != "info:H1" || len(pop[0].Warnings) != 2 || pop[0].Township != "城关镇" || pop[0].HeadName != "王建国" || pop[1].Key != "info:H2" {
		t.Fatalf("population households %+v, want info:H1 (two changes, the registry's township) then info:H2", pop)
	}
	p := PlanRound(RoundFacts{Date: day, At: day.At(10, 0), Cal: NewCalendar(), Population: pop,
		OpenInfo: map[string]OpenCase{"info:H2": {ID: 8, No: "YJ202610-0008"}}})
	if len(p.Households) != 0 || len(p.Population) != 2 {
		t.Fatalf("plan %+v, want two 信息变更 households and nothing else", p)
	}
	if c := p.Population[0]; c.Action != PlanCreate || c.Kind != KindInfo || c.Source != SourcePopulation || c.DueOn != MustDate("2026-12-31") || len(c.Departments) != 0 {
		t.Errorf("new 信息变更 case %+v, want kind 信息变更 from 人员变动 due 2026-12-31 without tasks", c)
	}
	if m := p.Population[1]; m.Action != PlanMerge || m.Into.No != "YJ202610-0008" || m.Command.Reason != "人员变动 1 条" || !m.Command.Date.IsZero() {
		t.Errorf("merge %+v, want into YJ202610-0008 with the reason 人员变动 1 条 and due_on kept", m)
	}
}

// TestGroupNotices groups outcomes per township in name order; a household whose rows named
// another township is told there as Elsewhere, never twice in its own.
func TestGroupNotices(t *testing.T) {
	d := func(no, town string) Dispatched { return Dispatched{Case: Case{No: no, Township: town}} }
	outs := []Outcome{
		{Dispatched: d("YJ-1", "河口乡")},
		{Dispatched: d("YJ-2", "城关镇"), OtherTownships: []string{"河口乡", "城关镇"}},
		{Dispatched: d("YJ-3", "河口乡")},
		{Dispatched: d("YJ-4", "城关镇"), OtherTownships: []string{"石桥镇"}},
	}
	ns := GroupNotices("2026-11", outs)
	var got []string
	for _, n := range ns {
		line := n.Round + " " + n.Township + ":"
		for _, c := range n.Cases {
			line += " " + c.Case.No
		}
		line += " /"
		for _, c := range n.Elsewhere {
			line += " " + c.Case.No
		}
		if n.Liaisons == nil {
			t.Errorf("%s: no liaison map to fill", n.Township)
		}
		got = append(got, line)
	}
	want := []string{"2026-11 城关镇: YJ-2 YJ-4 /", "2026-11 河口乡: YJ-1 YJ-3 / YJ-2", "2026-11 石桥镇: / YJ-4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notices\n%v\nwant\n%v", got, want)
	}
}

// TestCaseDue: the 20-working-day rule counts working days only.
func TestCaseDue(t *testing.T) {
	cal := NewCalendar()
	for _, c := range []struct{ day, want string }{
		{"2026-11-10", "2026-12-08"},
		{"2026-11-27", "2026-12-25"}, // a Friday: four weekends skipped
	} {
		if got := CaseDue(cal, MustDate(c.day)); got != MustDate(c.want) {
			t.Errorf("CaseDue(%s) = %s, want %s", c.day, got, c.want)
		}
	}
}
