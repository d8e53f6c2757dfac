package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/charts"
)

type countingQueue struct{ n int }

func (q *countingQueue) Enqueue(_ context.Context, msgs ...bot.Outgoing) error {
	q.n += len(msgs)
	return nil
}

// Without a CJK font the text still goes out, saying why the picture is missing; nothing
// half-drawn is queued.
func TestChartWithoutFontLeavesTheTextAndSaysWhy(t *testing.T) {
	t.Parallel()
	q := &countingQueue{}
	l := &Reports{Out: q, Log: slog.New(slog.DiscardHandler)}
	req := Request{Msg: bot.Message{ID: "m1", UserID: "zhaoliu", ChatType: "single"}, Actor: cases.Actor{UserID: "zhaoliu", Role: cases.RoleOffice}}
	got := l.sendChart(context.Background(), req, "progress", func() ([]byte, error) {
		return nil, fmt.Errorf("draw: %w", charts.ErrNoFont)
	})
	if !strings.Contains(got, "缺少中文字体") || q.n != 0 {
		t.Errorf("reply %q, %d queued", got, q.n)
	}
	got = l.sendChart(context.Background(), req, "progress", func() ([]byte, error) { return []byte("\x89PNG\r\n\x1a\n"), nil })
	if got != "" || q.n != 1 {
		t.Errorf("a drawn chart: reply %q, %d queued", got, q.n)
	}
	req.Msg.ChatType = "group"
	if got = l.sendChart(context.Background(), req, "stats", func() ([]byte, error) { return []byte("\x89PNG\r\n\x1a\n"), nil }); !strings.Contains(got, "私信") {
		t.Errorf("in a group the reply should say the chart went privately: %q", got)
	}
}
