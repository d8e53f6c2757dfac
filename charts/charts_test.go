package charts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/charts/chartstest"
)

func rate(f float64) *float64 { return &f }

func sample() cases.Assessment {
	a := cases.Assessment{Month: "2026-12", Townships: []cases.TownshipScore{{Name: "城关镇"}, {Name: "河西乡"}, {Name: "石门镇"}}}
	add := func(town string, st cases.Status, overdue bool, n int) {
		for range n {
			a.Cases = append(a.Cases, cases.CaseFact{Township: town, Status: st, Overdue: overdue, Kind: cases.KindNew})
		}
	}
	add("城关镇", cases.StatusClosed, false, 7)
	add("城关镇", cases.StatusDispatched, true, 2)
	add("河西乡", cases.StatusVerified, false, 3)
	add("河西乡", cases.StatusDispatched, false, 4)
	add("石门镇", cases.StatusClosed, true, 1)
	a.Categories = []cases.CategoryCount{{Category: cases.Categories[0], Cases: 5, Include: 2, Monitored: 1, Exclude: 1, Pending: 1},
		{Category: cases.Categories[1], Cases: 3, Include: 1, Pending: 2}}
	a.Total = cases.CategoryCount{Cases: 8, Include: 3, Monitored: 1, Exclude: 1, Pending: 3}
	return a
}

func TestTownshipBarsPutEachCaseInOnePart(t *testing.T) {
	bars := TownshipBars(sample(), "")
	want := []Bars{{"城关镇", 0, 0, 7, 2}, {"河西乡", 4, 3, 0, 0}, {"石门镇", 0, 0, 1, 0}}
	if len(bars) != len(want) {
		t.Fatalf("bars %v", bars)
	}
	for i := range want {
		if bars[i] != want[i] {
			t.Errorf("bar %d = %+v, want %+v", i, bars[i], want[i])
		}
	}
	if one := TownshipBars(sample(), "河西乡"); len(one) != 1 || one[0].Pending != 4 {
		t.Errorf("one township: %+v", one)
	}
}

// TestChartsDrawChinese draws both pictures; with FANGPIN_CHART_DIR set they are kept there
// to look at.
func TestChartsDrawChinese(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	t.Logf("font: %s", FontPath())
	a := sample()
	hist := []MonthRate{{Month: "2026-07", Rate: rate(0.9)}, {Month: "2026-08"}, {Month: "2026-09", Rate: rate(1)},
		{Month: "2026-10", Rate: rate(0.75)}, {Month: "2026-11", Rate: rate(0.8)}, {Month: "2026-12", Rate: rate(0.5), Provisional: true}}
	prog, err := Progress("2026年12月办理进度（截至今日）", TownshipBars(a, ""), hist)
	if err != nil {
		t.Fatal(err)
	}
	chartstest.CheckPNG(t, prog)
	stats, err := Stats("2026年12月统计", a)
	if err != nil {
		t.Fatal(err)
	}
	chartstest.CheckPNG(t, stats)
	// an empty month still draws axes and titles, never fails
	empty, err := Progress("空", nil, nil)
	if err != nil || len(empty) == 0 {
		t.Fatalf("empty month: %v", err)
	}
	dir := os.Getenv("FANGPIN_CHART_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	for name, b := range map[string][]byte{"progress.png": prog, "stats.png": stats} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", p)
	}
}

func TestLoadFontRefusesAFontWithoutChinese(t *testing.T) {
	matches, _ := filepath.Glob("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
	if len(matches) == 0 {
		t.Skip("no DejaVu font to try")
	}
	if _, err := LoadFont(matches[0]); err == nil {
		t.Fatal("a Latin-only font was taken for Chinese")
	}
	if _, err := findFont("/nonexistent/font.ttc"); err == nil {
		t.Fatal("a missing configured font was accepted")
	}
}
