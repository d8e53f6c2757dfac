package synth_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/synth"
)

func TestDeptFiles(t *testing.T) {
	members := synth.New(1).Registry(20, synth.Townships)
	for _, cat := range cases.Categories {
		var buf bytes.Buffer
		spec := synth.DeptSpec{Category: cat, Warn: 7, Quiet: 5, Bad: 4, Members: members}
		rows, err := synth.New(2).WriteDeptCSV(&buf, spec, false)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, r := range rows {
			count[r.Kind]++
		}
		if count["warn"] != 7 || count["quiet"] != 5 || count["bad"] != 4 || rows[0].Kind == "bad" {
			t.Errorf("%s: kinds %v", cat, count)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 17 {
			t.Fatalf("%s: %d records, %v", cat, len(recs), err)
		}
		for i, h := range intake.RequiredColumnsOf(cat) {
			found := false
			for _, x := range recs[0] {
				found = found || x == h
			}
			if !found {
				t.Errorf("%s: header lacks %s (%d)", cat, h, i)
			}
		}
		var again bytes.Buffer
		synth.New(2).WriteDeptCSV(&again, spec, false)
		var first bytes.Buffer
		synth.New(2).WriteDeptCSV(&first, spec, false)
		if !bytes.Equal(first.Bytes(), again.Bytes()) {
			t.Errorf("%s: the same seed gave different files", cat)
		}
	}
}
