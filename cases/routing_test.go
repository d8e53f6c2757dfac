package cases

import (
	"reflect"
	"testing"
)

func TestCaseDepartment(t *testing.T) {
	known := map[string]bool{"住建局": true}
	named := func(dept string) Household {
		return Household{Department: dept, Warnings: []WarningFact{{Category: CatAssurance, Detail: map[string]string{"责任部门": dept}}}}
	}
	if d, err := CaseDepartment(named("住建局"), known); d != "住建局" || err != nil {
		t.Errorf("known department: %q %v", d, err)
	}
	if _, err := CaseDepartment(named("住房局"), known); ErrorCode(err) != ENotFound {
		t.Errorf("a 责任部门 the org file lacks: %v, want ENotFound", err)
	}
	implied := Household{Department: "水利局", Warnings: []WarningFact{{Category: CatAssurance, Detail: map[string]string{"问题类型": "饮水安全"}}}}
	if d, err := CaseDepartment(implied, known); d != "" || err != nil {
		t.Errorf("implied department the county lacks: %q %v, want none", d, err)
	}
}

func TestCadreVillages(t *testing.T) {
	if got := (OrgUser{Role: RoleCadre, Villages: []string{" 东关村 ", "", "西关村"}}).CadreVillages(); !reflect.DeepEqual(got, []string{"东关村", "西关村"}) {
		t.Errorf("cadre villages %q", got)
	}
	if got := (OrgUser{Role: RoleLiaison, Villages: []string{"东关村"}}).CadreVillages(); got == nil || len(got) != 0 {
		t.Errorf("a liaison has no villages, never nil: %#v", got)
	}
}
