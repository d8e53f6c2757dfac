package notify_test

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/internal/redistest"
	"github.com/fangpin/fangpin/notify"
)

// BenchmarkClaimToOutbox: 100,000 due reminders claimed from Redis by two workers and handed
// to the outbox (each in its own Postgres transaction with the state re-checked), against a
// plain Redis ZADD/ZPOPMIN loop over as many members in the same run. Run with
// `make bench` or `go test -run '^$' -bench ClaimToOutbox -benchtime 1x ./notify/`;
// FANGPIN_BENCH_REMINDERS changes the count.
func BenchmarkClaimToOutbox(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("FANGPIN_BENCH_REMINDERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	f := newFixture(b)
	f.db.Now = time.Now
	// One open case per reminder, as at 09:00 on a busy day: each case has at most its own
	// due or overdue reminder then. Cases are inserted in bulk; the hooks are not under test.
	_, err := f.db.Exec(`INSERT INTO rounds (month, dispatched_on) VALUES ('2026-11', '2026-11-10')`)
	if err != nil {
		b.Fatal(err)
	}
	_, err = f.db.Exec(`
		INSERT INTO cases (case_no, round, kind, household_key, head_name, village, township_id, status, dispatched_at, due_on)
		SELECT 'YJ202611-' || lpad(g::text, 6, '0'), '2026-11', '新增', 'bench-' || g, '张小明', '东关村',
			(SELECT id FROM townships ORDER BY id LIMIT 1 OFFSET g % 2), 'dispatched', now(), current_date + 3
		FROM generate_series(1, $1) g`, n)
	if err != nil {
		b.Fatal(err)
	}
	var baseline, ours time.Duration
	var lagP50, lagP99, lagMax float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		redistest.Empty(b, f.redis, f.prefix)
		if _, err := f.db.Exec(`DELETE FROM outbox; DELETE FROM reminders`); err != nil {
			b.Fatal(err)
		}
		// Baseline: the bare Redis operations, one member at a time.
		key := f.prefix + "baseline"
		start := time.Now()
		for j := 0; j < n; j++ {
			if err := f.redis.ZAdd(ctx, key, redisZ(j)).Err(); err != nil {
				b.Fatal(err)
			}
		}
		for j := 0; j < n; j++ {
			if err := f.redis.ZPopMin(ctx, key, 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
		baseline = time.Since(start)

		due := time.Now()
		_, err = f.db.Exec(`
			INSERT INTO reminders (key, kind, case_id, township_id, target, due_at)
			SELECT 'bench:' || c.id, 'case_due', c.id, c.township_id, 'group:' || t.name, $1
			FROM cases c JOIN townships t ON t.id = c.township_id`, due)
		if err != nil {
			b.Fatal(err)
		}
		// The month's own reminders are not part of the measurement.
		if _, err := notify.PlanMonth(ctx, f.db, cases.DateOf(due)); err != nil {
			b.Fatal(err)
		}
		if _, err := f.db.Exec(`UPDATE reminders SET state = 'cancelled' WHERE key NOT LIKE 'bench:%'`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wk := &notify.Worker{DB: f.db, Redis: f.redis, Prefix: f.prefix, Sender: f.sender, Now: time.Now, Parallel: 8, Batch: 200}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := wk.Tick(ctx); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		ours = time.Since(start)
		b.StopTimer()
		var sent int
		f.db.Get(&sent, `SELECT count(*) FROM outbox o JOIN reminders r ON o.idem_key = 'reminder:' || r.id WHERE r.key LIKE 'bench:%'`)
		if sent != n {
			b.Fatalf("outbox has %d messages, want %d", sent, n)
		}
		err = f.db.QueryRow(`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
			FROM (SELECT extract(epoch FROM o.created_at - r.due_at) * 1000 AS ms FROM outbox o JOIN reminders r ON o.idem_key = 'reminder:' || r.id WHERE r.key LIKE 'bench:%') x`).
			Scan(&lagP50, &lagP99, &lagMax)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/ours.Seconds(), "reminders/s")
	b.ReportMetric(float64(n)/baseline.Seconds(), "baseline_items/s")
	b.ReportMetric(ours.Seconds()/baseline.Seconds(), "ratio")
	b.ReportMetric(lagP50, "lag_p50_ms")
	b.ReportMetric(lagP99, "lag_p99_ms")
	b.ReportMetric(lagMax, "lag_max_ms")
	b.Logf("%d reminders: claim→outbox %v, ZADD/ZPOPMIN loop %v, ratio %.1f; lag p50 %.0f ms, p99 %.0f ms, max %.0f ms",
		n, ours, baseline, ours.Seconds()/baseline.Seconds(), lagP50, lagP99, lagMax)
}

func redisZ(j int) redis.Z { return redis.Z{Score: float64(j), Member: strconv.Itoa(j)} }
