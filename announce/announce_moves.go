package announce

import (
	"context"
	"fmt"
	"strings"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// AnnounceMoves queues what the townships are told when a registry re-import moves open
// cases with their households (cases.MoveAnnouncer, docs/registry.md): both groups, masked; the
// new township's cadres the details, privately. Due dates stay.
func (a *Announcer) AnnounceMoves(ctx context.Context, tx cases.Tx, moves []cases.CaseMove) error {
	return Enqueue(ctx, tx, a.MoveMessages(moves))
}

// MoveMessages builds the messages of AnnounceMoves.
func (a *Announcer) MoveMessages(moves []cases.CaseMove) []bot.Outgoing {
	var out []bot.Outgoing
	for _, m := range moves {
		c := m.Case
		who := cases.MaskName(c.HeadName)
		if who == "" {
			who = "区域排查"
		}
		place := c.GroupPlace()
		if place != "" {
			place = "（" + place + "）"
		}
		key := fmt.Sprintf("regmove:%s:%s", c.No, m.To)
		out = append(out, groupText(key+":from", m.Chats[m.From], m.Cadres[m.From],
			fmt.Sprintf("【案件转出】%s %s%s 因国家系统名册调整为%s户籍，转由%s办理，本乡镇不再办理。", c.No, who, place, m.To, m.To))...)
		out = append(out, groupText(key+":to", m.Chats[m.To], m.Cadres[m.To],
			fmt.Sprintf("【案件转入】%s %s%s 由%s转来（国家系统名册调整），办理时限不变：%s 前办结。详细信息已私信发送给责任干部。", c.No, who, place, m.From, c.DueOn))...)
		for _, u := range m.Cadres[m.To] {
			text := fmt.Sprintf("【案件转入】以下案件由%s转来，请您接手办理（办理时限不变）：\n%s", m.From, CaseNotice(c, m.Warnings))
			if a.linked() {
				text += "\n核查表单：" + a.Links.URL(c.No, u)
			}
			for i, p := range SplitText("", strings.Split(text, "\n"), "", TextLimit) {
				mt, body := bot.Text(strings.TrimRight(p, "\n"))
				out = append(out, bot.Outgoing{Key: fmt.Sprintf("%s:private:%s:%d", key, u, i+1), Channel: bot.ToUsers, Target: u, MsgType: mt, Body: body})
			}
		}
	}
	return out
}

// groupText is one text to a township's group (appchat or robot), or to its cadres when it
// has none.
func groupText(key string, chat [2]string, cadres []string, text string) []bot.Outgoing {
	o, ok := bot.ToGroup(key, bot.GroupChat{AppChat: chat[0], Webhook: chat[1]}, cadres, cadres, text)
	if !ok {
		return nil
	}
	return []bot.Outgoing{o}
}
