package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

var _ bot.Handler = (*Cases)(nil)

// HandleMessage takes mini-form card clicks (template_card_event); set Router.Cards to it.
// The result goes through the lifecycle like the 核查 command; the case's cards are then
// updated by FollowCards (every route does that), and the user gets a private reply. A
// refused click turns the card back to its choices with the reason on it.
func (h *Cases) HandleMessage(ctx context.Context, m bot.Message) {
	if m.Card == nil {
		return
	}
	reply, result := h.answerCard(ctx, m)
	var msgs []bot.Outgoing
	if result == "" && m.Card.TaskID != "" && h.Announce != nil {
		c, err := h.Ledger.CaseByNo(ctx, CaseNoOfTask(m.Card.TaskID))
		actor, aerr := h.Users.Actor(ctx, m.UserID)
		if err == nil && aerr == nil && cases.CanView(c, actor) { // nobody else's case on a card
			note := "未登记：" + firstLine(reply)
			if !c.Status.Open() || (c.Result != "" && c.Status != cases.StatusReturned) {
				// handled meanwhile by another route: show the outcome instead
				msgs = append(msgs, bot.CardUpdate("card-refused:"+m.ID, m.UserID, m.Card.TaskID,
					h.Announce.cardBody(c, m.UserID, m.Card.TaskID, outcomeNote(c), outcomeButton(c))))
			} else {
				msgs = append(msgs, bot.CardUpdate("card-refused:"+m.ID, m.UserID, m.Card.TaskID,
					h.Announce.cardBody(c, m.UserID, m.Card.TaskID, note, "")))
			}
		}
	}
	if result != "" && m.Card.TaskID != "" && h.Announce != nil {
		// The tapped card shows what was recorded, also when the case was already past its
		// visit (a card asked for with 表单): same key as FollowCards, so never twice.
		if c, err := h.Ledger.CaseByNo(ctx, CaseNoOfTask(m.Card.TaskID)); err == nil {
			msgs = append(msgs, bot.CardUpdate(followKey(m.Card.TaskID, c), m.UserID, m.Card.TaskID,
				h.Announce.cardBody(c, m.UserID, m.Card.TaskID, outcomeNote(c), outcomeButton(c))))
		}
	}
	if reply != "" {
		msgtype, body := bot.Text(reply)
		msgs = append(msgs, bot.Outgoing{Key: "card-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: msgtype, Body: body})
	}
	if err := h.Out.Enqueue(ctx, msgs...); err != nil {
		h.log().ErrorContext(ctx, "queue card answer", "msg", m.ID, "err", err)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

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

// outcomeNote is what a handled case's card says.
func outcomeNote(c cases.Case) string {
	switch {
	case c.Status == cases.StatusReturned:
		return fmt.Sprintf("抽查不合格，已退回重新办理：请于 %s 前重新入户核查后提交结论。", c.DueOn)
	case c.Result != "":
		s := "已登记核查结论：" + string(c.Result)
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

// outcomeButton is the greyed button's text of a handled case's card ("" keeps it live).
func outcomeButton(c cases.Case) string {
	switch {
	case c.Status == cases.StatusReturned:
		return ""
	case c.Result != "":
		return "已登记：" + string(c.Result)
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
		msgs = append(msgs, bot.CardUpdate(followKey(sc.TaskID, after), sc.UserID, sc.TaskID,
			a.cardBody(after, sc.UserID, sc.TaskID, outcomeNote(after), outcomeButton(after))))
	}
	return enqueue(ctx, tx, msgs)
}

// answerCard records the click and returns the reply and, when recorded, the result.
func (h *Cases) answerCard(ctx context.Context, m bot.Message) (reply, recorded string) {
	actor, err := h.Users.Actor(ctx, m.UserID)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			h.log().ErrorContext(ctx, "card user", "user", m.UserID, "err", err)
		}
		return cases.ErrorMessage(err), ""
	}
	no := CaseNoOfTask(m.Card.TaskID)
	var choice string
	if s := m.Card.Selected["result"]; len(s) > 0 {
		choice = s[0]
	}
	var result cases.Result
	for _, o := range resultOptions {
		if o.ID == choice {
			result = o.Result
		}
	}
	if result == cases.ResultNone {
		return fmt.Sprintf("请先在卡片上选择核查结论（纳入、已在监测或不纳入）再提交，或直接发送：核查 %s 纳入 <说明>", no), ""
	}
	if result == cases.ResultExclude {
		s := fmt.Sprintf("“不纳入”需要逐户写明理由，卡片上无法填写。请发送：核查 %s 不纳入 <理由>", no)
		if h.Announce != nil && h.Announce.Links != nil {
			s += "\n或打开网页表单填写：" + h.Announce.Links.URL(no, actor.UserID)
		}
		return s, ""
	}
	c, err := h.Ledger.Transition(ctx, no, actor, cases.Command{Action: cases.ActVerify, Result: result, Now: h.now()}, source(m))
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			h.log().ErrorContext(ctx, "card verify", "case", no, "msg", m.ID, "err", err)
		}
		return cases.ErrorMessage(err), ""
	}
	return verifiedReply(c), string(result)
}

// followKey names the update that shows a card the outcome of its case.
func followKey(task string, c cases.Case) string {
	return fmt.Sprintf("cardfollow:%s:%s:%s:%d", task, c.Status, resultKey(c.Result), c.Returns)
}

// resultKey spells a result in ASCII for keys.
func resultKey(r cases.Result) string {
	for _, o := range resultOptions {
		if o.Result == r {
			return o.ID
		}
	}
	return "none"
}
