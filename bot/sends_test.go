package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// syncBuffer is a log sink several goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestCheckResponseURL(t *testing.T) {
	t.Parallel()
	c := bot.NewClient("", "ww1", 1, "s", nil)
	c.ResponseHosts = []string{"aibot.example.com"}
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=abc", true},
		{"https://QYAPI.weixin.qq.com/cgi-bin/aibot/response?response_code=abc", true},
		{"https://aibot.example.com/cgi-bin/aibot/response?response_code=abc", true},
		{"https://aibot.example.com:/cgi-bin/aibot/response", false}, // an empty port: found by FuzzCheckResponseURL
		{"http://qyapi.weixin.qq.com/cgi-bin/aibot/response", false}, // base is https
		{"https://qyapi.weixin.qq.com.evil.example/cgi-bin/aibot/response", false},
		{"https://evil.example/cgi-bin/aibot/response?response_code=abc", false},
		{"https://qyapi.weixin.qq.com@evil.example/x", false},
		{"https://user:pw@qyapi.weixin.qq.com/x", false},
		{"https://169.254.169.254/latest/meta-data", false},
		{"file:///etc/passwd", false},
		{"::::", false},
	} {
		err := c.CheckResponseURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && (strings.Contains(err.Error(), "response_code") || strings.Contains(err.Error(), "pw")) {
			t.Errorf("%s: the refusal repeats the query or password: %v", tc.url, err)
		}
	}
}

// A response_url on another host is never called: the row fails, the log names the host
// without the URL's query; the real one on WeCom's host is answered.
func TestResponseURLOnlyOnWeComHost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var logs syncBuffer
	h.Log = bot.NewLogger(&logs, slog.LevelInfo)
	ctx := context.Background()
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"errcode":0}`))
	}))
	defer evil.Close()
	mt, body := bot.Markdown("核查 YJ202611-0001 已登记")
	good := h.Sim.ResponseURL("wrCG0001")
	err := pgqueue.Enqueue(ctx, h.DB,
		bot.Outgoing{Key: "evil", Channel: bot.ToResponseURL, Target: evil.URL + "/cgi-bin/aibot/response?response_code=SECRETCODE42", MsgType: mt, Body: body},
		bot.Outgoing{Key: "good", Channel: bot.ToResponseURL, Target: good, MsgType: mt, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	w := h.worker()
	for range 3 {
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign response_url was called %d times", n)
	}
	var state, lastErr string
	if err := h.DB.QueryRow(`SELECT state, last_error FROM outbox WHERE idem_key = 'evil'`).Scan(&state, &lastErr); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || !strings.Contains(lastErr, "refused") {
		t.Errorf("foreign response_url: state %q, error %q; want failed, refused", state, lastErr)
	}
	if strings.Contains(lastErr, "SECRETCODE42") || strings.Contains(logs.String(), "SECRETCODE42") {
		t.Errorf("the response_code leaked into the error or the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "refused to call "+evil.URL+"/cgi-bin/aibot/response") {
		t.Errorf("the refusal is not logged with its host:\n%s", logs.String())
	}
	if got := h.Sim.SentInChat("wrCG0001"); len(got) != 1 {
		t.Errorf("%d answers through WeCom's own response_url, want 1", len(got))
	}
}

// waitState waits until no row is pending.
func waitSettled(t *testing.T, h *harness, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var pending int
		if err := h.DB.Get(&pending, `SELECT count(*) FROM outbox WHERE state = 'pending'`); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows still pending after %s", pending, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WeCom takes a private message and the answer is lost (connection dropped, or a 502):
// the resend carries the byte-identical body and WeCom's duplicate check drops it, so
// every message is delivered exactly once. A reply asked for twice (帮助, 帮助) still
// arrives twice.
func TestLostAnswersPrivateMessagesExactlyOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	const n = 150
	var msgs []bot.Outgoing
	for i := range n {
		mt, body := bot.Text(fmt.Sprintf("私信 #%03d", i))
		msgs = append(msgs, bot.Outgoing{Key: fmt.Sprintf("k%d", i), Channel: bot.ToUsers, Target: fmt.Sprintf("user%03d", i), MsgType: mt, Body: body})
	}
	for i := range 2 { // the same reply to the same user, twice
		mt, body := bot.Text("可用命令：待办、核查、录入……")
		msgs = append(msgs, bot.Outgoing{Key: fmt.Sprintf("help%d", i), Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body})
	}
	if err := pgqueue.Enqueue(ctx, h.DB, msgs...); err != nil {
		t.Fatal(err)
	}
	h.Sim.LoseRate("message/send", wecomtest.DropConnection, 0.15)
	h.Sim.LoseRate("message/send", wecomtest.BadGateway, 0.1)
	runWorker(t, h.worker())
	runWorker(t, h.worker())
	waitSettled(t, h, 60*time.Second)

	seen := map[string]int{}
	for _, s := range h.Sim.Sent() {
		seen[s.Content]++
	}
	for i := range n {
		c := fmt.Sprintf("私信 #%03d", i)
		if seen[c] != 1 {
			t.Errorf("%s arrived %d times, want exactly once", c, seen[c])
		}
	}
	if got := len(h.Sim.SentTo("zhangsan")); got != 2 {
		t.Errorf("the reply asked for twice arrived %d times, want 2", got)
	}
	var failed int
	failed = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE state <> 'sent'`)
	if failed != 0 {
		t.Errorf("%d messages not sent", failed)
	}
	lost, dupes := h.Sim.LostAnswers(), len(h.Sim.Duplicates())
	t.Logf("message/send: %d messages, %d answers lost, %d resends dropped by the duplicate check, 0 doubles", n+2, lost, dupes)
	if lost == 0 || dupes == 0 {
		t.Errorf("lost %d answers, %d duplicates dropped: the test did not exercise lost answers", lost, dupes)
	}
}

// Group chats (appchat/send, webhook/send) have no duplicate check: a resend after a lost
// answer may show twice. This measures how often, with the resend window kept small, and
// checks that nothing is lost without the row saying so.
func TestLostAnswersGroupSendsMeasured(t *testing.T) {
	t.Parallel()
	for _, ch := range []bot.Channel{bot.ToAppChat, bot.ToWebhook} {
		t.Run(string(ch), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			limits := bot.DefaultLimits()
			limits.PerChat = []bot.Window{{N: 100000, Per: time.Minute}}
			limits.PerRobot = bot.Window{N: 100000, Per: time.Minute}
			h.Sim.SetLimits(limits)
			target := "key-cgz"
			if ch == bot.ToAppChat {
				var err error
				target, err = h.API.CreateAppChat(ctx, bot.AppChat{Name: "城关镇", UserList: []string{"a", "b"}, ChatID: "wrCG0001"})
				if err != nil {
					t.Fatal(err)
				}
			}
			const n = 150
			var msgs []bot.Outgoing
			for i := range n {
				mt, body := bot.Text(fmt.Sprintf("群消息 #%03d", i))
				msgs = append(msgs, bot.Outgoing{Key: fmt.Sprintf("g%d", i), Channel: ch, Target: target, MsgType: mt, Body: body})
			}
			if err := pgqueue.Enqueue(ctx, h.DB, msgs...); err != nil {
				t.Fatal(err)
			}
			api := "appchat/send"
			if ch == bot.ToWebhook {
				api = "webhook/send"
			}
			h.Sim.LoseRate(api, wecomtest.DropConnection, 0.06)
			w := h.worker()
			w.Pacer = nil
			runWorker(t, w)
			waitSettled(t, h, 60*time.Second)

			seen := map[string]int{}
			for _, s := range h.Sim.Sent() {
				seen[s.Content]++
			}
			var doubles, missing int
			for i := range n {
				switch c := seen[fmt.Sprintf("群消息 #%03d", i)]; {
				case c == 0:
					missing++
				case c > 1:
					doubles += c - 1
				}
			}
			var failed int
			failed = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE state = 'failed'`)
			lost := h.Sim.LostAnswers()
			t.Logf("%s: %d messages, %d answers lost → %d shown twice, %d missing, %d rows failed", api, n, lost, doubles, missing, failed)
			if lost == 0 {
				t.Fatal("no answer was lost: the test did not exercise lost answers")
			}
			// Every lost answer was taken by WeCom here, so each resend is one double:
			// at-least-once, never more than one copy per lost answer.
			if doubles > lost {
				t.Errorf("%d doubles from %d lost answers", doubles, lost)
			}
			if missing > failed {
				t.Errorf("%d messages missing but only %d rows failed: a loss went unrecorded", missing, failed)
			}
		})
	}
}

// When the answers stay lost past the group resend window, the row fails as uncertain
// (the office is told) instead of being resent for ever.
func TestLostAnswersGroupWindowBoundsResends(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	chat, err := h.API.CreateAppChat(ctx, bot.AppChat{Name: "城关镇", UserList: []string{"a", "b"}, ChatID: "wrCG0001"})
	if err != nil {
		t.Fatal(err)
	}
	mt, body := bot.Text("群消息")
	pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "g", Channel: bot.ToAppChat, Target: chat, MsgType: mt, Body: body})
	h.Sim.LoseRate("appchat/send", wecomtest.BadGateway, 1)
	w := h.worker()
	w.GroupResendWindow = 300 * time.Millisecond
	w.Backoff = func(int, error) time.Duration { return 50 * time.Millisecond }
	runWorker(t, w)
	waitSettled(t, h, 10*time.Second)
	var state, lastErr string
	var lostN int
	if err := h.DB.QueryRow(`SELECT state, last_error, lost_answers FROM outbox WHERE idem_key = 'g'`).Scan(&state, &lastErr, &lostN); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || !strings.Contains(lastErr, bot.ErrUncertain.Error()) {
		t.Errorf("state %q, error %q; want failed as uncertain", state, lastErr)
	}
	if shown := len(h.Sim.SentInChat(chat)); shown != lostN || lostN > 8 {
		t.Errorf("shown %d times with %d lost answers; want equal and bounded by the window", shown, lostN)
	}
}

// Whatever the URL, an accepted one names WeCom's host (or the configured AI bot host)
// without user information, and a refusal never repeats the query.
func FuzzCheckResponseURL(f *testing.F) {
	for _, s := range []string{"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=x",
		"https://qyapi.weixin.qq.com@evil/x?q=1", "https://evil/x?response_code=SECRET", "http://[::1]:80/x",
		"https://aibot.example.com:443/x", "//qyapi.weixin.qq.com/x", "https:qyapi.weixin.qq.com/x", "\x00"} {
		f.Add(s)
	}
	c := bot.NewClient("", "ww1", 1, "s", nil)
	c.ResponseHosts = []string{"aibot.example.com"}
	f.Fuzz(func(t *testing.T, raw string) {
		err := c.CheckResponseURL(raw)
		if err != nil {
			if u, perr := url.Parse(raw); perr == nil && u.RawQuery != "" && strings.Contains(err.Error(), "?"+u.RawQuery) {
				t.Errorf("refusal of %q repeats the query: %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil || u.User != nil || u.Scheme != "https" {
			t.Fatalf("accepted %q", raw)
		}
		if h := strings.ToLower(u.Host); h != "qyapi.weixin.qq.com" && h != "aibot.example.com" {
			t.Fatalf("accepted %q on host %q", raw, u.Host)
		}
	})
}
