package intake_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/synth"
)

// batchView is what must not depend on the file's format.
type batchView struct {
	Rows, Accepted, Rejected, Warnings int
	Errors                             []cases.RowError
	Lines                              []postgres.BatchWarning
}

func (f *fixture) view(t *testing.T, b cases.Batch) batchView {
	t.Helper()
	v := batchView{Rows: b.Rows, Accepted: b.Accepted, Rejected: b.Rejected, Warnings: b.Warnings, Errors: b.Errors}
	err := f.db.BatchWarnings(context.Background(), b.ID, func(w postgres.BatchWarning) error {
		v.Lines = append(v.Lines, w)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The same rows as UTF-8 CSV, GBK CSV and XLSX give the same batch, and the synthetic
// department files warn exactly where they say they do.
func TestFormatsGiveTheSameBatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, tc := range []struct {
		dept string
		cat  cases.Category
	}{
		{"医保局", cases.CatMedical}, {"应急管理局", cases.CatDisaster}, {"教体局", cases.CatEducation},
		{"农业农村局", cases.CatIndustry}, {"民政局", cases.CatAssistance}, {"公安局", cases.CatPopulation},
		{"卫健委", cases.CatSeriousIllness}, {"卫健委", cases.CatEpidemic}, {"人社局", cases.CatEmployment},
		{"住建局", cases.CatAssurance},
	} {
		t.Run(string(tc.cat), func(t *testing.T) {
			spec := synth.DeptSpec{Category: tc.cat, Warn: 12, Quiet: 10, Bad: 6, Members: f.members,
				Month: cases.NewDate(2026, 10, 1)}
			var utf bytes.Buffer
			rows, err := synth.New(uint64(len(tc.cat))).WriteDeptCSV(&utf, spec, false)
			if err != nil {
				t.Fatal(err)
			}
			var gbk, xlsx bytes.Buffer
			if err := synth.WriteRowsCSV(&gbk, tc.cat, rows, true); err != nil {
				t.Fatal(err)
			}
			if err := synth.WriteRowsXLSX(&xlsx, tc.cat, rows); err != nil {
				t.Fatal(err)
			}
			var views []batchView
			var first cases.Batch
			for i, file := range [][]byte{utf.Bytes(), gbk.Bytes(), xlsx.Bytes()} {
				into := f
				if tc.cat == cases.CatPopulation && i > 0 {
					// 人员变动 changes the registry: each format starts from the same registry.
					into = setup(t)
				}
				b := into.importBytes(t, tc.dept, tc.cat, file)
				if i == 0 {
					first = b
				}
				views = append(views, into.view(t, b))
			}
			for i, name := range []string{"GBK CSV", "XLSX"} {
				if !reflect.DeepEqual(views[0], views[i+1]) {
					t.Errorf("%s differs from UTF-8 CSV:\n%+v\n%+v", name, views[0], views[i+1])
				}
			}
			v := views[0]
			wantWarn := spec.Warn
			if cases.DefaultRules().Evaluate(tc.cat, &cases.Facts{}) != nil {
				wantWarn += spec.Quiet // every row warns
			}
			if tc.cat == cases.CatPopulation {
				// Only registry people change anything; every change here is in a 脱贫户 or a
				// monitored household, so each update is a 信息变更 row (births of people
				// already listed change nothing).
				named := min(spec.Warn, len(f.members))
				if first.RegistryUpdates == nil || first.NotInRegistry == nil || *first.NotInRegistry != first.Accepted-named ||
					*first.RegistryUpdates == 0 || *first.RegistryUpdates > named {
					t.Errorf("population counts: %+v", first)
				} else {
					wantWarn = *first.RegistryUpdates
				}
			}
			if v.Rows != 28 || v.Rejected != spec.Bad || v.Warnings != wantWarn {
				t.Errorf("rows %d rejected %d warnings %d; want 28, %d, %d; errors %v", v.Rows, v.Rejected, v.Warnings,
					spec.Bad, wantWarn, v.Errors)
			}
		})
	}
}
