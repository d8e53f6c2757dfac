package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// inboxState returns the state and attempts of the row with key.
func inboxState(t *testing.T, h *harness, key string) (state string, attempts int, lastErr string) {
	t.Helper()
	err := h.DB.QueryRow(`SELECT state, attempts, last_error FROM inbox WHERE key = $1`, key).Scan(&state, &attempts, &lastErr)
	if err != nil {
		t.Fatalf("inbox row %s: %v", key, err)
	}
	return state, attempts, lastErr
}

// inboxSettled waits until no inbox row is pending (every message handled, or failed).
func inboxSettled(t *testing.T, h *harness) {
	t.Helper()
	waitFor(t, func() bool {
		var left int
		if err := h.DB.Get(&left, `SELECT count(*) FROM inbox WHERE state = 'pending'`); err != nil {
			t.Fatal(err)
		}
		return left == 0
	})
}

// serveInbox serves the app callback into in, without running its worker.
func serveInbox(t *testing.T, h *harness, in *bot.Inbox) string {
	srv := httptest.NewServer(bot.NewAppCallback(h.Sim.AppCrypto(), h.Sim.CorpID, in, h.Log, h.Metrics))
	t.Cleanup(srv.Close)
	t.Cleanup(in.Close)
	return srv.URL
}

// runInbox runs in's worker until the test ends or the returned stop is called.
func runInbox(t *testing.T, in *bot.Inbox) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); in.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-ran }) }
	t.Cleanup(stop)
	return stop
}

// A process killed after answering 200 but before handling loses nothing: the message was
// committed before the answer, and the next process handles it, once.
func TestInboxAnsweredCallbackSurvivesKillBeforeHandling(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := &recorder{}
	in1 := h.inbox(first)
	url1 := serveInbox(t, h, in1) // no worker: killed before handling

	q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "待办", "8001", time.Now()))
	if code := post(t, url1, q, body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	// Committed before the answer: no waiting here.
	if st, _, _ := inboxState(t, h, "app:8001"); st != "pending" {
		t.Fatalf("after the 200 the inbox row is %q, want pending", st)
	}
	var text string
	if err := h.DB.Get(&text, `SELECT payload->>'Text' FROM inbox WHERE key = 'app:8001'`); err != nil || text != "待办" {
		t.Fatalf("payload text %q, %v", text, err)
	}

	// A new process on the same database; WeCom's retry of the same callback also lands.
	second := &recorder{}
	in2 := h.inbox(second)
	url2 := serveInbox(t, h, in2)
	stop2 := runInbox(t, in2)
	if code := post(t, url2, q, body); code != http.StatusOK {
		t.Fatalf("retry: status %d", code)
	}
	waitFor(t, func() bool { st, _, _ := inboxState(t, h, "app:8001"); return st == "done" })
	stop2() // lets its handlers finish: nothing can run after this
	if st, n, _ := inboxState(t, h, "app:8001"); first.count() != 0 || second.count() != 1 || n != 1 {
		t.Errorf("handled %d + %d times, claimed %d times (%s), want 0 + 1, once", first.count(), second.count(), n, st)
	}
	if m := second.msgs[0]; m.Text != "待办" || m.UserID != "zhangsan" || m.Source != bot.FromApp || m.At.IsZero() {
		t.Errorf("handled message %+v", m)
	}
}

// A worker killed while the handler runs: another instance takes the message after the
// lease and handles it once.
func TestInboxClaimOfKilledWorkerIsRetriedAfterLease(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	hung := bot.HandlerFunc(func(ctx context.Context, m bot.Message) {
		started <- struct{}{}
		<-release // the process dies here
	})
	in1 := h.inbox(hung)
	in1.Lease = 500 * time.Millisecond
	in1.Abruptly()
	url := serveInbox(t, h, in1)
	kill := runInbox(t, in1)
	q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", "8101", time.Now()))
	if code := post(t, url, q, body); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	<-started
	kill()
	if st, n, _ := inboxState(t, h, "app:8101"); st != "pending" || n != 1 {
		t.Fatalf("after the kill: %s, %d attempts", st, n)
	}
	rec := &recorder{}
	in2 := h.inbox(rec)
	t.Cleanup(in2.Close)
	stop2 := runInbox(t, in2)
	waitFor(t, func() bool { st, _, _ := inboxState(t, h, "app:8101"); return st == "done" })
	stop2()
	if _, n, _ := inboxState(t, h, "app:8101"); rec.count() != 1 || n != 2 {
		t.Errorf("handled %d times after the lease, claimed %d times in all; want 1, and 2 (the killed one's and this)", rec.count(), n)
	}
}

// The same callback arriving many times at once (one commit batch or several) is
// acknowledged every time and handled once.
func TestInboxConcurrentCopiesHandledOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := &recorder{}
	in := h.inbox(rec)
	url := serveInbox(t, h, in)
	stop := runInbox(t, in)
	q, body := h.Sim.SealApp(h.Sim.TextXML("lisi", "帮助", "8201", time.Now()))
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if post(t, url, q, body) != http.StatusOK {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 {
		t.Errorf("%d copies were not acknowledged", bad.Load())
	}
	inboxSettled(t, h)
	stop()
	if _, n, _ := inboxState(t, h, "app:8201"); rec.count() != 1 || n != 1 || dedupRows(t, h) != 1 {
		t.Errorf("handled %d times, claimed %d times, %d rows; want 1, 1, 1", rec.count(), n, dedupRows(t, h))
	}
}

// Two instances on one database handle every message once between them.
func TestInboxTwoWorkersHandleEachOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var mu sync.Mutex
	seen := map[string]int{}
	var per [2]atomic.Int32
	handler := func(i int) bot.Handler {
		return bot.HandlerFunc(func(_ context.Context, m bot.Message) {
			time.Sleep(time.Millisecond)
			per[i].Add(1)
			mu.Lock()
			seen[m.ID]++
			mu.Unlock()
		})
	}
	a, b := h.inbox(handler(0)), h.inbox(handler(1))
	a.Limit, b.Limit = 4, 4
	urlA, urlB := serveInbox(t, h, a), serveInbox(t, h, b)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", fmt.Sprint(8300+i), time.Now()))
			target := urlA
			if i%2 == 1 {
				target = urlB
			}
			if code := post(t, target, q, body); code != http.StatusOK {
				t.Errorf("callback %d: status %d", i, code)
			}
		}()
	}
	wg.Wait()
	runInbox(t, a)
	runInbox(t, b)
	waitFor(t, func() bool {
		var left int
		left = pgtest.Count(t, h.DB, `SELECT count(*) FROM inbox WHERE state <> 'done'`)
		return left == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("handled %d distinct messages, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("message %s handled %d times", k, c)
		}
	}
	t.Logf("worker A handled %d, worker B %d", per[0].Load(), per[1].Load())
}

// With the database down, no callback is acknowledged (WeCom retries) and nothing is
// handled.
func TestInboxDatabaseDownAnswers5xx(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dead, err := sqlx.Open("postgres", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	rec := &recorder{}
	in := bot.NewInbox(pgqueue.New(dead), rec, h.Log, h.Metrics)
	in.Poll = 20 * time.Millisecond
	url := serveInbox(t, h, in)
	stop := runInbox(t, in)
	q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", "8401", time.Now()))
	if code := post(t, url, q, body); code < 500 {
		t.Errorf("status %d with the database down, want 5xx", code)
	}
	stop()
	if rec.count() != 0 {
		t.Errorf("handler ran %d times", rec.count())
	}
}

// A handler that panics is retried; one that keeps failing ends as failed with its error
// kept (ID numbers masked), and the others are not held up.
func TestInboxHandlerPanicRetriedThenFailed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var calls sync.Map
	handler := bot.HandlerFunc(func(_ context.Context, m bot.Message) {
		n, _ := calls.LoadOrStore(m.ID, new(atomic.Int32))
		c := n.(*atomic.Int32).Add(1)
		switch {
		case m.Text == "always":
			panic("boom for 110101199003074477")
		case m.Text == "once" && c == 1:
			panic("first time")
		}
	})
	in := h.inbox(handler)
	in.MaxAttempts = 3
	url := serveInbox(t, h, in)
	runInbox(t, in)
	for i, text := range []string{"always", "once", "fine"} {
		q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", text, fmt.Sprint(8500+i), time.Now()))
		if code := post(t, url, q, body); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	}
	waitFor(t, func() bool {
		var left int
		left = pgtest.Count(t, h.DB, `SELECT count(*) FROM inbox WHERE state = 'pending'`)
		return left == 0
	})
	st, n, lastErr := inboxState(t, h, "app:8500")
	if st != "failed" || n != 3 || !strings.Contains(lastErr, "boom for 110101********4477") {
		t.Errorf("always panicking: %s after %d attempts, last error %.80q", st, n, lastErr)
	}
	if st, n, _ := inboxState(t, h, "app:8501"); st != "done" || n != 2 {
		t.Errorf("panicking once: %s after %d attempts, want done after 2", st, n)
	}
	if st, n, _ := inboxState(t, h, "app:8502"); st != "done" || n != 1 {
		t.Errorf("fine: %s after %d attempts", st, n)
	}
}

// Pruning forgets old handled rows and never a pending one.
func TestPruneInboxKeepsPending(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	_, err := h.DB.Exec(`INSERT INTO inbox (key, state, received_at) VALUES
		('old-done', 'done', now() - interval '8 days'), ('old-pending', 'pending', now() - interval '8 days'),
		('new-done', 'done', now())`)
	if err != nil {
		t.Fatal(err)
	}
	n, err := pgqueue.PruneInbox(context.Background(), h.DB, 7*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	var keys []string
	if err := h.DB.Select(&keys, `SELECT key FROM inbox ORDER BY key`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "new-done,old-pending" {
		t.Errorf("left %v", keys)
	}
}

// lockInbox holds an exclusive lock on the inbox table (as a long statement or a stalled
// disk would), so that the group commit waits; release lets it go.
func lockInbox(t *testing.T, h *harness) (release func()) {
	t.Helper()
	tx, err := h.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE inbox IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// waitLockWaiters waits until a statement of the test's database waits for a lock.
func waitLockWaiters(t *testing.T, h *harness) {
	t.Helper()
	waitFor(t, func() bool {
		var n int
		n = pgtest.Count(t, h.DB, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		return n > 0
	})
}

// postAll posts every callback at once and returns their statuses.
func postAll(t *testing.T, url string, reqs [][2]any) []int {
	codes := make([]int, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = post(t, url, r[0].(neturl.Values), r[1].([]byte))
		}()
	}
	wg.Wait()
	return codes
}

// sealed makes n distinct callbacks and copies of one more, all from zhangsan.
func sealed(h *harness, first, n, copies int) [][2]any {
	var reqs [][2]any
	for i := range n {
		q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", fmt.Sprint(first+i), time.Now()))
		reqs = append(reqs, [2]any{q, body})
	}
	q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", fmt.Sprint(first+n), time.Now()))
	for range copies {
		reqs = append(reqs, [2]any{q, body})
	}
	return reqs
}

// commitsSoFar reads the inbox's group commits from its metrics: how many, and the
// callbacks they carried.
func commitsSoFar(t *testing.T, reg *prometheus.Registry) (commits, callbacks float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "fangpin_inbox_commit_seconds":
				commits = float64(m.GetHistogram().GetSampleCount())
			case "fangpin_inbox_commit_callbacks_total":
				callbacks = m.GetCounter().GetValue()
			}
		}
	}
	return commits, callbacks
}

// Callbacks arriving while a commit is in flight wait for it and then go into the next
// commit together, without a timer: 40 callbacks held up by one slow commit take a few
// commits, not 40. Ten copies of one message in the same group are stored once and
// handled once, and every copy is acknowledged.
func TestInboxGroupCommitTakesWhatArrivedMeanwhile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := &recorder{}
	in := h.inbox(rec)
	reg := prometheus.NewRegistry()
	in.Metrics = bot.NewMetrics(reg, nil)
	url := serveInbox(t, h, in)
	release := lockInbox(t, h)

	reqs := sealed(h, 8600, 30, 10)
	codes := make([]int, len(reqs))
	var answered atomic.Int32
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = post(t, url, r[0].(neturl.Values), r[1].([]byte))
			answered.Add(1)
		}()
	}
	waitLockWaiters(t, h) // the first commit waits; the others queue up behind it
	// None is answered while its commit waits.
	if got, _ := commitsSoFar(t, reg); got != 0 || answered.Load() != 0 {
		t.Fatalf("%v commits done, %d callbacks answered while the table was locked", got, answered.Load())
	}
	release()
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("callback %d: status %d, want 200", i, c)
		}
	}
	commits, carried := commitsSoFar(t, reg)
	t.Logf("%d callbacks in %v commits", len(reqs), commits)
	if carried != float64(len(reqs)) || commits > 5 {
		t.Errorf("%v callbacks in %v commits: want all %d in a few", carried, commits, len(reqs))
	}
	if n := dedupRows(t, h); n != 31 {
		t.Errorf("%d inbox rows, want 31 (the copies once)", n)
	}
	stop := runInbox(t, in)
	inboxSettled(t, h)
	stop()
	var claims []int
	if err := h.DB.Select(&claims, `SELECT DISTINCT attempts FROM inbox`); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 31 || fmt.Sprint(claims) != "[1]" {
		t.Errorf("handled %d messages, claimed %v times; want 31, each once", rec.count(), claims)
	}
}

// A group commit that fails fails every callback waiting for it (503: WeCom retries) and
// stores none of them; the retries are then stored and handled once each.
func TestInboxFailedGroupCommitFailsEveryWaiter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rec := &recorder{}
	in := h.inbox(rec)
	in.CommitTimeout = 300 * time.Millisecond
	url := serveInbox(t, h, in)
	release := lockInbox(t, h)

	reqs := sealed(h, 8700, 15, 5)
	codes := postAll(t, url, reqs) // each commit times out behind the lock
	for i, c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("callback %d: status %d while its commit failed, want 503", i, c)
		}
	}
	release()
	if n := dedupRows(t, h); n != 0 {
		t.Fatalf("%d inbox rows after the failed commits, want none", n)
	}
	// WeCom retries each.
	for i, c := range postAll(t, url, reqs) {
		if c != http.StatusOK {
			t.Errorf("retry of callback %d: status %d, want 200", i, c)
		}
	}
	if n := dedupRows(t, h); n != 16 {
		t.Errorf("%d inbox rows after the retries, want 16", n)
	}
	stop := runInbox(t, in)
	inboxSettled(t, h)
	stop()
	var claims []int
	if err := h.DB.Select(&claims, `SELECT DISTINCT attempts FROM inbox`); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 16 || fmt.Sprint(claims) != "[1]" {
		t.Errorf("handled %d messages, claimed %v times; want 16, each once", rec.count(), claims)
	}
}
