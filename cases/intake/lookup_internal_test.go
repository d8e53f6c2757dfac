package intake

import (
	"context"
	"reflect"
	"testing"

	"github.com/fangpin/fangpin/cases"
)

// registryStub answers RegistryLookup from a fixed registry, as the postgres store does
// (an ID found as a member or as a household's head, absent otherwise), and counts how
// often each ID is asked.
type registryStub struct {
	Store
	reg   map[string]cases.RegistryMember
	asked map[string]int
}

func (s *registryStub) RegistryLookup(_ context.Context, ids []string) (map[string]cases.RegistryMember, error) {
	out := map[string]cases.RegistryMember{}
	for _, id := range ids {
		s.asked[id]++
		if m, ok := s.reg[id]; ok {
			out[id] = m
		}
	}
	return out, nil
}

// Heads answered by an earlier chunk are not asked again, and every chunk gets the same
// answers as an uncached lookup of all its IDs would give, including heads not in the
// registry, a head who is also a row's person, and the cache once it is full.
func TestLookupCachesHeads(t *testing.T) {
	t.Parallel()
	reg := map[string]cases.RegistryMember{
		"H1": {IDNumber: "H1", HouseholdNo: "T1", Kind: cases.HouseholdLifted},
		"H2": {IDNumber: "H2", HouseholdNo: "T2", Kind: cases.HouseholdEdge},
		"P1": {IDNumber: "P1", HouseholdNo: "T1", Kind: cases.HouseholdLifted},
	}
	row := func(id, head string) pending { return pending{w: cases.Warning{IDNumber: id, HeadIDNumber: head}} }
	chunks := [][]pending{
		{row("P1", "H1"), row("P2", "H1"), row("P3", "H9"), row("P4", "")},
		{row("P5", "H1"), row("P6", "H9"), row("P7", "H2")},
		{row("H1", "H1"), row("P8", "H2"), row("P9", "H9"), row("", "H1")},
	}
	for _, limit := range []int{maxCachedHeads, 1, 0} {
		cached := &registryStub{reg: reg, asked: map[string]int{}}
		plain := &registryStub{reg: reg, asked: map[string]int{}}
		p := &parser{store: cached}
		heads := map[string]headAnswer{}
		for i, chunk := range chunks {
			if limit < maxCachedHeads {
				for len(heads) > limit {
					for k := range heads {
						delete(heads, k)
						break
					}
				}
			}
			got, err := p.lookup(context.Background(), chunk, heads, nil)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, pd := range chunk {
				for _, id := range []string{pd.w.IDNumber, pd.w.HeadIDNumber} {
					if id != "" {
						ids = append(ids, id)
					}
				}
			}
			want, _ := plain.RegistryLookup(context.Background(), ids)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("limit %d, chunk %d: cached lookup %v, uncached %v", limit, i, got, want)
			}
		}
		if limit == maxCachedHeads {
			for _, h := range []string{"H2", "H9"} {
				if cached.asked[h] != 1 {
					t.Errorf("head %s asked %d times, want once", h, cached.asked[h])
				}
			}
			// H1 is asked once as a head and once as the person of a row of the third chunk
			if cached.asked["H1"] != 2 {
				t.Errorf("H1 asked %d times, want 2", cached.asked["H1"])
			}
		}
	}
}

func (s *registryStub) RegistryIDKeys(context.Context) (cases.IDKeySet, error) {
	set := cases.IDKeySet{}
	for id := range s.reg {
		set.Add(id)
	}
	return set, nil
}

// With the registry's ID numbers at hand, people and heads the registry does not hold are
// not asked, and the answers are those of asking everyone.
func TestLookupAsksOnlyWhomTheRegistryMayHold(t *testing.T) {
	t.Parallel()
	in, head, out, outHead := "110101196001010011", "110101195001010012", "110101197001010013", "110101194001010014"
	reg := map[string]cases.RegistryMember{
		in:   {IDNumber: in, HouseholdNo: "T1", Kind: cases.HouseholdLifted},
		head: {IDNumber: head, HouseholdNo: "T1", Kind: cases.HouseholdLifted},
	}
	row := func(id, head string) pending { return pending{w: cases.Warning{IDNumber: id, HeadIDNumber: head}} }
	chunk := []pending{row(in, head), row(out, head), row(out, outHead), row("", outHead), row("12345", "")}
	stub := &registryStub{reg: reg, asked: map[string]int{}}
	known, _ := stub.RegistryIDKeys(context.Background())
	got, err := (&parser{store: stub}).lookup(context.Background(), chunk, map[string]headAnswer{}, known)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := (&registryStub{reg: reg, asked: map[string]int{}}).RegistryLookup(context.Background(), []string{in, head, out, outHead, "12345"})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lookup with the registry's IDs %v, asking everyone %v", got, want)
	}
	for id, n := range stub.asked {
		if id == out || id == outHead {
			t.Errorf("%s, not in the registry, was asked %d times", id, n)
		}
	}
	if stub.asked[in] != 1 || stub.asked[head] != 1 || stub.asked["12345"] != 1 {
		t.Errorf("asked %v, want the registry's two people and the number without a key once each", stub.asked)
	}
}
