package main

import (
	"context"
	"github.com/fangpin/fangpin/announce"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// A round's group messages cannot reach 城关镇 (its app chat was never created: WeCom
// answers 86003) nor 河口乡 (its group robot's key is refused: 93000). The server retries
// them with back-off, gives up, and tells every office member privately which township
// missed which message and how to fix it — with case numbers, never household details.
func TestGroupSendFailuresAreReportedToTheOffice(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	sim.RejectWebhook("demo-hekou-key")
	_, _, s := startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), func(s *Server) {
		s.Sender.Backoff = func(int, error) time.Duration { return 30 * time.Millisecond }
		s.Sender.MaxAttempts = 4
		s.Failures.Poll = 50 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	due := cases.Date{Year: 2026, Month: 12, Day: 3}
	notice := func(town, chat, hook, no, head string) cases.TownshipNotice {
		return cases.TownshipNotice{Round: "2026-11", Township: town, AppChatID: chat, WebhookKey: hook,
			Cadres: []string{"zhangsan"}, CadreNames: []string{"张三"},
			Cases: []cases.Dispatched{{Case: cases.Case{No: no, Round: "2026-11", Kind: cases.KindNew, HeadName: head,
				HeadIDNumber: "110101199001011234", Village: "东关村", Township: town, DueOn: due,
				Categories: []cases.Category{cases.CatMedical}}}}}
	}
	msgs := (&announce.Announcer{}).Messages([]cases.TownshipNotice{
		notice("城关镇", "wrCG0001", "", "YJ202611-0001", "张试三"),
		notice("河口乡", "", "demo-hekou-key", "YJ202611-0002", "李试四"),
	})
	if err := pgqueue.Enqueue(ctx, s.DB, msgs...); err != nil {
		t.Fatal(err)
	}

	reports := func(user string) []string {
		var out []string
		for _, m := range sim.SentTo(user) {
			if strings.HasPrefix(m.Content, "【群消息未送达】") {
				out = append(out, m.Content)
			}
		}
		return out
	}
	err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(reports("zhaoliu")) >= 2 && len(reports("office2")) >= 2 })
	if err != nil {
		t.Fatalf("%v: office got %q", err, reports("zhaoliu"))
	}
	got := strings.Join(reports("zhaoliu"), "\n---\n")
	t.Logf("the office reads:\n%s", got)
	for _, want := range []string{
		"城关镇的工作群没有收到“防返贫预警交办”消息（涉及案件 YJ202611-0001）",
		"群聊不存在", "请运行 fangpin chats create 或检查组织文件中的群聊设置",
		"河口乡的工作群没有收到“防返贫预警交办”消息（涉及案件 YJ202611-0002）",
		"Webhook 地址无效", "fangpin org apply", "已重试 4 次",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the office's report lacks %q:\n%s", want, got)
		}
	}
	for _, private := range []string{"张试三", "李试四", "张*三", "110101", "1234", "demo-hekou-key"} {
		if strings.Contains(got, private) {
			t.Errorf("the report repeats %q:\n%s", private, got)
		}
	}
	if n := len(reports("zhaoliu")); n != 2 {
		t.Errorf("%d reports, want one for each failed message", n)
	}
	// The cadres' private details still arrived; nothing reached the groups.
	if len(sim.SentTo("zhangsan")) == 0 {
		t.Error("the cadre's private message did not arrive")
	}
	for _, m := range sim.Sent() {
		if m.API == "appchat/send" || m.API == "webhook/send" {
			t.Errorf("a group message arrived: %+v", m)
		}
	}
	// Reported once only, however long the reporter keeps running. Barrier: every message
	// is delivered or given up on, and one more pass of the reporter finds nothing to tell.
	pgtest.WaitQueuesEmpty(t, s.DB, 10*time.Second)
	if n, err := s.Failures.ReportOnce(ctx); err != nil || n != 0 {
		t.Errorf("another pass of the reporter reported %d (%v), want 0", n, err)
	}
	pgtest.WaitQueuesEmpty(t, s.DB, 10*time.Second)
	if n := len(reports("zhaoliu")); n != 2 {
		t.Errorf("%d reports after a while, want still 2", n)
	}
}

// The office hears of a group that cannot be reached at once — on WeCom's first 86003 or
// 93000, while the worker keeps retrying — not twenty minutes later; the final failure is
// reported again. The back-off is an hour: the test brings the retry forward in the
// database instead of waiting for it.
func TestRefusedGroupSendIsToldAtOnceAndAgainWhenItFails(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	sim.RejectWebhook("demo-hekou-key")
	_, _, s := startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), func(s *Server) {
		s.Sender.Backoff = func(int, error) time.Duration { return time.Hour }
		s.Sender.MaxAttempts = 2
		s.Failures.Poll = 20 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	notice := func(town, chat, hook, no string) cases.TownshipNotice {
		return cases.TownshipNotice{Round: "2026-11", Township: town, AppChatID: chat, WebhookKey: hook,
			Cadres: []string{"zhangsan"}, CadreNames: []string{"张三"},
			Cases: []cases.Dispatched{{Case: cases.Case{No: no, Round: "2026-11", Kind: cases.KindNew, HeadName: "张试三",
				HeadIDNumber: "110101199001011234", Village: "东关村", Township: town, DueOn: cases.MustDate("2026-12-08"),
				Categories: []cases.Category{cases.CatMedical}}}}}
	}
	msgs := (&announce.Announcer{}).Messages([]cases.TownshipNotice{
		notice("城关镇", "wrCG0001", "", "YJ202611-0001"),
		notice("河口乡", "", "demo-hekou-key", "YJ202611-0002"),
	})
	if err := pgqueue.Enqueue(ctx, s.DB, msgs...); err != nil {
		t.Fatal(err)
	}
	reports := func(title string) []string {
		var out []string
		for _, m := range sim.SentTo("zhaoliu") {
			if strings.HasPrefix(m.Content, title) {
				out = append(out, m.Content)
			}
		}
		return out
	}
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(reports("【群消息暂未送达】")) >= 2 }); err != nil {
		t.Fatalf("%v: the office was not told at once; it got %q", err, reports(""))
	}
	early := strings.Join(reports("【群消息暂未送达】"), "\n---\n")
	for _, want := range []string{"城关镇的工作群暂时收不到“防返贫预警交办”消息（涉及案件 YJ202611-0001）", "群聊不存在", "fangpin chats create",
		"河口乡的工作群暂时收不到", "Webhook 地址无效", "fangpin org apply", "系统仍在自动重试"} {
		if !strings.Contains(early, want) {
			t.Errorf("the early report lacks %q:\n%s", want, early)
		}
	}
	var pending int
	pending = pgtest.Count(t, s.DB, `SELECT count(*) FROM outbox WHERE channel IN ('appchat', 'webhook') AND state = 'pending' AND attempts = 1`)
	if pending != 2 || len(reports("【群消息未送达】")) != 0 {
		t.Fatalf("after the first refusal: %d group messages still retried, want 2 (and no final report yet)", pending)
	}

	// An hour later (brought forward): the second attempt is the last; the office hears again.
	if _, err := s.DB.Exec(`UPDATE outbox SET next_attempt_at = now() WHERE channel IN ('appchat', 'webhook')`); err != nil {
		t.Fatal(err)
	}
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(reports("【群消息未送达】")) >= 2 }); err != nil {
		t.Fatalf("%v: no final report; the office got %q", err, reports(""))
	}
	final := strings.Join(reports("【群消息未送达】"), "\n---\n")
	if !strings.Contains(final, "已重试 2 次，系统已停止重试（此前已提醒过一次）") || !strings.Contains(final, "YJ202611-0002") {
		t.Errorf("the final report:\n%s", final)
	}
	if n := len(reports("【群消息暂未送达】")); n != 2 {
		t.Errorf("%d early reports, want one per message", n)
	}
}
