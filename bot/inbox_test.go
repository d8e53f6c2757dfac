package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
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
	runInbox(t, in2)
	if code := post(t, url2, q, body); code != http.StatusOK {
		t.Fatalf("retry: status %d", code)
	}
	waitFor(t, func() bool { return second.count() == 1 })
	waitFor(t, func() bool { st, _, _ := inboxState(t, h, "app:8001"); return st == "done" })
	time.Sleep(100 * time.Millisecond)
	if first.count() != 0 || second.count() != 1 {
		t.Errorf("handled %d + %d times, want 0 + 1", first.count(), second.count())
	}
	if m := second.msgs[0]; m.Text != "待办" || m.UserID != "zhangsan" || m.Source != bot.FromApp || m.At.IsZero() {
		t.Errorf("handled message %+v", m)
	}
}

// A worker killed while the handler runs: another instance takes the message after the
// lease and handles it once.
func TestInboxClaimOfKilledWorkerIsRetriedAfterLease(t *testing.T) {
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
	runInbox(t, in2)
	waitFor(t, func() bool { return rec.count() == 1 })
	waitFor(t, func() bool { st, _, _ := inboxState(t, h, "app:8101"); return st == "done" })
	time.Sleep(100 * time.Millisecond)
	if rec.count() != 1 {
		t.Errorf("handled %d times after the lease, want 1", rec.count())
	}
}

// The same callback arriving many times at once (one commit batch or several) is
// acknowledged every time and handled once.
func TestInboxConcurrentCopiesHandledOnce(t *testing.T) {
	h := newHarness(t)
	rec := &recorder{}
	in := h.inbox(rec)
	url := serveInbox(t, h, in)
	runInbox(t, in)
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
	waitFor(t, func() bool { return rec.count() == 1 })
	time.Sleep(150 * time.Millisecond)
	if rec.count() != 1 {
		t.Errorf("handled %d times, want 1", rec.count())
	}
}

// Two instances on one database handle every message once between them.
func TestInboxTwoWorkersHandleEachOnce(t *testing.T) {
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
		h.DB.Get(&left, `SELECT count(*) FROM inbox WHERE state <> 'done'`)
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
	runInbox(t, in)
	q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "帮助", "8401", time.Now()))
	if code := post(t, url, q, body); code < 500 {
		t.Errorf("status %d with the database down, want 5xx", code)
	}
	time.Sleep(100 * time.Millisecond)
	if rec.count() != 0 {
		t.Errorf("handler ran %d times", rec.count())
	}
}

// A handler that panics is retried; one that keeps failing ends as failed with its error
// kept (ID numbers masked), and the others are not held up.
func TestInboxHandlerPanicRetriedThenFailed(t *testing.T) {
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
		h.DB.Get(&left, `SELECT count(*) FROM inbox WHERE state = 'pending'`)
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
	h.DB.Select(&keys, `SELECT key FROM inbox ORDER BY key`)
	if strings.Join(keys, ",") != "new-done,old-pending" {
		t.Errorf("left %v", keys)
	}
}
