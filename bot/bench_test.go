package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
)

// BenchmarkCallbacks measures callbacks per second on loopback, with p50/p99 latency,
// for the full app callback (verify, decrypt, parse, and the message committed to the
// Postgres inbox before the 200, grouped with concurrent callbacks) against a bare handler
// that only verifies and decrypts, in the same run; the inbox worker runs the handler
// meanwhile. Run with `go test -run '^$' -bench Callbacks ./bot/`; make test does not.
//
// Every commit waits for the disk (synchronous_commit), so with few clients the rate is
// bounded by clients ÷ commit latency; group commit lets more concurrent callbacks share
// one commit, which the 64-client run shows.
func BenchmarkCallbacks(b *testing.B) {
	for _, clients := range []int{8, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchCallbacks(b, clients) })
	}
}

func benchCallbacks(b *testing.B, clients int) {
	h := newHarness(b)
	const n = 2000
	reqs := make([]wecomtest.Callback, 2*n)
	for i := range reqs {
		q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", fmt.Sprintf("%d", 900000+i), time.Now()))
		reqs[i] = wecomtest.Callback{Query: q, Body: body}
	}
	crypto := h.Sim.AppCrypto()
	bare := wecomtest.BareHandler(crypto)
	var handled atomic.Int64
	in := bot.NewInbox(pgqueue.New(h.DB.DB), bot.HandlerFunc(func(context.Context, bot.Message) { handled.Add(1) }), h.Log, h.Metrics)
	in.Limit = 64
	wctx, stopWorker := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); in.Run(wctx) }()
	full := bot.NewAppCallback(crypto, h.Sim.CorpID, in, h.Log, h.Metrics)

	run := func(hd http.Handler, rs []wecomtest.Callback) (perSec float64, p50, p99 time.Duration) {
		srv := httptest.NewServer(hd)
		defer srv.Close()
		r, err := wecomtest.Burst(srv.URL, rs, clients)
		if err != nil {
			b.Fatal(err)
		}
		return r.PerSec, r.P50, r.P99
	}
	// The floor: one single-row commit, which waits for the disk like every inbox insert.
	commitLat := make([]time.Duration, 50)
	for i := range commitLat {
		t0 := time.Now()
		if _, err := h.DB.Exec(`INSERT INTO inbox (key, state) VALUES ($1, 'done')`, fmt.Sprint("probe-", i)); err != nil {
			b.Fatal(err)
		}
		commitLat[i] = time.Since(t0)
	}
	sort.Slice(commitLat, func(i, j int) bool { return commitLat[i] < commitLat[j] })
	for i := 0; i < b.N; i++ {
		// Fresh message ids for the full handler each round, or dedup would short-cut.
		h.DB.Exec(`DELETE FROM inbox`)
		run(bare, reqs[:200]) // warm up
		bareRate, bareP50, bareP99 := run(bare, reqs[:n])
		before := handled.Load()
		t0 := time.Now()
		fullRate, fullP50, fullP99 := run(full, reqs[n:])
		// The handler runs from the inbox worker: report how long the backlog took.
		for handled.Load()-before < n && time.Since(t0) < time.Minute {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "handled_all_s")
		b.ReportMetric(fullRate, "callbacks/s")
		b.ReportMetric(bareRate, "bare_callbacks/s")
		b.ReportMetric(fullRate/bareRate, "ratio")
		b.ReportMetric(float64(fullP50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(fullP99.Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(bareP50.Microseconds())/1000, "bare_p50_ms")
		b.ReportMetric(float64(bareP99.Microseconds())/1000, "bare_p99_ms")
		b.ReportMetric(float64(commitLat[len(commitLat)/2].Microseconds())/1000, "commit_p50_ms")
	}
	in.Close()
	stopWorker()
	<-ran
	if handled.Load() == 0 {
		b.Fatal("the full handler handed nothing on")
	}
}
