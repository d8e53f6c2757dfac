package charts

import (
	"fmt"
	"os"
	"testing"

	"github.com/fangpin/fangpin/charts/chartstest"
)

// A county's twenty townships still fit: the picture widens with them.
func TestProgressWithTwentyTownships(t *testing.T) {
	names := []string{"城关镇", "河口乡", "青山镇", "石门镇", "白沙乡", "黄龙镇", "清水乡", "高桥镇", "新华乡", "太平镇",
		"长岭乡", "双河镇", "红星乡", "东风镇", "南山乡", "北坪镇", "西岭乡", "龙潭镇", "金竹乡", "马鞍山镇"}
	var bars []Bars
	for i, n := range names {
		bars = append(bars, Bars{Township: n, Pending: i % 4, Verified: i % 3, Closed: 10 + i, Overdue: i % 5})
	}
	png, err := Progress("2026年11月办理进度", bars, []MonthRate{{Month: "2026-11", Rate: new(0.93)}})
	if err != nil {
		t.Fatal(err)
	}
	img := chartstest.CheckPNG(t, png)
	if w := img.Bounds().Dx(); w < 80*len(names) {
		t.Errorf("%d px for %d townships", w, len(names))
	}
	if dir := os.Getenv("FANGPIN_CHART_DIR"); dir != "" {
		os.WriteFile(fmt.Sprintf("%s/progress-20.png", dir), png, 0o644)
	}
}
