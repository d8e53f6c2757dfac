package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/fangpin/fangpin/cases/seal"
)

// people is a push's people for planRead: keyed hashes (hex) without a 问题类型.
type people []string

func halves(h string) (hi, lo uint64) {
	b, _ := hex.DecodeString(h)
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])
}

func (p people) Has(hi, lo uint64, problem string) bool {
	return problem == "" && slices.ContainsFunc(p, func(h string) bool { a, b := halves(h); return a == hi && b == lo })
}

func (p people) Each(f func(hi, lo uint64, problem string)) {
	for _, h := range p {
		hi, lo := halves(h)
		f(hi, lo, "")
	}
}

func printsOf(hashes ...string) []byte {
	var b []byte
	for _, h := range hashes {
		var sum [32]byte
		hex.Decode(sum[:], []byte(h))
		b = appendPrint(b, hashPrint(&sum))
	}
	return b
}

// supersede reads an earlier push with prints only for the people it shares with the new
// push (asked by their hash's first 31 hex digits), not at all when it shares nobody, and one
// without prints whole.
func TestPlanReadReadsOnlySharedPeople(t *testing.T) {
	k := seal.Demo()
	a, b, c := k.IDHash("11010119900307803X"), k.IDHash("110101199003078048"), k.IDHash("622626195512310018")
	for _, tc := range []struct {
		name    string
		earlier []earlierPush
		persons people
		want    readPlan
	}{
		{"nobody shared", []earlierPush{{ID: "E1", Printed: true, Prints: printsOf(a, b)}}, people{c}, readPlan{}},
		{"no warned people", []earlierPush{{ID: "E1", Printed: true, Prints: []byte{}}}, people{a}, readPlan{}},
		{"one shared", []earlierPush{{ID: "E1", Printed: true, Prints: printsOf(a, b)}, {ID: "E2", Printed: true, Prints: printsOf(c)}},
			people{b, k.IDHash("130101199001010011"), c}, readPlan{printed: []string{"E1", "E2"}, ids: `{"` + b[:31] + `","` + c[:31] + `"}`}},
		{"without prints", []earlierPush{{ID: "E0"}, {ID: "E1", Printed: true, Prints: printsOf(a)}}, people{c},
			readPlan{whole: []string{"E0"}}},
	} {
		got := planRead(tc.earlier, tc.persons)
		if !slices.Equal(got.whole, tc.want.whole) || !slices.Equal(got.printed, tc.want.printed) || got.ids != tc.want.ids {
			t.Errorf("%s: plan %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
