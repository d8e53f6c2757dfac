package bot_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// testRedis connects to FANGPIN_TEST_REDIS and returns a key prefix unique to the test;
// the test's keys are deleted when it ends (Redis is shared by parallel runs).
func testRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	u := os.Getenv("FANGPIN_TEST_REDIS")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	r := redis.NewClient(opt)
	if err := r.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (make test starts it)", u, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "fangpin-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := r.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			r.Del(ctx, iter.Val())
		}
		r.Close()
	})
	return r, prefix
}

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
	h.R, h.Prefix = testRedis(t)
	h.API = bot.NewClient(h.Sim.URL, h.Sim.CorpID, h.Sim.AgentID, h.Sim.Secret, &bot.RedisCache{R: h.R, Prefix: h.Prefix})
	h.Metrics = bot.NewMetrics(prometheus.NewRegistry(), h.DB.DB)
	h.Log = bot.NewLogger(testWriter{t}, slog.LevelWarn)
	return h
}

// worker returns an outbox worker with fast back-off for tests.
func (h *harness) worker() *bot.Worker {
	return &bot.Worker{DB: h.DB.DB, API: h.API, Log: h.Log, Metrics: h.Metrics,
		Pacer: &bot.Pacer{R: h.R, Prefix: h.Prefix + "pace:", Limits: bot.DefaultLimits()},
		Poll:  20 * time.Millisecond, Lease: time.Second, MaxAttempts: 50,
		Backoff: func(int, error) time.Duration { return 20 * time.Millisecond }}
}

// inbox returns a callback inbox handing messages to hd, with fast polling, lease and
// back-off for tests.
func (h *harness) inbox(hd bot.Handler) *bot.Inbox {
	in := bot.NewInbox(h.DB.DB, hd, h.Log, h.Metrics)
	in.Poll, in.Lease = 20*time.Millisecond, 2*time.Second
	in.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	return in
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
