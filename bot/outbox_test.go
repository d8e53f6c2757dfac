package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/credential"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

func runWorker(t *testing.T, w *bot.Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// With 30% of calls failing (busy, 5xx) and the first server killed in the middle of a
// send, every queued message arrives exactly once.
func TestOutboxExactlyOnceDespiteFailuresAndKill(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	const n = 60
	var msgs []bot.Outgoing
	for i := range n {
		mt, body := bot.Text(fmt.Sprintf("消息 #%02d", i))
		msgs = append(msgs, bot.Outgoing{Key: fmt.Sprintf("k%d", i), Channel: bot.ToUsers, Target: fmt.Sprintf("user%02d", i), MsgType: mt, Body: body})
	}
	if err := pgqueue.Enqueue(ctx, h.DB, msgs...); err != nil {
		t.Fatal(err)
	}
	// Queueing twice changes nothing.
	if err := pgqueue.Enqueue(ctx, h.DB, msgs...); err != nil {
		t.Fatal(err)
	}
	h.Sim.FailRate("*", -1, 0.15)
	h.Sim.FailRate("*", 500, 0.18) // of the remaining calls: 30% fail in all

	first := h.worker()
	first.Abruptly() // killed, not stopped
	kill := runWorker(t, first)
	if err := h.Sim.Wait(waitCtx(t, 30*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= n/3 }); err != nil {
		t.Fatal(err)
	}
	// Hold sends in WeCom, and kill the server while one is in flight.
	h.Sim.SetDelay("message/send", 400*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for h.Sim.InFlight() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h.Sim.InFlight() == 0 {
		t.Fatal("no send in flight to kill")
	}
	kill()
	h.Sim.ClearFaults()
	h.Sim.FailRate("*", -1, 0.15)
	h.Sim.FailRate("*", 500, 0.18)
	killedAt := len(h.Sim.Sent())

	// The restarted service runs two instances sharing the outbox.
	stopA := runWorker(t, h.worker())
	stopB := runWorker(t, h.worker())
	if err := h.Sim.Wait(waitCtx(t, 60*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= n }); err != nil {
		var pending int
		pending = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE state <> 'sent'`)
		t.Fatalf("%v: %d sent, %d rows not sent", err, len(h.Sim.Sent()), pending)
	}
	// Would a duplicate still come? Not once no row is pending, the workers stopped (each
	// finishing the message it was sending) and WeCom holds no request (the killed
	// worker's, delayed, may land late).
	waitSettled(t, h, 30*time.Second)
	stopA()
	stopB()
	waitFor(t, func() bool { return h.Sim.InFlight() == 0 })
	seen := map[string]int{}
	for _, s := range h.Sim.Sent() {
		seen[s.Content]++
	}
	for i := range n {
		c := fmt.Sprintf("消息 #%02d", i)
		if seen[c] != 1 {
			t.Errorf("%s arrived %d times, want exactly once", c, seen[c])
		}
	}
	var sent, retried int
	sent = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE state = 'sent'`)
	retried = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE attempts > 1`)
	if sent != n {
		t.Errorf("%d rows sent, want %d", sent, n)
	}
	t.Logf("killed after %d messages; %d of %d messages needed more than one attempt", killedAt, retried, n)
	if retried == 0 {
		t.Error("no message was retried: the failure injection did not work")
	}
}

func TestOutboxTokenDroppedAndRetriedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	tok, err := h.API.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.Sim.ExpireTokens()
	if _, err := h.API.SendMessage(ctx, map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": h.Sim.AgentID, "text": map[string]any{"content": "hi"}}); err != nil {
		t.Fatalf("send after expiry: %v", err)
	}
	tok2, _ := h.API.Token(ctx)
	if tok2 == tok {
		t.Error("the expired token was not replaced")
	}
	// A token refused twice is an error, not a loop.
	h.Sim.FailNext("message/send", 40014, 2)
	_, err = h.API.SendMessage(ctx, map[string]any{"touser": "zhangsan", "msgtype": "text", "agentid": h.Sim.AgentID, "text": map[string]any{"content": "hi"}})
	if err == nil || !strings.Contains(err.Error(), "40014") {
		t.Errorf("twice-refused token: %v, want errcode 40014", err)
	}
	if n := len(h.Sim.SentTo("zhangsan")); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestOutboxFailsPermanentErrorsAndKeepsTheError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	mt, body := bot.Text("无权限")
	pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "p1", Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body})
	h.Sim.FailNext("message/send", bot.CodeNoPrivilege, 1)
	w := h.worker()
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var state, lastErr string
	if err := h.DB.QueryRow(`SELECT state, last_error FROM outbox WHERE idem_key = 'p1'`).Scan(&state, &lastErr); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || !strings.Contains(lastErr, "60011") {
		t.Errorf("state %q, error %q; want failed with errcode 60011", state, lastErr)
	}
	// A group chat that is not there (yet) is retried: `fangpin chats create` may come.
	pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "g1", Channel: bot.ToAppChat, Target: "wrNOPE", MsgType: mt, Body: body})
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var code int64
	if err := h.DB.QueryRow(`SELECT state, last_error, last_errcode FROM outbox WHERE idem_key = 'g1'`).Scan(&state, &lastErr, &code); err != nil {
		t.Fatal(err)
	}
	if state != "pending" || code != 86003 {
		t.Errorf("group send to a missing chat: state %q, errcode %d; want pending (retried) with 86003", state, code)
	}
	// Too many retryable failures end as failed too, error kept.
	pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "p2", Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body})
	h.Sim.FailNext("message/send", 45009, 100)
	w.MaxAttempts = 3
	w.Backoff = func(int, error) time.Duration { return 0 }
	for range 4 {
		w.RunOnce(ctx)
	}
	if err := h.DB.QueryRow(`SELECT state, last_error FROM outbox WHERE idem_key = 'p2'`).Scan(&state, &lastErr); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || !strings.Contains(lastErr, "45009") {
		t.Errorf("state %q, error %q; want failed with errcode 45009", state, lastErr)
	}
}

// Long texts arrive whole in numbered parts; files are uploaded and sent as files.
func TestOutboxSplitsLongTextsAndSendsFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	chat, err := h.API.CreateAppChat(ctx, bot.AppChat{Name: "城关镇防返贫工作群", Owner: "zhangsan", UserList: []string{"zhangsan", "lisi"}, ChatID: "wrCG0001"})
	if err != nil || chat != "wrCG0001" {
		t.Fatalf("create chat: %q %v", chat, err)
	}
	long := strings.Repeat("第一行内容很长，", 300) // 7200 bytes
	mt, body := bot.Text(long)
	content := []byte("PK fake xlsx")
	fmt_, fbody, fdata := bot.File("台账-2026-11.xlsx", content)
	err = pgqueue.Enqueue(ctx, h.DB,
		bot.Outgoing{Key: "long", Channel: bot.ToAppChat, Target: chat, MsgType: mt, Body: body},
		bot.Outgoing{Key: "file", Channel: bot.ToUsers, Target: "zhaoliu", MsgType: fmt_, Body: fbody, File: fdata})
	if err != nil {
		t.Fatal(err)
	}
	// The second part fails once: the retry must not repeat the first.
	h.Sim.FailAfter("appchat/send", 1, -1, 1)
	runWorker(t, h.worker())
	if err := h.Sim.Wait(waitCtx(t, 20*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= 5 }); err != nil {
		t.Fatalf("%v: %+v", err, h.Sim.Sent())
	}
	parts := h.Sim.SentInChat(chat)
	if len(parts) != 4 {
		t.Fatalf("%d parts in chat, want 4", len(parts))
	}
	var joined strings.Builder
	for i, p := range parts {
		if p.Truncated {
			t.Errorf("part %d was truncated by WeCom", i)
		}
		joined.WriteString(strings.TrimPrefix(p.Content, fmt.Sprintf("（%d/4）\n", i+1)))
	}
	if joined.String() != long {
		t.Error("the parts do not add up to the text")
	}
	files := h.Sim.SentTo("zhaoliu")
	if len(files) != 1 || files[0].MsgType != "file" || files[0].MediaName != "台账-2026-11.xlsx" || string(files[0].MediaData) != string(content) {
		t.Errorf("file message: %+v", files)
	}
	// Sent from the database; once delivered its content is not kept.
	var left int
	left = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE attachment IS NOT NULL`)
	if left != 0 {
		t.Errorf("%d delivered rows still hold their file", left)
	}
}

// The worker paces under the per-member limit instead of letting WeCom drop messages.
func TestOutboxPacesUnderPerUserLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	limits := bot.DefaultLimits()
	limits.PerUser = []bot.Window{{N: 3, Per: time.Second}}
	limits.Slack = 50 * time.Millisecond
	h.Sim.SetLimits(limits)
	const n = 8
	for i := range n {
		mt, body := bot.Text(fmt.Sprintf("提醒 %d", i))
		pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: fmt.Sprint(i), Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body})
	}
	w := h.worker()
	w.Pacer.Limits = limits
	start := time.Now()
	runWorker(t, w)
	if err := h.Sim.Wait(waitCtx(t, 20*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= n }); err != nil {
		t.Fatalf("%v (dropped %d)", err, len(h.Sim.Dropped()))
	}
	if d := len(h.Sim.Dropped()); d != 0 {
		t.Errorf("WeCom dropped %d messages over the limit", d)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("8 messages at 3 a second took %s", took)
	}
}

// Template cards go to users through message/send; updating one uses update_template_card;
// webhooks and response_url carry the rest.
func TestOutboxCardsWebhooksAndUpdates(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	mt, body := bot.Card(bot.TemplateCard{CardType: "vote_interaction", TaskID: "verify-C1-1",
		MainTitle:    bot.CardTitle{Title: "核查结果 C1"},
		Checkbox:     &bot.CardCheckbox{QuestionKey: "result", OptionList: []bot.CardOption{{ID: "include", Text: "纳入"}, {ID: "exclude", Text: "不纳入"}}},
		SubmitButton: &bot.CardSubmitButton{Text: "提交", Key: "submit"}})
	wmt, wbody := bot.Markdown("**河口乡**：本月还有 2 件待核查")
	err := pgqueue.Enqueue(ctx, h.DB,
		bot.Outgoing{Key: "card", Channel: bot.ToUsers, Target: bot.JoinUsers("zhangsan"), MsgType: mt, Body: body},
		bot.CardUpdate("upd", "zhangsan", "verify-C1-1", map[string]any{"card_type": "vote_interaction", "task_id": "verify-C1-1", "replace_text": "已提交"}),
		bot.Outgoing{Key: "hook", Channel: bot.ToWebhook, Target: "demo-hekou-key", MsgType: wmt, Body: wbody})
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, h.worker())
	if err := h.Sim.Wait(waitCtx(t, 20*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= 3 }); err != nil {
		t.Fatal(err)
	}
	byAPI := map[string]wecomtest.Sent{}
	for _, s := range h.Sim.Sent() {
		byAPI[s.API] = s
	}
	if c := byAPI["message/send"]; c.MsgType != "template_card" || c.Body["template_card"].(map[string]any)["task_id"] != "verify-C1-1" {
		t.Errorf("card: %+v", c)
	}
	// the update is named by task_id in the outbox; the worker fills in the code message/send gave
	if u := byAPI["message/update_template_card"]; u.Body["response_code"] != byAPI["message/send"].ResponseCode || u.TaskID != "verify-C1-1" || len(u.To) != 1 || u.Body["task_id"] != nil {
		t.Errorf("update: %+v", u)
	}
	if w := byAPI["webhook/send"]; w.WebhookKey != "demo-hekou-key" || !strings.Contains(w.Content, "河口乡") {
		t.Errorf("webhook: %+v", w)
	}
}

// The SDK's own clients reach the simulator too once RedirectSDK is called.
func TestRedirectSDK(t *testing.T) {
	sim := wecomtest.NewServer()
	defer sim.Close()
	bot.RedirectSDK(sim.URL)
	defer bot.RedirectSDK("")
	res, err := credential.GetTokenFromServer("https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=" + sim.CorpID + "&corpsecret=" + sim.Secret)
	if err != nil || res.AccessToken == "" {
		t.Fatalf("SDK token fetch through the simulator: %+v %v", res, err)
	}
}

// Pending counts what is queued until the worker has sent it.
func TestPendingCountsQueuedMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if n, err := pgqueue.Pending(ctx, h.DB.DB); err != nil || n != 0 {
		t.Fatalf("empty outbox: %d %v", n, err)
	}
	for i := range 3 {
		mt, body := bot.Text(fmt.Sprintf("消息 %d", i))
		if err := pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: fmt.Sprintf("p%d", i), Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := pgqueue.Pending(ctx, h.DB.DB); err != nil || n != 3 {
		t.Fatalf("after queueing 3: %d %v", n, err)
	}
	runWorker(t, h.worker())
	if err := h.Sim.Wait(waitCtx(t, 10*time.Second), func(s []wecomtest.Sent) bool { return len(s) == 3 }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := pgqueue.Pending(ctx, h.DB.DB)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d still pending after all were delivered", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
