package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/charts"
)

// HistoryMonths is how many months the on-time chart shows, the chosen one last.
const HistoryMonths = 6

// assessor is what the charts read: the one assessment (cases/postgres/report.go).
type assessor interface {
	Assess(ctx context.Context, month string) (cases.Assessment, error)
}

// onTimeHistory is the county's on-time rate in the HistoryMonths months up to month,
// each by the same assessment as 进度 (no rule of its own).
func onTimeHistory(ctx context.Context, s assessor, month string, current *cases.Assessment) ([]charts.MonthRate, error) {
	d, err := cases.ParseMonth(month)
	if err != nil {
		return nil, cases.Errorf(cases.EInvalid, "%v", err)
	}
	out := make([]charts.MonthRate, 0, HistoryMonths)
	for i := HistoryMonths - 1; i >= 0; i-- {
		m := time.Date(d.Year, d.Month-time.Month(i), 1, 0, 0, 0, 0, cases.Shanghai).Format("2006-01")
		a := current
		if i > 0 || a == nil {
			x, err := s.Assess(ctx, m)
			if err != nil {
				return nil, fmt.Errorf("on-time history %s: %w", m, err)
			}
			a = &x
		}
		out = append(out, charts.MonthRate{Month: m, Rate: cases.SumTownships(a.Townships).OnTimeRate, Provisional: a.Provisional})
	}
	return out, nil
}

func chartTitle(a cases.Assessment, what, town string) string {
	t := monthTitle(a.Month) + town + what
	if a.Provisional {
		t += "（截至今日）"
	}
	return t
}

// progressChart draws 进度's picture for the month (one township, or all).
func progressChart(ctx context.Context, s assessor, a cases.Assessment, town string) ([]byte, error) {
	hist, err := onTimeHistory(ctx, s, a.Month, &a)
	if err != nil {
		return nil, err
	}
	return charts.Progress(chartTitle(a, "办理进度", town), charts.TownshipBars(a, town), hist)
}

// statsChart draws 统计's picture.
func statsChart(a cases.Assessment) ([]byte, error) {
	return charts.Stats(chartTitle(a, "统计（按风险类别和核查结论）", ""), a)
}

// sendChart queues the picture to the asker privately, beside the text reply, and says
// so in a line to add to the reply. A chart that cannot be drawn (no CJK font) leaves the
// text alone and tells the asker.
func (l *Reports) sendChart(ctx context.Context, req Request, kind string, draw func() ([]byte, error)) string {
	png, err := draw()
	if err != nil {
		l.log().ErrorContext(ctx, "draw chart", "chart", kind, "err", err)
		if errors.Is(err, charts.ErrNoFont) {
			return "\n（图表暂时无法生成：服务器缺少中文字体，已记录，请联系系统管理员。）"
		}
		return "\n（图表暂时无法生成，已记录，请稍后再试。）"
	}
	mt, body, data := bot.Image(kind+".png", png)
	img := bot.Outgoing{Key: "chart:" + kind + ":" + req.Msg.ID, Channel: bot.ToUsers, Target: req.Actor.UserID, MsgType: mt, Body: body, File: data}
	if err := l.Out.Enqueue(ctx, img); err != nil {
		l.log().ErrorContext(ctx, "queue chart", "chart", kind, "err", err)
		return "\n（图表发送失败，请稍后再试。）"
	}
	if req.Msg.InGroup() {
		return "\n图表已私信发给您。"
	}
	return ""
}
