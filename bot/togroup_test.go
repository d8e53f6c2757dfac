package bot_test

import (
	"encoding/json"
	"testing"

	"github.com/fangpin/fangpin/bot"
)

func TestToGroupPrefersAppChatThenRobotThenFallback(t *testing.T) {
	cadres := []string{"zhang", "li"}
	for _, c := range []struct {
		name     string
		chat     bot.GroupChat
		fallback []string
		ok       bool
		channel  bot.Channel
		target   string
		mentions int
	}{
		{"app chat, no @", bot.GroupChat{AppChat: "chat1", Webhook: "key1"}, cadres, true, bot.ToAppChat, "chat1", 0},
		{"robot @ the cadres", bot.GroupChat{Webhook: "key1"}, cadres, true, bot.ToWebhook, "key1", 2},
		{"no group: privately", bot.GroupChat{}, cadres, true, bot.ToUsers, "zhang|li", 0},
		{"no group, no fallback", bot.GroupChat{}, nil, false, "", "", 0},
	} {
		m, ok := bot.ToGroup("k", c.chat, cadres, c.fallback, "通知")
		if ok != c.ok || m.Channel != c.channel || m.Target != c.target {
			t.Errorf("%s: got %v %s %q, want %v %s %q", c.name, ok, m.Channel, m.Target, c.ok, c.channel, c.target)
			continue
		}
		if !ok {
			continue
		}
		var body struct {
			Content string   `json:"content"`
			Mention []string `json:"mentioned_list"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil || body.Content != "通知" || len(body.Mention) != c.mentions || m.Key != "k" {
			t.Errorf("%s: body %s (err %v), want the text with %d mentions", c.name, m.Body, err, c.mentions)
		}
	}
}
