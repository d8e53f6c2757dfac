package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
)

// go-redis's own lines ("redis: … failed to dial …") came out as plain text among the JSON
// lines of serve and worker; now they are JSON lines of the same log.
func TestRedisClientLinesAreJSON(t *testing.T) {
	var out syncBuffer // e2e_helpers_test.go
	logRedisTo(bot.NewLogger(&out, slog.LevelInfo))
	r := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	defer r.Close()
	for i := 0; i < 8 && !strings.Contains(out.String(), "redis client"); i++ {
		r.Ping(context.Background())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if out.String() == "" {
		t.Fatal("go-redis logged nothing after failed dials")
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] != "redis client" {
			t.Errorf("line %q is not a JSON line of the log", l)
		}
	}
}

type failingCollector struct{ desc *prometheus.Desc }

func (c failingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c failingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(c.desc, errors.New("connect: connection refused"))
}

// /metrics served nothing at all (500) while PostgreSQL was away, since the outbox's gauges
// could not be read: the very moment operators watch the worker and spool metrics.
func TestMetricsServeWhatTheyCan(t *testing.T) {
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "fangpin_worker_up_test", Help: "t"})
	up.Set(1)
	reg.MustRegister(up, failingCollector{prometheus.NewDesc("fangpin_outbox_pending_test", "t", nil, nil)})
	rec := httptest.NewRecorder()
	metricsHandler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "fangpin_worker_up_test 1") {
		t.Errorf("/metrics with one failing collector: %d\n%s", rec.Code, rec.Body.String())
	}
}
