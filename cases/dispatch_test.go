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
