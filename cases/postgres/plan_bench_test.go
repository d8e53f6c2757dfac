package postgres

import (
	"testing"

	"github.com/fangpin/fangpin/cases/seal"
)

// hashPeople is a push's people as the importer's PersonSet gives them: hash halves.
type hashPeople [][2]uint64

func (p hashPeople) Has(hi, lo uint64, problem string) bool { return false }
func (p hashPeople) Each(f func(hi, lo uint64, problem string)) {
	for _, k := range p {
		f(k[0], k[1], "")
	}
}

// BenchmarkPlanRead is what the intake benchmark's second file pays to learn that it shares
// nobody with the first: 500,000 people against 220,000 prints (docs/performance.md).
func BenchmarkPlanRead(b *testing.B) {
	s := seal.Demo().Sealer()
	var sum [32]byte
	var prints []byte
	for i := 0; i < 220000; i++ {
		s.SumID(&sum, seal.Demo().IDHash("")+string(rune('a'+i%26))+itoa(i))
		prints = appendPrint(prints, hashPrint(&sum))
	}
	people := make(hashPeople, 500000)
	for i := range people {
		s.SumID(&sum, "p"+itoa(i))
		people[i] = [2]uint64{hashPrint(&sum), uint64(i)}
	}
	earlier := []earlierPush{{ID: "E", Printed: true, Prints: prints}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if plan := planRead(earlier, people); plan.ids != "" {
			b.Fatalf("people shared: %.40s…, want none", plan.ids)
		}
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}
