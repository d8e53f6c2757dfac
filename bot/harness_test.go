package bot_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/redistest"
)

type harness struct {
	DB      *postgres.DB
	R       *redis.Client
	Prefix  string
	Sim     *wecomtest.Server
	API     *bot.Client
	Metrics *bot.Metrics
	Log     *slog.Logger
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{DB: pgtest.New(t), Sim: wecomtest.NewServer()}
	t.Cleanup(h.Sim.Close)
	h.R, h.Prefix = redistest.New(t)
	h.API = bot.NewClient(h.Sim.URL, h.Sim.CorpID, h.Sim.AgentID, h.Sim.Secret, &bot.RedisCache{R: h.R, Prefix: h.Prefix})
	h.Metrics = bot.NewMetrics(prometheus.NewRegistry(), pgqueue.New(h.DB.DB))
	h.Log = bot.NewLogger(testWriter{t}, slog.LevelWarn)
	return h
}

// worker returns an outbox worker with fast back-off for tests.
func (h *harness) worker() *bot.Worker {
	return &bot.Worker{Store: pgqueue.New(h.DB.DB), API: h.API, Log: h.Log, Metrics: h.Metrics,
		Pacer: &bot.Pacer{R: h.R, Prefix: h.Prefix + "pace:", Limits: bot.DefaultLimits()},
		Poll:  20 * time.Millisecond, Lease: time.Second, MaxAttempts: 50,
		Backoff: func(int, error) time.Duration { return 20 * time.Millisecond }}
}

// inbox returns a callback inbox handing messages to hd, with fast polling, lease and
// back-off for tests.
func (h *harness) inbox(hd bot.Handler) *bot.Inbox {
	in := bot.NewInbox(pgqueue.New(h.DB.DB), hd, h.Log, h.Metrics)
	in.Poll, in.Lease = 20*time.Millisecond, 2*time.Second
	in.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	return in
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
