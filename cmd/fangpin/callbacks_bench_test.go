package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
// replies sent meanwhile are reported as replies_sent. It also reports how long until
// every callback of the burst was handled (handled_s: the handlers work it off during and
// after the burst), the callbacks a group commit carried and its time (commit_callbacks,
// commit_ms), and, where /proc shows PostgreSQL's processes, their CPU time per callback
// for the acknowledgement and the handling together (pg_cpu_us/callback).
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
	_, stop, srv := startServeOn(b, sim, pgtest.MigratedURL(b), bot.NewLogger(io.Discard, slog.LevelError), nil)
	defer stop()
	org, err := orgfile.Load("../../examples/org.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var users []string
	for _, u := range org.Users {
		users = append(users, u.UserID)
	}
	seq := 0
	seal := func(k int) []wecomtest.Callback {
		rs := make([]wecomtest.Callback, k)
		for i := range rs {
			seq++
			q, body := sim.SealApp(sim.TextXML(users[seq%len(users)], "帮助", fmt.Sprintf("bench%09d", seq), time.Now()))
			rs[i] = wecomtest.Callback{Query: q, Body: body}
		}
		return rs
	}
	bare := httptest.NewServer(wecomtest.BareHandler(sim.AppCrypto()))
	defer bare.Close()

	run := func(target string, rs []wecomtest.Callback) (perSec float64, p50, p99 time.Duration) {
		r, err := wecomtest.Burst(target, rs, clients)
		if err != nil {
			b.Fatal(err)
		}
		return r.PerSec, r.P50, r.P99
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
		before := statsOf(srv)
		burst := time.Now()
		fullRate, fullP50, fullP99 := run(sim.AppCallbackURL, fullReqs)
		acked := statsOf(srv)
		// The handlers work off the burst meanwhile and after it: how long until every
		// callback was handled (its reply queued).
		for statsOf(srv).handled < before.handled+float64(n) {
			if time.Since(burst) > 2*time.Minute {
				b.Fatalf("%v of %d callbacks handled after 2 minutes", statsOf(srv).handled-before.handled, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		handled := time.Since(burst)
		after := statsOf(srv)
		commits := acked.commits - before.commits
		b.ReportMetric(fullRate, "callbacks/s")
		b.ReportMetric(bareRate, "baseline/s")
		b.ReportMetric(fullRate/bareRate, "ratio")
		b.ReportMetric(float64(fullP50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(fullP99.Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(bareP99.Microseconds())/1000, "baseline_p99_ms")
		b.ReportMetric(float64(len(sim.Sent())-sentBefore), "replies_sent")
		b.ReportMetric(handled.Seconds(), "handled_s")
		b.ReportMetric((acked.committed-before.committed)/commits, "commit_callbacks")
		b.ReportMetric((acked.commitSeconds-before.commitSeconds)*1000/commits, "commit_ms")
		if after.pgCPU > 0 {
			b.ReportMetric(float64((after.pgCPU-before.pgCPU).Microseconds())/float64(n), "pg_cpu_us/callback")
		}
		b.Logf("%d callbacks from %d clients: fangpin serve %.0f/s (p50 %v, p99 %v), bare verify+decrypt %.0f/s (p50 %v, p99 %v), ratio %.3f; %.1f callbacks a commit; all handled after %v",
			n, clients, fullRate, fullP50.Round(10*time.Microsecond), fullP99.Round(10*time.Microsecond),
			bareRate, bareP50.Round(10*time.Microsecond), bareP99.Round(10*time.Microsecond), fullRate/bareRate,
			(acked.committed-before.committed)/commits, handled.Round(10*time.Millisecond))
	}
}

// serverStats are the server's counters the benchmark reads around a burst.
type serverStats struct {
	commits, commitSeconds, committed float64 // the inbox's group commits
	handled                           float64 // callbacks handled by the inbox worker
	pgCPU                             time.Duration
}

// statsOf reads the server's metrics and, where /proc shows them (PostgreSQL on this
// host, readable), the CPU time of the database's server processes: a measure of the
// database work a callback costs that the machine's other load does not skew as much as
// the rates.
func statsOf(s *Server) serverStats {
	var st serverStats
	// Only the bot's counters: the server's registry would also count the outbox and the
	// inbox in the database at every read.
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Metrics.InboxCommit, s.Metrics.InboxCommitRows, s.Metrics.Inbox)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "fangpin_inbox_commit_seconds":
				st.commits, st.commitSeconds = float64(m.GetHistogram().GetSampleCount()), m.GetHistogram().GetSampleSum()
			case "fangpin_inbox_commit_callbacks_total":
				st.committed = m.GetCounter().GetValue()
			case "fangpin_inbox_handled_total":
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" && l.GetValue() == "done" {
						st.handled = m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	var pids []int
	if err := s.DB.Select(&pids, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`); err != nil {
		return st // the CPU figure is best effort, like the /proc reads below
	}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// utime and stime, in clock ticks (100 a second), after the parenthesised name
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.Atoi(f[11])
		k, _ := strconv.Atoi(f[12])
		st.pgCPU += time.Duration(u+k) * 10 * time.Millisecond
	}
	return st
}
