package cases

import "testing"

func TestHouseholdKeyOf(t *testing.T) {
	reg := &RegistryHousehold{No: "H1", HeadIDNumber: "A", Township: "城关镇", Kind: HouseholdEdge, Risk: RiskOpen}
	tests := []struct {
		name string
		w    WarningFact
		want string
	}{
		{"person in registry", WarningFact{IDNumber: "B", HeadIDNumber: "X", Reg: reg}, "hh:H1"},
		{"head in registry", WarningFact{IDNumber: "B", HeadIDNumber: "A", HeadReg: reg}, "hh:H1"},
		{"row's head", WarningFact{IDNumber: "B", HeadIDNumber: "X"}, "head:X"},
		{"the head's own row", WarningFact{IDNumber: "X", HeadIDNumber: "X"}, "head:X"},
		{"alone", WarningFact{IDNumber: "B"}, "head:B"},
		{"township-wide", WarningFact{Township: "河口乡", Category: CatDisaster, Detail: map[string]string{"灾害名称": "洪涝"}}, "area:河口乡:disaster:洪涝"},
	}
	for _, tt := range tests {
		if got := HouseholdKeyOf(tt.w); got != tt.want {
			t.Errorf("%s: key %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestGroupWarnings(t *testing.T) {
	reg := &RegistryHousehold{No: "H1", HeadIDNumber: "A", HeadName: "王建国", Township: "城关镇", Village: "东村", Kind: HouseholdEdge, Risk: RiskOpen}
	hs := GroupWarnings([]WarningFact{
		{ID: 3, Category: CatAssurance, IDNumber: "C", Name: "周芳", Township: "河口乡", Detail: map[string]string{"责任部门": "住建局"}},
		{ID: 1, Category: CatMedical, IDNumber: "B", Name: "王小明", Township: "河口乡", Reg: reg},
		{ID: 2, Category: CatEmployment, IDNumber: "A", Name: "王建国", Township: "城关镇", Reg: reg},
	})
	if len(hs) != 2 {
		t.Fatalf("%d households, want 2", len(hs))
	}
	h := hs[0]
	if h.Key != "hh:H1" || h.Township != "城关镇" || h.Village != "东村" || h.HeadName != "王建国" || h.Kind() != KindUpdate || len(h.Warnings) != 2 {
		t.Errorf("registry household: %+v", h)
	}
	if c := hs[1]; c.Department != "住建局" || c.Kind() != KindNew || c.HeadIDNumber != "C" {
		t.Errorf("assurance household: %+v", c)
	}
}

func TestHold(t *testing.T) {
	closed := MustDate("2026-11-20")
	med := func(amount string) WarningFact {
		return WarningFact{Category: CatMedical, IDNumber: "x", Amount: amount}
	}
	house := WarningFact{Category: CatAssurance, IDNumber: "x", Detail: map[string]string{"问题类型": "住房安全"}}
	water := WarningFact{Category: CatAssurance, IDNumber: "x", Detail: map[string]string{"问题类型": "饮水安全"}}
	e := EarlierResult{CaseNo: "YJ202611-0001", Result: ResultExclude, ClosedOn: &closed,
		Verified: []WarningFact{med("8000.00"), med("10000.00"), house}}
	for _, c := range []struct {
		name string
		e    EarlierResult
		ws   []WarningFact
		day  string
		want bool
	}{
		{"same problem, grown 49.99 %", e, []WarningFact{med("14999.99")}, "2026-12-10", true},
		{"grown 50 %", e, []WarningFact{med("15000.00")}, "2026-12-10", false},
		{"verified 问题类型", e, []WarningFact{house, med("9000")}, "2026-12-10", true},
		{"another 问题类型", e, []WarningFact{house, water}, "2026-12-10", false},
		{"another category", e, []WarningFact{{Category: CatAssistance, IDNumber: "x"}}, "2026-12-10", false},
		{"six months later", e, []WarningFact{med("9000")}, "2027-05-20", false},
		{"just under six months", e, []WarningFact{med("9000")}, "2027-05-19", true},
		{"earlier case taken in (纳入, 录入 done)", EarlierResult{CaseNo: "YJ", Result: ResultInclude, ClosedOn: &closed, Verified: e.Verified},
			[]WarningFact{med("9000")}, "2026-12-10", true},
		{"earlier case 已在监测, 录入 done", EarlierResult{CaseNo: "YJ", Result: ResultMonitored, ClosedOn: &closed, Verified: e.Verified},
			[]WarningFact{med("14000")}, "2026-12-10", true},
		{"纳入, grown 50 %", EarlierResult{CaseNo: "YJ", Result: ResultInclude, ClosedOn: &closed, Verified: e.Verified},
			[]WarningFact{med("15000")}, "2026-12-10", false},
		{"纳入, another category", EarlierResult{CaseNo: "YJ", Result: ResultInclude, ClosedOn: &closed, Verified: e.Verified},
			[]WarningFact{med("9000"), {Category: CatEmployment, IDNumber: "x"}}, "2026-12-10", false},
		{"earlier case still open", EarlierResult{CaseNo: "YJ", Result: ResultExclude, Verified: e.Verified},
			[]WarningFact{med("9000")}, "2026-12-10", false},
		{"verified 纳入, awaiting 录入 (open)", EarlierResult{CaseNo: "YJ", Result: ResultInclude, Verified: e.Verified},
			[]WarningFact{med("9000")}, "2026-12-10", false},
		{"closed without a result", EarlierResult{CaseNo: "YJ", ClosedOn: &closed, Verified: e.Verified},
			[]WarningFact{med("9000")}, "2026-12-10", false},
	} {
		if got := Hold(c.e, c.ws, MustDate(c.day)).Hold; got != c.want {
			t.Errorf("%s: Hold = %v, want %v", c.name, got, c.want)
		}
	}
}
