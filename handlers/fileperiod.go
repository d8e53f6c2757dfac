package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// Refiler files an undispatched push under another period (*postgres.DB); a FilePushStore
// that is one gets the reply's period buttons.
type Refiler interface {
	RefileBatch(ctx context.Context, id, dept, period string) (cases.Refiled, error)
}

// periodCardPrefix starts the task id of the buttons that re-file a pushed file (the router
// hands every FileCardPrefix task to FilePushes).
const periodCardPrefix = FileCardPrefix + "period-"

// otherPeriods are the months a monthly push may more likely be meant for than its own: the
// two before it and the one after it, when that has begun.
func otherPeriods(period string, today cases.Date) []string {
	d, err := cases.ParseMonth(period)
	if err != nil {
		return nil
	}
	first := time.Date(d.Year, d.Month, 1, 0, 0, 0, 0, time.UTC)
	var out []string
	for _, n := range []int{-2, -1, 1} {
		m := first.AddDate(0, n, 0).Format("2006-01")
		if m <= today.MonthKey() {
			out = append(out, m)
		}
	}
	return out
}

// periodCard offers to re-file a push under a nearby month with one click (a
// 学年 or any other month: the 期间 command the reply names).
func (p *FilePushes) periodCard(msgID, user string, b cases.Batch) (bot.Outgoing, bool) {
	if _, ok := p.Store.(Refiler); !ok || b.Category == cases.CatEducation || b.DuplicateOf != nil {
		return bot.Outgoing{}, false
	}
	others := otherPeriods(b.Period, p.Store.Today())
	if len(others) == 0 {
		return bot.Outgoing{}, false
	}
	card := bot.TemplateCard{CardType: "button_interaction", TaskID: periodCardPrefix + b.ID,
		MainTitle: bot.CardTitle{Title: "本次推送记为 " + cases.PeriodLabel(b.Category, b.Period) + " 期", Desc: b.Department + " · " + b.Category.Label()},
		SubTitle:  fmt.Sprintf("如果期间不对，请点选正确的月份（交办前都可以改）；其他月份请发送：期间 %s YYYY-MM", b.ID)}
	for _, m := range others {
		card.ButtonList = append(card.ButtonList, bot.CardButton{Text: "改为 " + m, Key: "period|" + m, Style: 2})
	}
	mt, body := bot.Card(card)
	return bot.Outgoing{Key: "file-period:" + msgID, Channel: bot.ToUsers, Target: user, MsgType: mt, Body: body}, true
}

// handlePeriod re-files the push a period card was sent for, as `期间` does.
func (p *FilePushes) handlePeriod(ctx context.Context, m bot.Message) error {
	reply := func(text string) error {
		mt, body := bot.Text(text)
		return p.Out.Enqueue(ctx, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
	}
	rf, ok := p.Store.(Refiler)
	period, found := strings.CutPrefix(m.Card.EventKey, "period|")
	if !ok || !found {
		return reply("这个选项已不可用。如需改期间，请发送：期间 <批次号> YYYY-MM")
	}
	a, err := p.Users.Actor(ctx, m.UserID)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			return err
		}
		return reply(cases.ErrorMessage(err))
	}
	if !mayPush(a) {
		return reply("数据文件由各行业部门的联络员或县扶贫办发送。")
	}
	dept := a.Department
	if a.Role == cases.RoleOffice {
		dept = ""
	}
	id := strings.TrimPrefix(m.Card.TaskID, periodCardPrefix)
	r, err := rf.RefileBatch(ctx, id, dept, period)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			return err
		}
		return reply(cases.ErrorMessage(err))
	}
	update := bot.CardUpdate("file-card:"+m.ID, m.UserID, m.Card.TaskID, bot.TemplateCard{
		CardType: "button_interaction", TaskID: m.Card.TaskID,
		MainTitle: bot.CardTitle{Title: "已改为 " + cases.PeriodLabel(r.Batch.Category, r.Batch.Period) + " 期"}, ReplaceText: "已改为 " + period})
	mt, body := bot.Text(refiledText(r))
	return p.Out.Enqueue(ctx, update, bot.Outgoing{Key: "file-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: mt, Body: body})
}
