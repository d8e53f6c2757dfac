package bot_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
)

// recorder is a bot.Handler that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	msgs []bot.Message
}

func (r *recorder) HandleMessage(_ context.Context, m bot.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.msgs) }

type callbackSite struct {
	h       *harness
	rec     *recorder
	srv     *httptest.Server
	inbox   *bot.Inbox
	stopRun context.CancelFunc
	ran     chan struct{}
}

// newCallbackSite serves both callbacks on loopback, as `fangpin serve` does, with a
// recording handler.
func newCallbackSite(t *testing.T, h *harness) *callbackSite {
	s := &callbackSite{h: h, rec: &recorder{}}
	s.start(t)
	return s
}

func (s *callbackSite) start(t *testing.T) {
	h := s.h
	s.inbox = h.inbox(s.rec)
	mux := http.NewServeMux()
	mux.Handle("/wecom/callback", bot.NewAppCallback(h.Sim.AppCrypto(), h.Sim.CorpID, s.inbox, h.Log, h.Metrics))
	mux.Handle("/wecom/aibot", bot.NewAIBotCallback(h.Sim.AIBotCrypto(), s.inbox, h.Log, h.Metrics))
	s.srv = httptest.NewServer(mux)
	var ctx context.Context
	ctx, s.stopRun = context.WithCancel(context.Background())
	s.ran = make(chan struct{})
	go func() { defer close(s.ran); s.inbox.Run(ctx) }()
	h.Sim.AppCallbackURL = s.srv.URL + "/wecom/callback"
	h.Sim.AIBotCallbackURL = s.srv.URL + "/wecom/aibot"
	t.Cleanup(s.stop)
}

func (s *callbackSite) stop() {
	s.srv.Close()
	s.inbox.Close()
	s.stopRun()
	<-s.ran
}

func post(t *testing.T, target string, q url.Values, body []byte) int {
	t.Helper()
	resp, err := http.Post(target+"?"+q.Encode(), "", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && len(b) != 0 {
		t.Errorf("acknowledgement has a body %q; WeCom wants an empty 200", b)
	}
	return resp.StatusCode
}

func dedupRows(t *testing.T, h *harness) int {
	var n int
	if err := h.DB.Get(&n, `SELECT count(*) FROM inbox`); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCallbackURLVerification(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	site := newCallbackSite(t, h)
	ctx := context.Background()
	if err := h.Sim.VerifyURL(ctx, h.Sim.AppCallbackURL, false); err != nil {
		t.Error(err)
	}
	if err := h.Sim.VerifyURL(ctx, h.Sim.AIBotCallbackURL, true); err != nil {
		t.Error(err)
	}
	// The app's echostr (ReceiveId = CorpID) is not the AI bot's.
	if err := h.Sim.VerifyURL(ctx, h.Sim.AIBotCallbackURL, false); err == nil {
		t.Error("the AI bot endpoint accepted an echostr for the app")
	}
	_ = site
}

func TestCallbackForgedOrReplayedChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	site := newCallbackSite(t, h)
	sim := h.Sim
	appURL, aiURL := sim.AppCallbackURL, sim.AIBotCallbackURL

	plain := sim.TextXML("zhangsan", "帮助", "7001", time.Now())
	q, body := sim.SealApp(plain)
	if code := post(t, appURL, q, body); code != http.StatusOK {
		t.Fatalf("genuine callback: status %d", code)
	}
	waitFor(t, func() bool { return site.rec.count() == 1 })
	rows := dedupRows(t, h)

	// Refusals: each 4xx, nothing recorded, nothing handled.
	forged := url.Values{"msg_signature": {strings.Repeat("a", 40)}, "timestamp": q["timestamp"], "nonce": q["nonce"]}
	otherNonce := url.Values{"msg_signature": q["msg_signature"], "timestamp": q["timestamp"], "nonce": {"x"}}
	aiQ, aiBody := sim.SealAIBot(sim.TextXML("zhangsan", "帮助", "7002", time.Now())) // ReceiveId "" at the app
	stale := sim.TextXML("zhangsan", "帮助", "7003", time.Now())
	staleQ, staleBody := sim.SealApp(stale)
	staleQ.Set("timestamp", "1000000000") // (and the signature no longer matches)
	huge := bytes.Repeat([]byte("x"), 200<<10)
	// A body that decrypts to bad padding: a valid-looking ciphertext of random blocks.
	badPad := []byte(`<xml><Encrypt>` + strings.Repeat("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", 2)[:64] + `</Encrypt></xml>`)
	badPadQ := signed(sim, string(badPad[len("<xml><Encrypt>"):len(badPad)-len("</Encrypt></xml>")]))
	xmlAsAI := wrapAsXML(aiBody)
	cases := []struct {
		name   string
		target string
		q      url.Values
		body   []byte
		want   int
	}{
		{"forged signature", appURL, forged, body, http.StatusForbidden},
		{"signature for another nonce", appURL, otherNonce, body, http.StatusForbidden},
		{"wrong ReceiveId", appURL, aiQ, xmlAsAI, http.StatusBadRequest},
		{"app message at the AI bot", aiURL, q, jsonEnvelope(body), http.StatusBadRequest},
		{"stale timestamp", appURL, staleQ, staleBody, http.StatusBadRequest},
		{"oversized body", appURL, q, huge, http.StatusRequestEntityTooLarge},
		{"bad padding", appURL, badPadQ, badPad, http.StatusBadRequest},
		{"not XML", appURL, q, []byte("hello"), http.StatusBadRequest},
	}
	for _, c := range cases {
		if got := post(t, c.target, c.q, c.body); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// Replays of the genuine callback, now and after a restart, are acknowledged and
	// dropped.
	if code := post(t, appURL, q, body); code != http.StatusOK {
		t.Errorf("replay: status %d, want 200", code)
	}
	site.stop()
	site.start(t)
	if code := post(t, sim.AppCallbackURL, q, body); code != http.StatusOK {
		t.Errorf("replay after restart: status %d, want 200", code)
	}
	site.stop() // its handlers finish: nothing can run after this
	if n := site.rec.count(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	if n := dedupRows(t, h); n != rows {
		t.Errorf("inbox has %d rows after refusals and replays, want %d", n, rows)
	}
}

// WeCom retries when the answer is slow; the handler still sees the message once.
func TestCallbackRetriesFromWeComAreDeduplicated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	site := newCallbackSite(t, h)
	ctx := context.Background()
	// Card clicks dedupe on user+time+task+key; AI bot messages on msgid.
	card := bot.CardEvent{TaskID: "verify-C1", EventKey: "submit", CardType: "vote_interaction", ResponseCode: "rc",
		Selected: map[string][]string{"result": {"include"}}}
	// A retry carries the click's own CreateTime: both copies are sealed from one event, so the
	// test does not depend on two clicks landing in the same second.
	clicked := time.Now()
	for i := 0; i < 2; i++ {
		q, body := h.Sim.SealApp(h.Sim.CardEventXML("zhangsan", clicked, card))
		if code := post(t, h.Sim.AppCallbackURL, q, body); code != http.StatusOK {
			t.Fatalf("copy %d of the click answered %d", i+1, code)
		}
	}
	if _, err := h.Sim.SayInGroup(ctx, "wrCG0001", "lisi", "帮助"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return site.rec.count() >= 2 })
	inboxSettled(t, h)
	site.stop()
	site.rec.mu.Lock()
	defer site.rec.mu.Unlock()
	if len(site.rec.msgs) != 2 {
		t.Fatalf("handled %d messages, want 2: %+v", len(site.rec.msgs), site.rec.msgs)
	}
	for _, m := range site.rec.msgs {
		switch m.Source {
		case bot.FromApp:
			if m.Card == nil || m.Card.Selected["result"][0] != "include" {
				t.Errorf("card event %+v", m)
			}
		case bot.FromAIBot:
			if m.Text != "帮助" || m.ChatID != "wrCG0001" || m.ResponseURL == "" {
				t.Errorf("aibot message %+v", m)
			}
		}
	}
}

func signed(sim *wecomtest.Server, enc string) url.Values {
	ts := time.Now().Unix()
	q := url.Values{"timestamp": {itoa(ts)}, "nonce": {"n1"}}
	q.Set("msg_signature", sim.AppCrypto().Sign(q.Get("timestamp"), "n1", enc))
	return q
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func wrapAsXML(jsonBody []byte) []byte {
	enc := string(jsonBody)
	enc = strings.TrimPrefix(enc, `{"encrypt":"`)
	enc = strings.TrimSuffix(enc, `"}`)
	return []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
}

func jsonEnvelope(xmlBody []byte) []byte {
	s := string(xmlBody)
	i := strings.Index(s, "<Encrypt><![CDATA[")
	j := strings.Index(s, "]]></Encrypt>")
	return []byte(`{"encrypt":"` + s[i+len("<Encrypt><![CDATA["):j] + `"}`)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// When the bot answers too slowly, the simulator retries like WeCom and the handler still
// runs once.
func TestSimulatorRetriesSlowBotAndBotDedupes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	site := newCallbackSite(t, h)
	inner := site.srv.Config.Handler
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			inner.ServeHTTP(w, r) // handled…
			time.Sleep(300 * time.Millisecond)
			return // …but answered after WeCom gave up
		}
		inner.ServeHTTP(w, r)
	}))
	defer slow.Close()
	h.Sim.AppCallbackURL = slow.URL + "/wecom/callback"
	h.Sim.CallbackTimeout = 100 * time.Millisecond
	if _, err := h.Sim.SayPrivately(context.Background(), "zhangsan", "待办"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 2 {
		t.Fatalf("simulator tried %d times, want a retry", calls.Load())
	}
	waitFor(t, func() bool { return site.rec.count() > 0 })
	inboxSettled(t, h)
	site.stop()
	if n := site.rec.count(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}
