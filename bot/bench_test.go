package bot_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
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
	type req struct {
		q    url.Values
		body []byte
	}
	reqs := make([]req, 2*n)
	for i := range reqs {
		q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", fmt.Sprintf("%d", 900000+i), time.Now()))
		reqs[i] = req{q, body}
	}
	crypto := h.Sim.AppCrypto()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if xml.Unmarshal(body, &env) != nil {
			http.Error(w, "bad", 400)
			return
		}
		q := r.URL.Query()
		if _, err := crypto.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt); err != nil {
			http.Error(w, "bad", 400)
		}
	})
	var handled atomic.Int64
	in := bot.NewInbox(pgqueue.New(h.DB.DB), bot.HandlerFunc(func(context.Context, bot.Message) { handled.Add(1) }), h.Log, h.Metrics)
	in.Limit = 64
	wctx, stopWorker := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); in.Run(wctx) }()
	full := bot.NewAppCallback(crypto, h.Sim.CorpID, in, h.Log, h.Metrics)

	run := func(hd http.Handler, rs []req) (perSec float64, p50, p99 time.Duration) {
		srv := httptest.NewServer(hd)
		defer srv.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
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
					resp, err := client.Post(srv.URL+"?"+rs[i].q.Encode(), "", bytes.NewReader(rs[i].body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
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
