package handlers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

var _ bot.Handler = (*Cases)(nil)

// HandleMessage takes mini-form card clicks (template_card_event); set Router.Cards to it.
// The result goes through the lifecycle like the 核查 command; the card is then updated
// to show what was recorded, and the user gets a private reply.
func (h *Cases) HandleMessage(ctx context.Context, m bot.Message) {
	if m.Card == nil {
		return
	}
	reply, result := h.answerCard(ctx, m)
	var msgs []bot.Outgoing
	if result != "" && m.Card.ResponseCode != "" {
		body, _ := json.Marshal(map[string]any{"response_code": m.Card.ResponseCode,
			"button": map[string]any{"replace_name": "已登记：" + result}})
		msgs = append(msgs, bot.Outgoing{Key: "card-update:" + m.ID, Channel: bot.UpdateCard,
			Target: m.UserID, MsgType: "button", Body: body})
	}
	if reply != "" {
		msgtype, body := bot.Text(reply)
		msgs = append(msgs, bot.Outgoing{Key: "card-reply:" + m.ID, Channel: bot.ToUsers, Target: m.UserID, MsgType: msgtype, Body: body})
	}
	if err := h.Out.Enqueue(ctx, msgs...); err != nil {
		h.log().ErrorContext(ctx, "queue card answer", "msg", m.ID, "err", err)
	}
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
