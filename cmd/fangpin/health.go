package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/internal/supervise"
)

// health is GET /healthz of `serve` and `worker`: 200 with JSON when Postgres and Redis
// answer and every worker runs, 503 with the same JSON naming what is not.
type health struct {
	DB interface {
		PingContext(ctx context.Context) error
	}
	Redis   *redis.Client
	Workers interface{ Statuses() []supervise.Status } // nil: none
}

func (h health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	res, status := map[string]any{"postgres": "ok", "redis": "ok"}, http.StatusOK
	if err := h.DB.PingContext(ctx); err != nil {
		res["postgres"], status = "unreachable", http.StatusServiceUnavailable
	}
	if err := h.Redis.Ping(ctx).Err(); err != nil {
		res["redis"], status = "unreachable", http.StatusServiceUnavailable
	}
	if h.Workers != nil {
		workers, down := map[string]string{}, []string{}
		for _, st := range h.Workers.Statuses() {
			workers[st.Name] = "ok"
			if !st.Up {
				workers[st.Name], status = "down", http.StatusServiceUnavailable
				down = append(down, st.Name)
			}
		}
		res["workers"], res["down"] = workers, down
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res)
}

// workerCollector exports each supervised worker's state to /metrics.
type workerCollector struct{ sup *supervise.Supervisor }

var (
	workerUpDesc = prometheus.NewDesc("fangpin_worker_up",
		"1 while the background worker runs, 0 while it waits to be restarted.", []string{"worker"}, nil)
	workerRestartsDesc = prometheus.NewDesc("fangpin_worker_restarts_total",
		"Times the background worker was restarted after it stopped.", []string{"worker"}, nil)
)

func (c workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- workerUpDesc
	ch <- workerRestartsDesc
}

func (c workerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.sup.Statuses() {
		up := 0.0
		if st.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(workerUpDesc, prometheus.GaugeValue, up, st.Name)
		ch <- prometheus.MustNewConstMetric(workerRestartsDesc, prometheus.CounterValue, float64(st.Restarts), st.Name)
	}
}

// metricsHandler serves /metrics: what can be measured is served even when part of it cannot
// (PostgreSQL away makes the outbox's and inbox's gauges fail): operators alert on the worker
// and spool metrics exactly then, and a failed scrape would hide them all (docs/operations.md).
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
