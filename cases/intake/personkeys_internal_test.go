package intake

import (
	"math/rand/v2"
	"testing"
)

// personKeys answers as a map would: the first row of each key, every key once, through
// its growth; keys as structured as ID numbers' (one region, consecutive dates) included.
func TestPersonKeysAnswerAsAMap(t *testing.T) {
	var s personKeys
	want := map[uint64]int32{}
	r := rand.New(rand.NewPCG(1, 2))
	for row := int32(1); row <= 50000; row++ {
		key := uint64(41000019500101000 + r.IntN(30000)*10)
		if row%7 == 0 {
			key = r.Uint64() >> 4
		}
		prev, dup := s.firstOrAdd(key, row)
		first, known := want[key]
		if dup != known || dup && prev != first {
			t.Fatalf("key %d at row %d: %d, %v; want %d, %v", key, row, prev, dup, first, known)
		}
		if !known {
			want[key] = row
		}
	}
	if s.has(41000019500101001) || s.has(0) {
		t.Error("has a key never added")
	}
	n := 0
	s.each(func(key uint64) {
		n++
		if _, ok := want[key]; !ok || !s.has(key) {
			t.Fatalf("each gave %d, never added", key)
		}
	})
	if n != len(want) || s.n != len(want) {
		t.Fatalf("each gave %d keys, holds %d, want %d", n, s.n, len(want))
	}
}
