package announce

import (
	"fmt"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// elsewhereMessages tell a township's group about households whose rows named it but that
// were dispatched to another township (registry township, else the 户主's own row; spec
// docs/registry.md): case number, masked head and where it went — nothing else.
func elsewhereMessages(n cases.TownshipNotice) []bot.Outgoing {
	if len(n.Elsewhere) == 0 {
		return nil
	}
	lines := make([]string, len(n.Elsewhere))
	for i, d := range n.Elsewhere {
		lines[i] = fmt.Sprintf("%d. %s %s｜%s｜已交办%s", i+1, d.Case.No, maskedWho(d), GroupCategories(categoriesOf(d.Warnings)), d.Case.Township)
	}
	header := fmt.Sprintf("【防返贫预警·跨乡镇】%s 批次，以下 %d 户的预警数据填报为%s，按户籍交办给其他乡镇办理：", n.Round, len(lines), n.Township)
	footer := "本乡镇无需重复核查；如掌握该户情况，请与承办乡镇联系。"
	var out []bot.Outgoing
	for i, p := range SplitText(header, lines, footer, TextLimit) {
		// For information only: nobody is @-ed.
		o, ok := bot.ToGroup(fmt.Sprintf("dispatch:elsewhere:%s:%s:%d", n.Township, roundDigest(n.Elsewhere), i+1),
			bot.GroupChat{AppChat: n.AppChatID, Webhook: n.WebhookKey}, nil, n.Cadres, p)
		if ok {
			out = append(out, o)
		}
	}
	return out
}

// maskedWho names a case's household in a group: the masked head, or 区域排查.
func maskedWho(d cases.Dispatched) string {
	if d.Area || d.Case.HeadName == "" {
		return "区域排查"
	}
	return cases.MaskName(d.Case.HeadName)
}

// categoriesOf lists the categories of ws, each once, in order of appearance.
func categoriesOf(ws []cases.WarningFact) []cases.Category {
	seen := map[cases.Category]bool{}
	var out []cases.Category
	for _, w := range ws {
		if !seen[w.Category] {
			seen[w.Category] = true
			out = append(out, w.Category)
		}
	}
	return out
}
