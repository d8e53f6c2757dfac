package cases

import (
	"reflect"
	"testing"
)

func TestHouseholdInTwoTownshipsGoesToRegistryThenHeadThenFirst(t *testing.T) {
	reg := &RegistryHousehold{No: "H9", HeadIDNumber: "head", HeadName: "户主", Township: "青山镇", Kind: HouseholdEdge, Risk: RiskOpen}
	tests := []struct {
		name     string
		ws       []WarningFact
		township string
		others   []string
	}{
		{"registry township wins", []WarningFact{
			{ID: 1, Category: CatMedical, IDNumber: "m1", Township: "城关镇", Reg: reg},
			{ID: 2, Category: CatAssistance, IDNumber: "head", Township: "河口乡", Reg: reg},
		}, "青山镇", []string{"城关镇", "河口乡"}},
		{"the 户主's own row, not the first", []WarningFact{
			{ID: 1, Category: CatMedical, IDNumber: "m1", HeadIDNumber: "h", Township: "城关镇"},
			{ID: 2, Category: CatEmployment, IDNumber: "h", HeadIDNumber: "h", Township: "河口乡", Village: "西村"},
		}, "河口乡", []string{"城关镇"}},
		{"else the first row", []WarningFact{
			{ID: 1, Category: CatMedical, IDNumber: "m1", HeadIDNumber: "h", Township: "城关镇"},
			{ID: 2, Category: CatAssistance, IDNumber: "m2", HeadIDNumber: "h", Township: "河口乡"},
		}, "城关镇", []string{"河口乡"}},
		{"one township, nobody else told", []WarningFact{
			{ID: 1, Category: CatMedical, IDNumber: "m1", HeadIDNumber: "h", Township: "城关镇"},
			{ID: 2, Category: CatAssistance, IDNumber: "h", HeadIDNumber: "h", Township: "城关镇"},
		}, "城关镇", nil},
	}
	for _, tt := range tests {
		hs := GroupWarnings(tt.ws)
		if len(hs) != 1 {
			t.Fatalf("%s: %d households, want 1", tt.name, len(hs))
		}
		if hs[0].Township != tt.township || !reflect.DeepEqual(hs[0].OtherTownships, tt.others) {
			t.Errorf("%s: township %s, others %v; want %s, %v", tt.name, hs[0].Township, hs[0].OtherTownships, tt.township, tt.others)
		}
	}
}

func TestDiffRegistry(t *testing.T) {
	before := RegistrySnapshot{
		Households: map[string]RegistryHouseholdState{
			"H1": {Head: "a", Township: "城关镇", Village: "东村", Kind: HouseholdLifted, Risk: RiskCleared},
			"H2": {Head: "c", Township: "河口乡", Village: "西村", Kind: HouseholdEdge, Risk: RiskOpen},
			"H3": {Head: "e", Township: "城关镇", Kind: HouseholdEdge, Risk: RiskOpen, Removed: true},
			"H4": {Head: "g", Township: "城关镇", Kind: HouseholdLifted, Risk: RiskCleared},
		},
		Members: map[string]RegistryMemberState{
			"a": {Household: "H1", Name: "甲", Relation: "户主"}, "b": {Household: "H1", Name: "乙", Relation: "之子"},
			"c": {Household: "H2", Name: "丙", Relation: "户主"}, "d": {Household: "H2", Name: "丁", Relation: "之女"},
			"e": {Household: "H3", Name: "戊", Relation: "户主", Removed: true},
			"g": {Household: "H4", Name: "庚", Relation: "户主"},
		},
	}
	m := func(no, head, id, name, rel, town, village, kind, risk string) RegistryMember {
		return RegistryMember{HouseholdNo: no, HeadIDNumber: head, IDNumber: id, Name: name, Relation: rel, Township: town, Village: village, Kind: kind, RiskStatus: risk}
	}
	same := []RegistryMember{
		m("H1", "a", "a", "甲", "户主", "城关镇", "东村", HouseholdLifted, RiskCleared),
		m("H1", "a", "b", "乙", "之子", "城关镇", "东村", HouseholdLifted, RiskCleared),
		m("H2", "c", "c", "丙", "户主", "河口乡", "西村", HouseholdEdge, RiskOpen),
		m("H2", "c", "d", "丁", "之女", "河口乡", "西村", HouseholdEdge, RiskOpen),
		m("H4", "g", "g", "庚", "户主", "城关镇", "", HouseholdLifted, RiskCleared),
	}
	if d := DiffRegistry(before, same); !d.Empty() {
		t.Fatalf("the same registry: %+v", d.Changes)
	}
	next := []RegistryMember{
		m("H1", "a", "a", "甲", "户主", "城关镇", "东村", HouseholdLifted, RiskCleared),
		m("H2", "c", "c", "丙", "户主", "城关镇", "新村", HouseholdEdge, RiskCleared),   // 乡镇, 村, 风险状态; d left
		m("H3", "e", "e", "戊", "户主", "城关镇", "", HouseholdEdge, RiskOpen),        // back in the registry
		m("H5", "b", "b", "乙", "户主", "城关镇", "东村", HouseholdLifted, RiskCleared), // b moved to a new household
		m("H5", "b", "x", "己", "配偶", "城关镇", "东村", HouseholdLifted, RiskCleared), // comes with it
		// H4 absent
	}
	d := DiffRegistry(before, next)
	if d.Added != 2 || d.Changed != 1 || d.Moved != 1 || d.Removed != 2 || d.RemovedHouseholds != 1 || d.ActiveBefore != 3 {
		t.Fatalf("diff = added %d changed %d moved %d removed %d (households %d of %d): %+v",
			d.Added, d.Changed, d.Moved, d.Removed, d.RemovedHouseholds, d.ActiveBefore, d.Changes)
	}
	for _, c := range d.Changes {
		if c.Change == RegChanged && (c.Household != "H2" || c.From != "河口乡" || c.To != "城关镇" || !reflect.DeepEqual(c.Fields, []string{"乡镇", "村", "风险状态"})) {
			t.Errorf("H2's change = %+v", c)
		}
		if c.Change == RegMoved && (c.IDNumber != "b" || c.From != "H1" || c.To != "H5") {
			t.Errorf("move = %+v", c)
		}
	}
	if !d.TooManyRemovals() { // 1 of 3 is more than 20 %
		t.Error("removing 1 of 3 households should need --allow-removals")
	}
}
