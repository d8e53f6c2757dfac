package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/redistest"
)

// startServe runs the real `fangpin serve` wiring against the simulator on a fresh
// database with the example county's org file.
func startServe(t *testing.T) (sim *wecomtest.Server, base string, stop func() error) {
	t.Helper()
	_, sim, base, stop = startServer(t)
	return sim, base, stop
}

// startServer is startServe that also hands back the server, for tests that look into
// the ledger.
func startServer(t *testing.T) (s *Server, sim *wecomtest.Server, base string, stop func() error) {
	t.Helper()
	return startServerLogging(t, bot.NewLogger(io.Discard, slog.LevelError))
}

// startServerLogging is startServer with the server's logger.
func startServerLogging(t *testing.T, log *slog.Logger) (s *Server, sim *wecomtest.Server, base string, stop func() error) {
	t.Helper()
	sim = wecomtest.NewServer()
	t.Cleanup(sim.Close)
	base, stop, s = startServeOn(t, sim, pgtest.MigratedURL(t), log, nil)
	return s, sim, base, stop
}

// startServeOn runs a server on the database at dbURL; adjust, if given, may change the
// server before it runs (e.g. drop a worker).
func startServeOn(t testing.TB, sim *wecomtest.Server, dbURL string, log *slog.Logger, adjust func(*Server)) (base string, stop func() error, s *Server) {
	t.Helper()
	return startServeAt(t, sim, dbURL, log, nil, adjust)
}

// startServeAt is startServeOn with the ledger's clock (nil: the real one), for scenarios
// that run over months.
func startServeAt(t testing.TB, sim *wecomtest.Server, dbURL string, log *slog.Logger, clock func() time.Time, adjust func(*Server)) (base string, stop func() error, s *Server) {
	t.Helper()
	// Bind first, so that form links can name the server's address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + ln.Addr().String()
	t.Setenv("FANGPIN_PUBLIC_URL", base)
	t.Setenv("FANGPIN_REDIS_PREFIX", redistest.Prefix())
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("REDIS_URL", redistest.URL())
	t.Setenv("WECOM_CORP_ID", sim.CorpID)
	t.Setenv("WECOM_AGENT_ID", strconv.FormatInt(sim.AgentID, 10))
	t.Setenv("WECOM_SECRET", sim.Secret)
	t.Setenv("WECOM_TOKEN", sim.Token)
	t.Setenv("WECOM_AES_KEY", sim.AESKey)
	t.Setenv("WECOM_API_BASE", sim.URL)
	t.Setenv("FANGPIN_ADDR", ln.Addr().String())
	t.Setenv("FANGPIN_SPOOL_DIR", t.TempDir())
	env, err := LoadEnv()
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	env.Clock = clock
	ctx, cancel := context.WithCancel(context.Background())
	s, err = NewServer(ctx, env, log)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(s)
	}
	t.Cleanup(func() {
		// Delete this test's Redis keys (Redis is shared by parallel runs).
		redistest.Empty(t, s.Redis, s.RedisPrefix)
		s.Close()
	})
	org, err := orgfile.Load("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	s.Sender.Poll = 20 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	if _, err := s.Addr(ctx); err != nil {
		t.Fatal(err)
	}
	sim.AppCallbackURL = base + "/wecom/callback"
	sim.AIBotCallbackURL = base + "/wecom/aibot"
	var stopped bool
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return base, stop, s
}

func TestServeAnswersHelpInPrivateAndInGroups(t *testing.T) {
	sim, base, stop := startServe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := sim.VerifyURL(ctx, sim.AppCallbackURL, false); err != nil {
		t.Error(err)
	}
	if err := sim.VerifyURL(ctx, sim.AIBotCallbackURL, true); err != nil {
		t.Error(err)
	}

	// A cadre types 帮助 in the private chat with the app.
	if _, err := sim.SayPrivately(ctx, "zhangsan", "帮助"); err != nil {
		t.Fatal(err)
	}
	err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentTo("zhangsan")) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	got := sim.SentTo("zhangsan")[0].Content
	if !strings.Contains(got, "张三您好（城关镇乡村干部）") || !strings.Contains(got, "帮助") {
		t.Errorf("private reply:\n%s", got)
	}

	// Another @-mentions the AI bot in the township group: the answer comes through the
	// response_url into that group.
	if _, err := sim.SayInGroup(ctx, "wrCG0001", "lisi", "帮助"); err != nil {
		t.Fatal(err)
	}
	err = sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentInChat("wrCG0001")) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	if got := sim.SentInChat("wrCG0001")[0]; got.API != "aibot/response" || !strings.Contains(got.Content, "李四您好") {
		t.Errorf("group reply: %+v", got)
	}

	// Someone the org file does not know gets a polite answer.
	sim.SayPrivately(ctx, "stranger", "帮助")
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentTo("stranger")) > 0 }); err != nil {
		t.Fatal(err)
	}
	if got := sim.SentTo("stranger")[0].Content; !strings.Contains(got, "还没有您的账号") {
		t.Errorf("stranger reply: %s", got)
	}

	// Health and metrics.
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(hb), `"postgres":"ok"`) || !strings.Contains(string(hb), `"redis":"ok"`) {
		t.Errorf("healthz: %d %s", resp.StatusCode, hb)
	}
	// The last send is recorded just after WeCom got it: poll briefly.
	wants := []string{`fangpin_wecom_callbacks_total{outcome="accepted",source="app"} 2`,
		`fangpin_wecom_callbacks_total{outcome="accepted",source="aibot"} 1`,
		`fangpin_wecom_callbacks_total{outcome="url_verified",source="app"} 1`,
		`fangpin_wecom_sends_total{channel="message",result="sent"} 2`,
		`fangpin_wecom_sends_total{channel="response_url",result="sent"} 1`,
		`fangpin_outbox_pending 0`, `fangpin_outbox_oldest_pending_seconds 0`,
		`fangpin_inbox_pending 0`, `fangpin_inbox_failed 0`, `fangpin_inbox_handled_total{result="done"} 3`}
	var missing []string
	for try := 0; try < 50; try++ {
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(mb), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("metrics lack %q", missing)
	}

	// Graceful stop frees the port.
	addr := strings.TrimPrefix(base, "http://")
	if err := stop(); err != nil {
		t.Fatalf("serve stopped with %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port not freed after shutdown: %v", err)
	}
	ln.Close()
}

func TestHealthzAnswers503WhenRedisIsGone(t *testing.T) {
	db := pgtest.New(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer dead.Close()
	s := &Server{DB: db, Redis: dead}
	rec := httptest.NewRecorder()
	s.healthz(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"redis":"unreachable"`) ||
		!strings.Contains(rec.Body.String(), `"postgres":"ok"`) {
		t.Errorf("healthz with Redis gone: %d %s", rec.Code, rec.Body)
	}
}
