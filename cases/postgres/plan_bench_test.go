package postgres

import (
	"testing"

	"github.com/fangpin/fangpin/cases"
)

// keyPeople gives back ID numbers from their keys, as the importer's PersonSet does.
type keyPeople []uint64

func (p keyPeople) Has(id, problem string) bool { return false }
func (p keyPeople) Each(f func(id []byte, problem string)) {
	buf := make([]byte, 0, 18)
	for _, k := range p {
		f(cases.AppendIDNumber(buf[:0], k), "")
	}
}

// BenchmarkPlanRead is what the intake benchmark's second file pays to learn that it shares
// nobody with the first: 500,000 people against 220,000 prints (docs/performance.md).
func BenchmarkPlanRead(b *testing.B) {
	var prints []byte
	for i := 0; i < 220000; i++ {
		prints = appendPrint(prints, personPrint(cases.AppendIDNumber(nil, uint64(41000019500101000+i*7))))
	}
	people := make(keyPeople, 500000)
	for i := range people {
		people[i] = uint64(42000019500101000 + i*13)
	}
	earlier := []earlierPush{{ID: "E", Printed: true, Prints: prints}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if plan := planRead(earlier, people); plan.ids != "" {
			b.Fatalf("people shared: %.40s…, want none", plan.ids)
		}
	}
}
