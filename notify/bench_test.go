package notify_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/redistest"
	"github.com/fangpin/fangpin/notify"
)

// BenchmarkClaimToOutbox: reminders all due at 09:00 (100,000 unless FANGPIN_BENCH_REMINDERS
// says otherwise), already in Redis's schedule as they are in production by then, claimed
// by two workers with their default batch sizes, their state re-checked in Postgres and
// their messages queued in the outbox; against a plain Redis loop, one ZADD and then one
// ZPOPMIN a member over as many members, in the same run. Two loads:
//
//   - each: case reminders whose group digest is gone, so each is its own outbox message:
//     the per-message path (in production: stragglers planned after the day's digest went,
//     and the private reminders to the office and liaisons). The harder of the two.
//   - digested: the same reminders planned as production plans them, with each township's
//     daily digest: the spec's load (a group gets one reminder message a day); each
//     township gets one message, every reminder is still recorded as sent.
//
// Metrics: reminders/s (reminders settled a second), baseline_items/s (members through the
// raw loop a second), ratio (reminders/s ÷ baseline_items/s, higher is better), lag from
// 09:00 to the commit that queued a reminder's message (p50, p99, max), messages queued and
// schedule_s (putting them into Redis beforehand, not in the figures).
// Run with `make bench` or `go test -run '^$' -bench ClaimToOutbox -benchtime 1x ./notify/`.
func BenchmarkClaimToOutbox(b *testing.B) {
	b.Run("each", func(b *testing.B) { benchClaimToOutbox(b, false) })
	b.Run("digested", func(b *testing.B) { benchClaimToOutbox(b, true) })
}

// benchTownships: the fixture's two townships and eight more, a county's worth.
const benchTownships = 10

func benchOrg() string {
	i := strings.Index(orgYAML, "departments:")
	var b strings.Builder
	b.WriteString(orgYAML[:i])
	for t := 3; t <= benchTownships; t++ {
		fmt.Fprintf(&b, "  - {name: 测试%d镇, chat: {appchat: wrBENCH%02d}}\n", t, t)
	}
	b.WriteString(orgYAML[i:])
	return b.String()
}

func benchClaimToOutbox(b *testing.B, digested bool) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("FANGPIN_BENCH_REMINDERS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	f := newFixture(b)
	if _, err := f.db.ApplyOrg(ctx, parseOrg(b, benchOrg())); err != nil {
		b.Fatal(err)
	}
	// One open case per reminder, as at 09:00 on a busy day: each case has at most its own
	// due or overdue reminder then. Cases are inserted in bulk; the hooks are not under test.
	_, err := f.db.Exec(`INSERT INTO rounds (month, dispatched_on) VALUES ('2026-11', '2026-11-10')`)
	if err != nil {
		b.Fatal(err)
	}
	_, err = f.db.Exec(`
		INSERT INTO cases (case_no, round, kind, household_key, head_name, village, township_id, status, dispatched_at, due_on)
		SELECT 'YJ202611-' || lpad(g::text, 6, '0'), '2026-11', 'new', 'bench-' || g, '张小明', '东关村',
			(SELECT id FROM townships ORDER BY id LIMIT 1 OFFSET g % $2), 'dispatched', now(), current_date + 3
		FROM generate_series(1, $1) g`, n, benchTownships)
	if err != nil {
		b.Fatal(err)
	}
	var cs []struct {
		ID       int64  `db:"id"`
		Township string `db:"township"`
	}
	if err := f.db.Select(&cs, `SELECT c.id, t.name AS township FROM cases c JOIN townships t ON t.id = c.township_id ORDER BY c.id`); err != nil {
		b.Fatal(err)
	}
	// 09:00 falls when the timer starts: the workers' clock runs from there.
	var start time.Time
	var startMu sync.Mutex
	nine := cases.DateOf(time.Now()).At(cases.ReminderHour, 0)
	clock := func() time.Time {
		startMu.Lock()
		defer startMu.Unlock()
		if start.IsZero() {
			return nine.Add(-time.Minute)
		}
		return nine.Add(time.Since(start))
	}
	f.db.Now = clock
	var baseline, ours, scheduling time.Duration
	var lags []time.Duration
	var messages int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		redistest.Empty(b, f.redis, f.prefix)
		if _, err := f.db.Exec(`DELETE FROM outbox; DELETE FROM reminders`); err != nil {
			b.Fatal(err)
		}
		startMu.Lock()
		start = time.Time{}
		startMu.Unlock()
		// Baseline: the bare Redis operations, one member at a time.
		key := f.prefix + "baseline"
		t0 := time.Now()
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
		baseline = time.Since(t0)

		// The month's own reminders are not part of the measurement.
		today := cases.DateOf(nine)
		for _, m := range []cases.Date{today, cases.NewDate(today.Year, today.Month+1, 1)} {
			if _, err := notify.PlanMonth(ctx, f.db, m); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := f.db.Exec(`UPDATE reminders SET state = 'cancelled'`); err != nil {
			b.Fatal(err)
		}
		if digested {
			rs := make([]cases.Reminder, len(cs))
			day := cases.DateOf(nine)
			for j, c := range cs {
				rs[j] = cases.Reminder{Key: fmt.Sprintf("bench:%d", c.ID), Kind: cases.RemindCaseDue, CaseID: c.ID,
					Township: c.Township, Target: cases.TargetGroup(c.Township), Day: day, At: nine}
			}
			if err := f.db.PlanReminders(ctx, rs); err != nil {
				b.Fatal(err)
			}
		} else {
			_, err = f.db.Exec(`
				INSERT INTO reminders (key, kind, case_id, township_id, target, due_at)
				SELECT 'bench:' || c.id, 'case_due', c.id, c.township_id, 'group:' || t.name, $1
				FROM cases c JOIN townships t ON t.id = c.township_id`, nine)
			if err != nil {
				b.Fatal(err)
			}
		}
		// By 09:00 the reminders are in Redis: planned days before, scheduled since.
		timed := &timedStore{DB: f.db, committed: map[string]time.Time{}}
		w1 := &notify.Worker{DB: timed, Redis: f.redis, Prefix: f.prefix, Sender: f.sender, Now: clock}
		w2 := &notify.Worker{DB: timed, Redis: f.redis, Prefix: f.prefix, Sender: f.sender, Now: clock}
		// Planned days before, the rows have been analyzed by autovacuum by now.
		if _, err := f.db.Exec(`ANALYZE reminders; ANALYZE cases`); err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		if err := w1.Start(ctx); err != nil {
			b.Fatal(err)
		}
		scheduling = time.Since(t0)

		b.StartTimer()
		startMu.Lock()
		start = time.Now()
		startMu.Unlock()
		var wg sync.WaitGroup
		for _, wk := range []*notify.Worker{w1, w2} {
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
		lags, messages = benchCheck(b, f, timed, n, digested, start)
		b.StartTimer()
	}
	slices.Sort(lags)
	pct := func(p float64) float64 {
		return float64(lags[min(len(lags)-1, int(p*float64(len(lags))))].Microseconds()) / 1000
	}
	rate, base := float64(n)/ours.Seconds(), float64(n)/baseline.Seconds()
	b.ReportMetric(rate, "reminders/s")
	b.ReportMetric(base, "baseline_items/s")
	b.ReportMetric(rate/base, "ratio")
	b.ReportMetric(pct(0.5), "lag_p50_ms")
	b.ReportMetric(pct(0.99), "lag_p99_ms")
	b.ReportMetric(pct(1), "lag_max_ms")
	b.ReportMetric(float64(messages), "messages")
	b.ReportMetric(scheduling.Seconds(), "schedule_s")
	b.Logf("%d reminders (digested %v): claim→outbox %v (%d messages), ZADD/ZPOPMIN loop %v, ratio %.3f; lag p50 %.0f ms, p99 %.0f ms, max %.0f ms; scheduling beforehand %v",
		n, digested, ours, messages, baseline, rate/base, pct(0.5), pct(0.99), pct(1), scheduling)
}

// benchCheck verifies that every reminder was sent exactly once, in its own message or its
// township's digest, and returns each reminder's lag from 09:00 to the commit that queued
// its message.
func benchCheck(b *testing.B, f *fixture, timed *timedStore, n int, digested bool, start time.Time) ([]time.Duration, int) {
	var sent, messages, doubled int
	sent = pgtest.Count(b, f.db, `SELECT count(*) FROM reminders WHERE key LIKE 'bench:%' AND state = 'sent'`)
	messages = pgtest.Count(b, f.db, `SELECT count(*) FROM outbox`)
	doubled = pgtest.Count(b, f.db, `SELECT count(*) FROM (SELECT idem_key FROM outbox GROUP BY idem_key HAVING count(*) > 1) x`)
	want := n
	if digested {
		want = benchTownships
	}
	if sent != n || messages != want || doubled != 0 {
		b.Fatalf("%d of %d reminders sent, %d messages queued (want %d), %d doubled", sent, n, messages, want, doubled)
	}
	// the message that carried each reminder: its own, or its township's digest
	var carriers []string
	q := `SELECT 'reminder:' || r.id FROM reminders r WHERE r.key LIKE 'bench:%'`
	if digested {
		q = `SELECT 'reminder:' || d.id FROM reminders r
			JOIN reminders d ON d.key = 'digest:' || r.target || ':' || to_char(r.due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')
			WHERE r.key LIKE 'bench:%' AND d.state = 'sent'`
	}
	if err := f.db.Select(&carriers, q); err != nil {
		b.Fatal(err)
	}
	timed.mu.Lock()
	defer timed.mu.Unlock()
	lags := make([]time.Duration, 0, len(carriers))
	for _, k := range carriers {
		at, ok := timed.committed[k]
		if !ok {
			b.Fatalf("%s: no commit seen", k)
		}
		lags = append(lags, at.Sub(start))
	}
	if len(lags) != n {
		b.Fatalf("%d reminders with a carrier, want %d", len(lags), n)
	}
	return lags, messages
}

// timedStore is the real store, noting when each claim→fire transaction committed and which
// messages it queued: the lag a township sees ends at that commit, not when it began.
type timedStore struct {
	*postgres.DB
	mu        sync.Mutex
	committed map[string]time.Time
}

type queuedKey struct{}

func (s *timedStore) FireReminders(ctx context.Context, ids []int64, now time.Time, fire cases.FireFunc) error {
	var keys []string
	ctx = context.WithValue(ctx, queuedKey{}, &keys)
	if err := s.DB.FireReminders(ctx, ids, now, fire); err != nil {
		return err
	}
	at := time.Now()
	s.mu.Lock()
	for _, k := range keys {
		s.committed[k] = at
	}
	s.mu.Unlock()
	return nil
}

// noteQueued records the keys a transaction queued, for timedStore.
func noteQueued(ctx context.Context, ds []notify.Delivery) {
	if keys, ok := ctx.Value(queuedKey{}).(*[]string); ok {
		for _, d := range ds {
			*keys = append(*keys, d.Key)
		}
	}
}

func redisZ(j int) redis.Z { return redis.Z{Score: float64(j), Member: strconv.Itoa(j)} }
