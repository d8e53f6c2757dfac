package announce

import (
	"context"
	"fmt"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// cardsFollow tells whether a change is one the case's cards must show: the case leaves
// "waiting for the visit" (a result by any route, or closed), or a spot check returns it.
func cardsFollow(before, after cases.Case) bool {
	if before.ID == 0 {
		return false
	}
	waiting := func(s cases.Status) bool { return s == cases.StatusDispatched || s == cases.StatusReturned }
	if waiting(before.Status) && !waiting(after.Status) {
		return true
	}
	return after.Status == cases.StatusReturned && before.Status != cases.StatusReturned
}

// OutcomeNote is what a handled case's card says.
func OutcomeNote(c cases.Case) string {
	switch {
	case c.Status == cases.StatusReturned:
		return fmt.Sprintf("抽查不合格，已退回重新办理：请于 %s 前重新入户核查后提交结论。", c.DueOn)
	case c.Result != "":
		s := "已登记核查结论：" + c.Result.Label()
		if c.Reason != "" {
			s += "（" + c.Reason + "）"
		}
		if c.Status == cases.StatusClosed {
			s += "；案件已办结"
		}
		return s + "。"
	}
	return "案件" + c.Status.Label() + "。"
}

// OutcomeButton is the greyed button's text of a handled case's card ("" keeps it live).
func OutcomeButton(c cases.Case) string {
	switch {
	case c.Status == cases.StatusReturned:
		return ""
	case c.Result != "":
		return "已登记：" + c.Result.Label()
	}
	return c.Status.Label()
}

// FollowCards is a case hook (register it in postgres.Hooks.Case): when a case is handled by any
// route — 核查 in chat, the form, a card, a spot-check return — every card sent for it is
// updated to show the outcome, without live buttons (or, on a return, with its choices
// and the new due date). The updates wait in the outbox for the cards' response_codes.
func (a *Announcer) FollowCards(ctx context.Context, tx cases.Tx, before, after cases.Case) error {
	if !cardsFollow(before, after) {
		return nil
	}
	cards, err := tx.SentCards(ctx, after.No)
	if err != nil {
		return err
	}
	var msgs []bot.Outgoing
	for _, sc := range cards {
		msgs = append(msgs, bot.CardUpdate(FollowKey(sc.TaskID, after), sc.UserID, sc.TaskID,
			a.CardBody(after, sc.UserID, sc.TaskID, OutcomeNote(after), OutcomeButton(after))))
	}
	return Enqueue(ctx, tx, msgs)
}

// FollowKey names the update that shows a card the outcome of its case.
func FollowKey(task string, c cases.Case) string {
	return fmt.Sprintf("cardfollow:%s:%s:%s:%d", task, c.Status, resultKey(c.Result), c.Returns)
}

// resultKey spells a result in ASCII for keys.
func resultKey(r cases.Result) string {
	for _, o := range ResultOptions {
		if o.Result == r {
			return o.ID
		}
	}
	return "none"
}
