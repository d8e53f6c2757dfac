package cases

import "testing"

func TestAssignerByVillageElseEvenly(t *testing.T) {
	a := &Assigner{Cadres: []Cadre{{UserID: "a", Villages: []string{"东村"}}, {UserID: "b"}, {UserID: "c"}}}
	for i := 0; i < 3; i++ {
		if got := a.Assign("东村"); got != "a" {
			t.Fatalf("东村 case %d went to %q, want a (its village)", i, got)
		}
	}
	// other villages spread evenly over every cadre, the least loaded first
	got := map[string]int{}
	for i := 0; i < 9; i++ {
		got[a.Assign("西村")]++
	}
	if got["b"] != 4 || got["c"] != 4 || got["a"] != 1 {
		t.Errorf("spread of 9 西村 cases after a had 3: %v", got)
	}
	if (&Assigner{}).Assign("东村") != "" {
		t.Error("a township without cadres assigned someone")
	}
}
