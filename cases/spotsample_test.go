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
	got, town := map[string]int{}, map[string]int{}
	for _, p := range a {
		got[p.Township+string(p.Categories[0])]++
		town[p.Township]++
	}
	want := int(math.Ceil(0.3 * float64(n)))
	if len(a) != want {
		t.Errorf("%d picked of %d at 30%%, want %d", len(a), n, want)
	}
	for k, s := range size {
		exact := float64(want) * float64(s) / float64(n)
		if lo, hi := int(math.Floor(exact)), int(math.Ceil(exact)); got[k] < lo || got[k] > hi {
			t.Errorf("stratum %s of %d: %d picked, want %d or %d (its share %.2f)", k, s, got[k], lo, hi, exact)
		}
	}
	for _, tw := range towns {
		if town[tw] == 0 {
			t.Errorf("%s not checked at all", tw)
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

// A small month at 10% picks about 10%, yet no township goes unchecked.
func TestSampleSpotChecksKeepsTheRateAndEveryTownship(t *testing.T) {
	var cands []SpotCandidate
	for i := 0; i < 40; i++ {
		town := []string{"城关镇", "河口乡", "青山镇", "石桥乡", "柳林镇", "白沙乡"}[i%6]
		cat := Categories[i%len(Categories)]
		cands = append(cands, SpotCandidate{No: fmt.Sprintf("YJ202611-%04d", i+1), Township: town, Categories: []Category{cat}})
	}
	picks := SampleSpotChecks(cands, "2026-11", 0.1, 7)
	towns := map[string]bool{}
	for _, p := range picks {
		towns[p.Township] = true
	}
	// ceil(10% of 40) = 4 by share, plus one for each township whose share rounded to nothing.
	if len(picks) != 6 || len(towns) != 6 {
		t.Fatalf("%d picks over %d townships, want 6 over 6: %v", len(picks), len(towns), picks)
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
