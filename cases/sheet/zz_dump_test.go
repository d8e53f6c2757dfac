package sheet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestZZDump(t *testing.T) {
	dir := os.Getenv("DUMP")
	if dir == "" {
		t.Skip()
	}
	files, _ := filepath.Glob(dir)
	for _, f := range files {
		b, err := OpenBook(f)
		fmt.Println("=====", filepath.Base(f), err)
		if err != nil {
			continue
		}
		fmt.Println("format", b.Format, "sheets", b.Sheets())
		for i := range b.Sheets() {
			r, err := b.Sheet(i)
			if err != nil {
				fmt.Println("sheet err", err)
				continue
			}
			for n := 0; n < 30; n++ {
				rec, err := r.next()
				if err != nil {
					fmt.Println("  end", err)
					break
				}
				r.row++
				fmt.Printf("  %d %q unc=%v\n", r.row, rec, r.Uncomputed())
			}
		}
		b.Close()
	}
}
