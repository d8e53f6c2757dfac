package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// While Postgres is down, callbacks (and WeCom's retries of them) still get their 200:
// they are fsynced to the local spool, once per message id. When the database is back
// the spool drains into the inbox, each message is handled once — also one whose commit
// had landed after all — and the spool is left empty.
func TestSpoolKeepsCallbacksThroughADatabaseOutage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	down, err := sqlx.Open("postgres", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	dir := t.TempDir()
	spool := &bot.Spool{Dir: dir, Log: h.Log}
	outage := h.inbox(&recorder{})
	outage.Store = pgqueue.New(down)
	cb := bot.NewAppCallback(h.Sim.AppCrypto(), h.Sim.CorpID, outage, h.Log, h.Metrics)
	cb.Spool = spool
	srv := httptest.NewServer(cb)
	defer srv.Close()
	defer outage.Close()

	const n = 5
	for i := range n {
		q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", fmt.Sprintf("待办 %d", i), fmt.Sprint(9000+i), time.Now()))
		for try := range 3 { // WeCom's three tries
			if code := post(t, srv.URL, q, body); code != http.StatusOK {
				t.Fatalf("message %d try %d: status %d during the outage, want 200 (spooled)", i, try, code)
			}
		}
	}
	if got := spool.Len(); got != n {
		t.Fatalf("spool holds %d messages, want %d (one per message id)", got, n)
	}
	var rows int
	rows = pgtest.Count(t, h.DB, `SELECT count(*) FROM inbox`)
	if rows != 0 {
		t.Fatalf("%d inbox rows during the outage", rows)
	}

	// One message's commit had landed after all (the answer to the commit was lost).
	rec := &recorder{}
	back := h.inbox(rec)
	t.Cleanup(back.Close)
	if _, err := back.Accept(context.Background(), bot.Message{ID: "app:9002", Source: bot.FromApp, UserID: "zhangsan", Text: "待办 2"}); err != nil {
		t.Fatal(err)
	}
	// The database is back: a fresh spool on the same directory (as after a restart) drains.
	again := &bot.Spool{Dir: dir, Log: h.Log}
	moved, err := again.Drain(context.Background(), back)
	if err != nil || moved != n {
		t.Fatalf("drained %d, %v; want %d", moved, err, n)
	}
	stop := runInbox(t, back)
	inboxSettled(t, h)
	stop()
	var claims []int
	if err := h.DB.Select(&claims, `SELECT attempts FROM inbox ORDER BY key`); err != nil {
		t.Fatal(err)
	}
	if rec.count() != n || fmt.Sprint(claims) != "[1 1 1 1 1]" {
		t.Errorf("handled %d messages, claimed %v times; want %d, each once", rec.count(), claims, n)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("spool not empty after draining: %d files", len(left))
	}
}

// The spool is bounded: when full, the callback gets 503 (WeCom retries) rather than the
// disk filling up.
func TestSpoolIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	down, _ := sqlx.Open("postgres", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	defer down.Close()
	spool := &bot.Spool{Dir: t.TempDir(), MaxBytes: 700}
	outage := h.inbox(&recorder{})
	outage.Store = pgqueue.New(down)
	cb := bot.NewAppCallback(h.Sim.AppCrypto(), h.Sim.CorpID, outage, h.Log, h.Metrics)
	cb.Spool = spool
	srv := httptest.NewServer(cb)
	defer srv.Close()
	defer outage.Close()
	var codes []int
	for i := range 4 {
		q, body := h.Sim.SealApp(h.Sim.TextXML("zhangsan", "待办", fmt.Sprint(9100+i), time.Now()))
		codes = append(codes, post(t, srv.URL, q, body))
	}
	if codes[0] != http.StatusOK || codes[3] != http.StatusServiceUnavailable {
		t.Errorf("statuses %v: want 200 first, 503 once the spool is full", codes)
	}
	if spool.Len() == 4 {
		t.Error("the spool took more than its limit")
	}
}
