package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// BenchmarkCallbacksEndToEnd measures callbacks as a user meets them: the real `fangpin
// serve` (as `make demo` starts it: real handlers, inbox workers, outbox and sender
// answering against the WeCom simulator meanwhile) takes FANGPIN_BENCH_CALLBACKS
// (default 2,000) signed private text callbacks (帮助, from the example county's users in
// turn) from 8 clients; in the same run a bare handler that only verifies and decrypts
// takes the same number. It reports both rates, their ratio and the p50/p99 of the time
// to the 200. Run it with
//
//	make services && go test ./cmd/fangpin -run '^$' -bench CallbacksEndToEnd -benchtime 1x -v
//
// The replies are paced by WeCom's per-user limits (30 a minute), so most of them are
// still queued when the run ends; the benchmark measures the acknowledgement, and the
// replies sent meanwhile are reported as replies_sent.
func BenchmarkCallbacksEndToEnd(b *testing.B) {
	const clients = 8
	n := 2000
	if s := os.Getenv("FANGPIN_BENCH_CALLBACKS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	sim := wecomtest.NewServer()
	b.Cleanup(sim.Close)
	_, stop, _ := startServeOn(b, sim, pgtest.NewURL(b), bot.NewLogger(io.Discard, slog.LevelError), nil)
	defer stop()
	org, err := orgfile.Load("../../examples/org.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var users []string
	for _, u := range org.Users {
		users = append(users, u.UserID)
	}
	type req struct {
		q    url.Values
		body []byte
	}
	seq := 0
	seal := func(k int) []req {
		rs := make([]req, k)
		for i := range rs {
			seq++
			q, body := sim.SealApp(sim.TextXML(users[seq%len(users)], "帮助", fmt.Sprintf("bench%09d", seq), time.Now()))
			rs[i] = req{q, body}
		}
		return rs
	}
	crypto := sim.AppCrypto()
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if xml.Unmarshal(body, &env) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		q := r.URL.Query()
		if _, err := crypto.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt); err != nil {
			http.Error(w, "bad", http.StatusBadRequest)
		}
	}))
	defer bare.Close()

	run := func(target string, rs []req) (perSec float64, p50, p99 time.Duration) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
		defer client.CloseIdleConnections()
		lat := make([]time.Duration, len(rs))
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(rs) {
						return
					}
					t0 := time.Now()
					resp, err := client.Post(target+"?"+rs[i].q.Encode(), "text/xml", bytes.NewReader(rs[i].body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
					}
					lat[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		return float64(len(rs)) / el.Seconds(), lat[len(lat)/2], lat[len(lat)*99/100]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Warm up both (connections, the server's prepared paths, WeCom's token).
	run(bare.URL, seal(200))
	run(sim.AppCallbackURL, seal(len(users)))
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.Sent()) >= len(users) }); err != nil {
		b.Fatalf("the warm-up's replies: %v (%d sent)", err, len(sim.Sent()))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bareReqs, fullReqs := seal(n), seal(n)
		bareRate, bareP50, bareP99 := run(bare.URL, bareReqs)
		sentBefore := len(sim.Sent())
		fullRate, fullP50, fullP99 := run(sim.AppCallbackURL, fullReqs)
		b.ReportMetric(fullRate, "callbacks/s")
		b.ReportMetric(bareRate, "baseline/s")
		b.ReportMetric(fullRate/bareRate, "ratio")
		b.ReportMetric(float64(fullP50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(fullP99.Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(bareP99.Microseconds())/1000, "baseline_p99_ms")
		b.ReportMetric(float64(len(sim.Sent())-sentBefore), "replies_sent")
		b.Logf("%d callbacks from %d clients: fangpin serve %.0f/s (p50 %v, p99 %v), bare verify+decrypt %.0f/s (p50 %v, p99 %v), ratio %.3f",
			n, clients, fullRate, fullP50.Round(10*time.Microsecond), fullP99.Round(10*time.Microsecond),
			bareRate, bareP50.Round(10*time.Microsecond), bareP99.Round(10*time.Microsecond), fullRate/bareRate)
	}
}
