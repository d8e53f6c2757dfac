package registry_test

import (
	"bytes"
	"context"
	"runtime/debug"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/sheet/sheettest"
	"github.com/fangpin/fangpin/cases/synth"
)

type discard struct{}

func (discard) BeginRegistryImport(context.Context) (cases.RegistryLoad, error) {
	return discard{}, nil
}
func (discard) Add(context.Context, []cases.RegistryMember) error { return nil }
func (discard) Finish(context.Context, cases.RegistryImportOptions) (cases.RegistryImportResult, error) {
	return cases.RegistryImportResult{}, nil
}
func (discard) Abort() {}

// What the import remembers of each row (to find a person twice, or a household that
// contradicts itself) is small: a registry file at the 50 MB limit stays far under the
// process's 256 MB.
func TestRegistryImportRemembersLittlePerRow(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("reads a registry of 40,000 households")
	}
	towns := map[string]string{}
	for _, n := range synth.Townships {
		towns[n] = n
	}
	var file bytes.Buffer
	if err := synth.WriteRegistryCSV(&file, synth.New(5).Registry(40000, synth.Townships)); err != nil {
		t.Fatal(err)
	}
	rows := bytes.Count(file.Bytes(), []byte("\n")) - 1
	var s registry.Summary
	var err error
	// Collect often, so that the peak is what the import holds, not garbage.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	peak := sheettest.HeapPeak(func() {
		var r *sheet.Reader
		if r, err = sheet.New(bytes.NewReader(file.Bytes())); err != nil {
			return
		}
		s, err = registry.Import(context.Background(), r, towns, discard{})
	})
	if err != nil || s.Rows != rows || s.Rejected != 0 {
		t.Fatalf("rows %d rejected %d (of %d), err %v", s.Rows, s.Rejected, rows, err)
	}
	perRow := peak / uint64(rows)
	t.Logf("%d rows (%d MB): peak heap %d MB, %d bytes a row", rows, file.Len()>>20, peak>>20, perRow)
	// At the file limit (~450,000 such rows) 120 bytes a row is under 55 MB.
	if perRow > 120 {
		t.Fatalf("%d bytes of heap a row; want at most 120", perRow)
	}
}
