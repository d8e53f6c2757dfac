package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"strconv"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// SpotDrawer draws the month's spot-check sample (see cases.SampleSpotChecks).
type SpotDrawer interface {
	DrawSpotChecks(ctx context.Context, month string, rate float64, seed int64, then cases.SpotDrawHook) ([]cases.SpotPick, error)
}

// DrawSpotChecks draws the sample and, in the same transaction, queues a private message to
// every supervisor listing the chosen cases. The message keys depend only on month, rate,
// seed, the list drawn and the supervisor, so running the same draw again sends nothing
// twice, while a draw that picks differently (more cases closed since) is sent.
func DrawSpotChecks(ctx context.Context, s SpotDrawer, month string, rate float64, seed int64) ([]cases.SpotPick, error) {
	return s.DrawSpotChecks(ctx, month, rate, seed, func(ctx context.Context, tx cases.Tx, picks []cases.SpotPick) error {
		sups, err := tx.UsersOf(ctx, cases.RoleSupervisor, "", "")
		if err != nil {
			return fmt.Errorf("supervisors: %w", err)
		}
		if len(sups) == 0 || len(picks) == 0 {
			return nil
		}
		text := SpotDrawText(month, rate, seed, picks)
		h := sha256.New()
		for _, p := range picks {
			h.Write([]byte(p.CaseNo + "\n"))
		}
		list := hex.EncodeToString(h.Sum(nil)[:6])
		var msgs []bot.Outgoing
		for _, u := range sups {
			mt, body := bot.Text(text)
			key := fmt.Sprintf("spotcheck:%s:%s:%d:%s:%s", month, strconv.FormatFloat(rate, 'g', -1, 64), seed, list, u)
			msgs = append(msgs, bot.Outgoing{Key: key, Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
		}
		return announce.Enqueue(ctx, tx, msgs)
	})
}

// SpotDrawText is the supervisors' list of cases to re-check (case numbers, townships and
// risk categories only; details are in 查看 <编号>).
func SpotDrawText(month string, rate float64, seed int64, picks []cases.SpotPick) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【%s抽查名单】按乡镇和风险类别分层抽取 %d 户（比例 %s，随机种子 %d，可复核）。请逐户复查后发送：抽查 <编号> 合格/不合格 <说明>",
		monthTitle(month), len(picks), strconv.FormatFloat(rate*100, 'f', -1, 64)+"%", seed)
	for _, p := range picks {
		fmt.Fprintf(&b, "\n• %s %s %s", p.CaseNo, p.Township, p.Category.GroupLabel())
	}
	return b.String()
}
