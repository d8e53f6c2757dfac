package cases

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

func TestSampleSpotChecksIsStratifiedAndReproducible(t *testing.T) {
	var cands []SpotCandidate
	towns := []string{"城关镇", "河口乡", "青山镇"}
	cats := []Category{CatMedical, CatEmployment, CatDisaster}
	size := map[string]int{}
	n := 0
	for ti, town := range towns {
		for ci, cat := range cats {
			k := 1 + (ti*3+ci)%7 // groups of 1 to 7 cases
			for i := 0; i < k; i++ {
				n++
				cands = append(cands, SpotCandidate{No: fmt.Sprintf("YJ202611-%04d", n), Township: town, Categories: []Category{cat}})
			}
			size[town+string(cat)] = k
		}
	}
	a := SampleSpotChecks(cands, "2026-11", 0.3, 42)
	b := SampleSpotChecks(append([]SpotCandidate(nil), reverse(cands)...), "2026-11", 0.3, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different order of candidates, different picks:\n%v\n%v", a, b)
	}
	got := map[string]int{}
	for _, p := range a {
		got[p.Township+string(p.Categories[0])]++
	}
	for k, s := range size {
		if want := int(math.Ceil(0.3 * float64(s))); got[k] != want {
			t.Errorf("stratum %s of %d: %d picked, want %d", k, s, got[k], want)
		}
	}
	differs := 0
	for seed := int64(1); seed <= 10; seed++ {
		if !reflect.DeepEqual(a, SampleSpotChecks(cands, "2026-11", 0.3, seed)) {
			differs++
		}
	}
	if differs < 8 {
		t.Errorf("only %d of 10 other seeds picked differently", differs)
	}
	if len(SampleSpotChecks(cands, "2026-11", 1, 1)) != len(cands) {
		t.Error("rate 1 must pick every case")
	}
}

func TestPrimaryCategoryFollowsTheSeedsOrder(t *testing.T) {
	if c := PrimaryCategory([]Category{CatAssurance, CatMedical}); c != CatMedical {
		t.Fatalf("primary %s", c)
	}
	if c := PrimaryCategory(nil); c != "" {
		t.Fatalf("primary of none %q", c)
	}
}

func reverse(s []SpotCandidate) []SpotCandidate {
	out := make([]SpotCandidate, len(s))
	for i, c := range s {
		out[len(s)-1-i] = c
	}
	return out
}
