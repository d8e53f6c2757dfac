package charts

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fangpin/fangpin/cases"
)

// MinWidth is the narrowest picture drawn, in pixels: readable on a phone when enlarged,
// and what WeCom shows without scaling on a desktop.
const MinWidth = 1000

const dpi = 96

// px turns pixels into plot lengths at the charts' resolution.
func px(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// The bars' colours, the same in chat and on the overview page's legend.
var (
	ColorPending  = color.RGBA{0xF0, 0xA0, 0x30, 0xff} // 待核查
	ColorVerified = color.RGBA{0x4A, 0x90, 0xD9, 0xff} // 已核查待录入
	ColorClosed   = color.RGBA{0x52, 0xA8, 0x68, 0xff} // 已办结
	ColorOverdue  = color.RGBA{0xD9, 0x53, 0x4F, 0xff} // 逾期
	ColorInclude  = color.RGBA{0xD9, 0x53, 0x4F, 0xff} // 纳入
	ColorMonitor  = color.RGBA{0x4A, 0x90, 0xD9, 0xff} // 已在监测
	ColorExclude  = color.RGBA{0x52, 0xA8, 0x68, 0xff} // 不纳入
	ColorNone     = color.RGBA{0xB0, 0xB0, 0xB0, 0xff} // 尚无结论
	colorLine     = color.RGBA{0x2F, 0x6F, 0xB5, 0xff}
)

// Bars is one township's cases sorted into the four parts of its bar. Each case is in
// exactly one: 已办结 (closed), else 逾期 (open past its due date), else 已核查待录入 (a
// result recorded, or a 信息变更 awaiting 录入), else 待核查.
type Bars struct {
	Township                           string
	Pending, Verified, Closed, Overdue int
}

// Total is the township's cases of the month.
func (b Bars) Total() int { return b.Pending + b.Verified + b.Closed + b.Overdue }

// TownshipBars sorts the month's cases into each township's bar, townships in the
// assessment's order (every township, even one without cases). town, if set, keeps one.
func TownshipBars(a cases.Assessment, town string) []Bars {
	idx := map[string]int{}
	var out []Bars
	for _, t := range a.Townships {
		if town != "" && t.Name != town {
			continue
		}
		idx[t.Name] = len(out)
		out = append(out, Bars{Township: t.Name})
	}
	for _, f := range a.Cases {
		i, ok := idx[f.Township]
		if !ok {
			continue
		}
		b := &out[i]
		switch PartOf(f) {
		case PartClosed:
			b.Closed++
		case PartOverdue:
			b.Overdue++
		case PartVerified:
			b.Verified++
		default:
			b.Pending++
		}
	}
	return out
}

// The parts of a township's bar, as the overview page's drill-down names them.
const (
	PartPending  = "pending"  // 待核查
	PartVerified = "verified" // 已核查待录入
	PartClosed   = "closed"   // 已办结
	PartOverdue  = "overdue"  // 逾期
)

// PartLabels names the parts in Chinese.
var PartLabels = map[string]string{PartPending: "待核查", PartVerified: "已核查待录入", PartClosed: "已办结", PartOverdue: "逾期"}

// PartOf is the part of its township's bar a case is counted in (see Bars).
func PartOf(f cases.CaseFact) string {
	switch {
	case !f.Status.Open():
		return PartClosed
	case f.Overdue:
		return PartOverdue
	case f.Status == cases.StatusVerified || f.Kind == cases.KindInfo:
		return PartVerified
	}
	return PartPending
}

// MonthRate is the county's on-time rate of one month (nil: nothing due yet).
type MonthRate struct {
	Month       string // YYYY-MM
	Rate        *float64
	Provisional bool // the month is in progress: 截至今日
}

// MonthLabel is how a month is named under the chart: 11月, or 12月(截至今日).
func MonthLabel(m MonthRate) string {
	d, _ := cases.ParseMonth(m.Month)
	s := fmt.Sprintf("%d年%d月", d.Year, int(d.Month))
	if m.Provisional {
		s += "\n截至今日"
	}
	return s
}

// Progress draws 进度: the townships' stacked bars above the county's on-time rate over
// history (oldest first). title heads the picture.
func Progress(title string, bars []Bars, history []MonthRate) ([]byte, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	top, err := barsPlot(title, bars)
	if err != nil {
		return nil, err
	}
	bottom, err := ratePlot(history)
	if err != nil {
		return nil, err
	}
	w := max(MinWidth, 80*len(bars)+160)
	return render(w, []int{560, 340}, top, bottom)
}

func barsPlot(title string, bars []Bars) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(16)
	p.Y.Label.Text = "案件数（户）"
	p.Y.Min = 0
	names := make([]string, len(bars))
	parts := [4]plotter.Values{}
	for i, b := range bars {
		names[i] = b.Township
		parts[0] = append(parts[0], float64(b.Closed))
		parts[1] = append(parts[1], float64(b.Verified))
		parts[2] = append(parts[2], float64(b.Pending))
		parts[3] = append(parts[3], float64(b.Overdue))
	}
	labels := [4]string{"已办结", "已核查待录入", "待核查", "逾期"}
	colors := [4]color.Color{ColorClosed, ColorVerified, ColorPending, ColorOverdue}
	p.Add(plotter.NewGrid())
	if len(bars) == 0 {
		return p, nil
	}
	width := px(min(48, max(16, 700/len(bars))))
	var below *plotter.BarChart
	for k := range parts {
		bc, err := plotter.NewBarChart(parts[k], width)
		if err != nil {
			return nil, fmt.Errorf("charts: bars: %w", err)
		}
		bc.Color, bc.LineStyle.Width = colors[k], 0
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(labels[k], bc)
	}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	maxTotal := 0
	for _, b := range bars {
		maxTotal = max(maxTotal, b.Total())
	}
	p.Y.Max = float64(max(maxTotal, 1)) * 1.35 // room for the legend above the bars
	p.Y.Tick.Marker = intTicks{}
	return p, nil
}

func ratePlot(history []MonthRate) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "全县按时办结率（近 6 个月）"
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Y.Label.Text = "按时办结率（%）"
	p.Y.Min, p.Y.Max = 0, 110
	names := make([]string, len(history))
	var pts plotter.XYs
	var labels []string
	for i, m := range history {
		names[i] = MonthLabel(m)
		if m.Rate == nil {
			names[i] += "\n暂无到期"
		}
		if m.Rate != nil {
			pts = append(pts, plotter.XY{X: float64(i), Y: *m.Rate * 100})
			labels = append(labels, fmt.Sprintf("%.1f%%", *m.Rate*100))
		}
	}
	if len(names) > 0 {
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	}
	p.Add(plotter.NewGrid())
	// a month with nothing due breaks the line rather than bridging it
	var run plotter.XYs
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		line, points, err := plotter.NewLinePoints(run)
		if err != nil {
			return fmt.Errorf("charts: rate line: %w", err)
		}
		line.Color, line.Width = colorLine, vg.Points(2)
		points.Color, points.Radius = colorLine, vg.Points(4)
		p.Add(line, points)
		run = nil
		return nil
	}
	for i, m := range history {
		if m.Rate == nil {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		run = append(run, plotter.XY{X: float64(i), Y: *m.Rate * 100})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(pts) > 0 {
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("charts: rate labels: %w", err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font = plot.DefaultFont
			lb.TextStyle[i].Font.Size = vg.Points(10)
			lb.TextStyle[i].XAlign = draw.XCenter // centred just above its point
		}
		lb.Offset = vg.Point{Y: px(8)}
		p.Add(lb)
	}
	p.Y.Tick.Marker = percentTicks{}
	return p, nil
}

// Stats draws 统计: the month's households by risk category, stacked by 核查结论.
func Stats(title string, a cases.Assessment) ([]byte, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(16)
	p.Y.Label.Text = "户数（一户有多类风险的分别计入）"
	p.Y.Min = 0
	cats := a.Categories
	names := make([]string, len(cats))
	parts := [4]plotter.Values{}
	p.Add(plotter.NewGrid())
	maxTotal := 0
	for i, c := range cats {
		names[i] = c.Category.Label()
		parts[0] = append(parts[0], float64(c.Include))
		parts[1] = append(parts[1], float64(c.Monitored))
		parts[2] = append(parts[2], float64(c.Exclude))
		parts[3] = append(parts[3], float64(c.Pending))
		maxTotal = max(maxTotal, c.Include+c.Monitored+c.Exclude+c.Pending)
	}
	if len(cats) > 0 {
		labels := [4]string{cases.ResultInclude.Label(), cases.ResultMonitored.Label(), cases.ResultExclude.Label(), "尚无结论"}
		colors := [4]color.Color{ColorInclude, ColorMonitor, ColorExclude, ColorNone}
		width := px(min(60, max(20, 700/len(cats))))
		var below *plotter.BarChart
		for k := range parts {
			bc, err := plotter.NewBarChart(parts[k], width)
			if err != nil {
				return nil, fmt.Errorf("charts: stats bars: %w", err)
			}
			bc.Color, bc.LineStyle.Width = colors[k], 0
			if below != nil {
				bc.StackOn(below)
			}
			below = bc
			p.Add(bc)
			p.Legend.Add(labels[k], bc)
		}
		p.Legend.Top = true
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.6, float64(len(cats))-0.4
	}
	p.Y.Max = float64(max(maxTotal, 1)) * 1.35
	p.Y.Tick.Marker = intTicks{}
	t := a.Total
	p.X.Label.Text = fmt.Sprintf("共 %d 户：纳入 %d，已在监测 %d，不纳入 %d，尚无结论 %d", t.Cases, t.Include, t.Monitored, t.Exclude, t.Pending)
	return render(MinWidth, []int{600}, p)
}

// render stacks the plots top to bottom, each heights[i] pixels high, into one PNG.
func render(width int, heights []int, plots ...*plot.Plot) ([]byte, error) {
	total := 0
	for _, h := range heights {
		total += h
	}
	c := vgimg.NewWith(vgimg.UseWH(px(width), px(total)), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	top := px(total)
	for i, p := range plots {
		h := px(heights[i])
		area := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: dc.Min.X + px(10), Y: top - h + px(10)},
			Max: vg.Point{X: dc.Max.X - px(20), Y: top - px(10)},
		}}
		p.Draw(area)
		top -= h
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("charts: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// intTicks marks whole numbers only: cases are counted, never halved.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	// 1, 2, 5, 10, 20, 50, … until at most 8 ticks
	step := 1.0
	for i := 0; (hi-lo)/step > 8; i++ {
		step *= []float64{2, 2.5, 2}[i%3]
	}
	var ts []plot.Tick
	for v := 0.0; v <= hi; v += step {
		if v >= lo {
			ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
		}
	}
	return ts
}

type percentTicks struct{}

func (percentTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for v := 0.0; v <= 100; v += 20 {
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f%%", v)})
	}
	return ts
}
