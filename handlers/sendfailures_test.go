package handlers_test

import (
	"github.com/fangpin/fangpin/cases"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/handlers"
)

func TestFailureReportNamesTownshipKindAndFix(t *testing.T) {
	t.Parallel()
	towns := []cases.Township{{Name: "城关镇", AppChatID: "wrCG0001"}, {Name: "河口乡", WebhookKey: "secret-key"}}
	for _, tc := range []struct {
		name   string
		f      bot.FailedSend
		want   []string
		absent []string
	}{
		{"lost answers", bot.FailedSend{Key: "reminder:7", Channel: bot.ToAppChat, Target: "wrCG0001", Content: "请尽快核查 YJ202611-0003、YJ202611-0003、YJ202611-0004", Attempts: 5, Uncertain: true},
			[]string{"城关镇的工作群没有收到一条提醒（涉及案件 YJ202611-0003、YJ202611-0004）", "无法确认", "请到该群确认"}, nil},
		{"unknown robot", bot.FailedSend{Key: "spotfail:YJ202611-0001:1:group", Channel: bot.ToWebhook, Target: "other-secret", Code: 93000, Attempts: 10},
			[]string{"一个已不在组织文件中的群聊没有收到抽查退回通知", "Webhook"}, []string{"other-secret"}},
		{"unknown chat", bot.FailedSend{Key: "x", Channel: bot.ToAppChat, Target: "wrGONE", Code: 86003, Attempts: 10},
			[]string{"群聊 ID wrGONE", "一条群消息", "fangpin chats create"}, nil},
		{"no privilege, still retried", bot.FailedSend{Key: "x", Channel: bot.ToAppChat, Target: "wrCG0001", Code: 60011, Attempts: 1, Pending: true},
			[]string{"【群消息暂未送达】城关镇的工作群暂时收不到", "没有向该群发送消息的权限", "系统仍在自动重试", "可见范围"}, []string{"已重试"}},
		{"failed after an early report", bot.FailedSend{Key: "x", Channel: bot.ToAppChat, Target: "wrCG0001", Code: 86003, Attempts: 10, Warned: true},
			[]string{"【群消息未送达】城关镇的工作群没有收到", "已重试 10 次，系统已停止重试（此前已提醒过一次）"}, nil},
		{"other errcode", bot.FailedSend{Key: "x", Channel: bot.ToWebhook, Target: "secret-key", Code: 40008, Attempts: 10},
			[]string{"河口乡的工作群", "错误码 40008"}, []string{"secret-key"}},
	} {
		got := handlers.FailureReport(tc.f, towns)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: report lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, a := range tc.absent {
			if strings.Contains(got, a) {
				t.Errorf("%s: report shows %q:\n%s", tc.name, a, got)
			}
		}
	}
}

func TestRefusedGroupCodes(t *testing.T) {
	t.Parallel()
	for code, want := range map[int64]bool{86003: true, 93000: true, 60011: true, 45009: false, 40008: false, 0: false} {
		if bot.RefusedGroupCode(code) != want {
			t.Errorf("RefusedGroupCode(%d) = %v, want %v", code, !want, want)
		}
	}
}
