package handlers

import (
	"context"
	"fmt"
	"github.com/fangpin/fangpin/announce"
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
		c, err := h.Ledger.CaseByNo(ctx, announce.CaseNoOfTask(m.Card.TaskID))
		actor, aerr := h.Users.Actor(ctx, m.UserID)
		if err == nil && aerr == nil && cases.CanView(c, actor) { // nobody else's case on a card
			note := "未登记：" + firstLine(reply)
			if !c.Status.Open() || (c.Result != "" && c.Status != cases.StatusReturned) {
				// handled meanwhile by another route: show the outcome instead
				msgs = append(msgs, bot.CardUpdate("card-refused:"+m.ID, m.UserID, m.Card.TaskID,
					h.Announce.CardBody(c, m.UserID, m.Card.TaskID, announce.OutcomeNote(c), announce.OutcomeButton(c))))
			} else {
				msgs = append(msgs, bot.CardUpdate("card-refused:"+m.ID, m.UserID, m.Card.TaskID,
					h.Announce.CardBody(c, m.UserID, m.Card.TaskID, note, "")))
			}
		}
	}
	if result != "" && m.Card.TaskID != "" && h.Announce != nil {
		// The tapped card shows what was recorded, also when the case was already past its
		// visit (a card asked for with 表单): same key as FollowCards, so never twice.
		if c, err := h.Ledger.CaseByNo(ctx, announce.CaseNoOfTask(m.Card.TaskID)); err == nil {
			msgs = append(msgs, bot.CardUpdate(announce.FollowKey(m.Card.TaskID, c), m.UserID, m.Card.TaskID,
				h.Announce.CardBody(c, m.UserID, m.Card.TaskID, announce.OutcomeNote(c), announce.OutcomeButton(c))))
		}
	}
	if reply != "" {
		msgtype, body := bot.Text(reply)
		msgs = append(msgs, bot.Outgoing{Key: "card-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: msgtype, Body: body})
	}
	if err := h.Out.Enqueue(ctx, msgs...); err != nil {
		h.log().ErrorContext(ctx, "queue card answer", "msg_id", m.ID, "err", err)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
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
	no := announce.CaseNoOfTask(m.Card.TaskID)
	var choice string
	if s := m.Card.Selected["result"]; len(s) > 0 {
		choice = s[0]
	}
	var result cases.Result
	for _, o := range announce.ResultOptions {
		if o.ID == choice {
			result = o.Result
		}
	}
	if result == cases.ResultNone {
		return fmt.Sprintf("请先在卡片上选择核查结论（纳入、已在监测或不纳入）再提交，或直接发送：核查 %s 纳入 <说明>", no), ""
	}
	if result == cases.ResultExclude {
		s := fmt.Sprintf("“不纳入”需要逐户写明理由，卡片上无法填写。请发送：核查 %s 不纳入 <理由>", no)
		if h.links() != nil {
			s += "\n或打开网页表单填写：" + h.links().URL(no, actor.UserID)
		}
		return s, ""
	}
	c, err := h.Ledger.Transition(ctx, no, actor, cases.Command{Action: cases.ActVerify, Result: result, Now: h.now()}, source(m))
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			h.log().ErrorContext(ctx, "card verify", "case", no, "msg_id", m.ID, "err", err)
		}
		return cases.ErrorMessage(err), ""
	}
	return verifiedReply(c, actor), string(result)
}
