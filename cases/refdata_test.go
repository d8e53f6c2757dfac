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
