package postgres

import (
	"slices"
	"testing"
)

// people is a push's people for planRead: ID numbers without a 问题类型.
type people []string

func (p people) Has(id, problem string) bool { return problem == "" && slices.Contains(p, id) }

func (p people) Each(f func(id []byte, problem string)) {
	for _, id := range p {
		f([]byte(id), "")
	}
}

func printsOf(ids ...string) []byte {
	var b []byte
	for _, id := range ids {
		b = appendPrint(b, personPrint(id))
	}
	return b
}

// supersede reads an earlier push with prints only for the people it shares with the new
// push, not at all when it shares nobody, and one without prints whole.
func TestPlanReadReadsOnlySharedPeople(t *testing.T) {
	a, b, c := "11010119900307803X", "110101199003078048", "622626195512310018"
	for _, tc := range []struct {
		name    string
		earlier []earlierPush
		persons people
		want    readPlan
	}{
		{"nobody shared", []earlierPush{{ID: "E1", Printed: true, Prints: printsOf(a, b)}}, people{c}, readPlan{}},
		{"no warned people", []earlierPush{{ID: "E1", Printed: true, Prints: []byte{}}}, people{a}, readPlan{}},
		{"one shared", []earlierPush{{ID: "E1", Printed: true, Prints: printsOf(a, b)}, {ID: "E2", Printed: true, Prints: printsOf(c)}},
			people{b, "130101199001010011", c}, readPlan{printed: []string{"E1", "E2"}, ids: `{"` + b + `","` + c + `"}`}},
		{"without prints", []earlierPush{{ID: "E0"}, {ID: "E1", Printed: true, Prints: printsOf(a)}}, people{c},
			readPlan{whole: []string{"E0"}}},
	} {
		got := planRead(tc.earlier, tc.persons)
		if !slices.Equal(got.whole, tc.want.whole) || !slices.Equal(got.printed, tc.want.printed) || got.ids != tc.want.ids {
			t.Errorf("%s: plan %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
