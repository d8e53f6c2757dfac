package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/notify"
	"github.com/fangpin/fangpin/notify/botsend"
)

// dyingSender is a worker's outbox that dies in the middle of a claim: transactions pass
// until one with many messages (not a lone digest) has committed; the next one to hand it
// messages dies with the worker, which never tells Redis what became of its claim.
type dyingSender struct {
	mu        sync.Mutex
	many      []string      // the keys of the first transaction with many messages
	manyDone  chan struct{} // closed once it was handed over
	committed func(key string) bool
	kill      context.CancelFunc
	lost      []string // keys of the transactions that died
}

var errDied = errors.New("worker died")

func (s *dyingSender) Send(ctx context.Context, tx cases.Tx, ds ...notify.Delivery) error {
	var keys []string
	for _, d := range ds {
		keys = append(keys, d.Key)
	}
	s.mu.Lock()
	if s.many == nil {
		if len(ds) > 1 {
			s.many = keys
			defer close(s.manyDone)
		}
		s.mu.Unlock()
		return botsend.Outbox{}.Send(ctx, tx, ds...)
	}
	s.lost = append(s.lost, keys...)
	s.mu.Unlock()
	<-s.manyDone
	for deadline := time.Now().Add(10 * time.Second); !s.committed(s.many[0]) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	s.kill()
	return errDied
}

// TestBatchCrashSendsEachOnce: a worker claims every due reminder at once and dies in the
// middle of firing them, a transaction of many messages committed, the next one not, its
// claim never released. Every reminder of that claim is then either sent once (or cancelled) or
// still due. When
// the lease has ended two live workers, whose leases are so short that each keeps taking
// over the other's claims while they are being fired, send the rest: each reminder once,
// nothing of the dead worker's committed half again.
func TestBatchCrashSendsEachOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	day := cases.MustDate("2026-11-10")
	f.clock.Set(day.At(10, 0))
	for i := 0; i < 24; i++ {
		town := []string{"城关镇", "河口乡"}[i%2]
		f.dispatch("2026-11", town, fmt.Sprintf("张小%c", '甲'+rune(i)), fmt.Sprintf("H%d", i), day)
	}
	if err := f.worker().Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The first overdue day: the case reminders of five days (in each day's digest, one a
	// township), the overdue ones, an escalation a case to the office, the month's own.
	first := f.db.Cal.AddWorkingDays(f.db.Cal.AddWorkingDays(day, 20), 1)
	f.clock.Set(first.At(9, 0))

	wctx, kill := context.WithCancel(ctx)
	dying := &dyingSender{manyDone: make(chan struct{}), kill: kill, committed: func(key string) bool {
		var n int
		n = pgtest.Count(t, f.db, `SELECT count(*) FROM outbox WHERE idem_key = $1`, key)
		return n > 0
	}}
	dead := &notify.Worker{DB: f.db, Redis: f.redis, Prefix: f.prefix, Sender: dying, Now: f.clock.Now, Batch: 1000, Parallel: 2}
	if _, err := dead.Tick(wctx); err == nil {
		t.Fatal("the dying worker finished its batch")
	}
	claimed, err := f.redis.ZRange(ctx, f.prefix+"inflight", 0, -1).Result()
	if err != nil || len(claimed) == 0 {
		t.Fatalf("the dead worker holds no claim (%v)", err)
	}
	committed, lost := dying.many, dying.lost
	if len(committed) < 2 || len(lost) < 2 {
		t.Fatalf("committed %d, lost %d messages: the batch was not cut in the middle", len(committed), len(lost))
	}
	type state struct {
		Key   string `db:"key"`
		State string `db:"state"`
		N     int    `db:"n"`
	}
	states := func(ids []string) map[string]state {
		var rows []state
		err := f.db.Select(&rows, `SELECT 'reminder:' || r.id AS key, r.state, (SELECT count(*) FROM outbox o WHERE o.idem_key = 'reminder:' || r.id) AS n
			FROM reminders r WHERE r.id::text = ANY($1)`, pq.Array(ids))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]state{}
		for _, r := range rows {
			out[r.Key] = r
		}
		return out
	}
	// Right after the crash: every claimed reminder sent once (in a digest: no message of its
	// own), cancelled (its reason had gone) or still due.
	for _, s := range states(claimed) {
		if !(s.State == "sent" && s.N <= 1) && !(s.State != "sent" && s.N == 0) {
			t.Errorf("after the crash %s is %s with %d messages", s.Key, s.State, s.N)
		}
	}
	idOf := func(keys []string) []string {
		var ids []string
		for _, k := range keys {
			ids = append(ids, k[len("reminder:"):])
		}
		return ids
	}
	for k, s := range states(idOf(committed)) {
		if s.State != "sent" || s.N != 1 {
			t.Errorf("%s of the committed transaction: %s, %d messages", k, s.State, s.N)
		}
	}
	for k, s := range states(idOf(lost)) {
		if s.State != "pending" || s.N != 0 {
			t.Errorf("%s of a lost transaction: %s, %d messages", k, s.State, s.N)
		}
	}

	// The lease ends; two workers take over each other's claims all the time.
	f.clock.Set(first.At(9, 6))
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		w := &notify.Worker{DB: f.db, Redis: f.redis, Prefix: f.prefix, Sender: f.sender, Now: f.clock.Now,
			Batch: 7, Parallel: 2, Lease: time.Nanosecond}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Tick(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var due int
	due = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE state = 'pending' AND due_at <= $1`, f.clock.Now())
	if due != 0 {
		t.Errorf("%d reminders still due", due)
	}
	for _, k := range committed {
		if f.sender.calls[k] != 0 {
			t.Errorf("%s, committed by the dead worker, sent again %d times", k, f.sender.calls[k])
		}
	}
	for _, k := range lost {
		if f.sender.calls[k] != 1 {
			t.Errorf("%s, lost with the dead worker, sent %d times since", k, f.sender.calls[k])
		}
	}
	for k, n := range f.sender.calls {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
	var doubled, sentRows, messages int
	doubled = pgtest.Count(t, f.db, `SELECT count(*) FROM (SELECT idem_key FROM outbox GROUP BY idem_key HAVING count(*) > 1) x`)
	sentRows = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE state = 'sent' AND kind NOT IN ('case_due', 'case_overdue', 'month_end')`)
	messages = pgtest.Count(t, f.db, `SELECT count(*) FROM outbox WHERE idem_key LIKE 'reminder:%'`)
	if doubled != 0 || messages != sentRows {
		t.Errorf("%d messages for %d reminders sent on their own or as digests, %d doubled", messages, sentRows, doubled)
	}
	// Each township's digest went out once, carrying its cases' reminders of today; the
	// advance reminders of the days the clock skipped are not sent late (docs/reminders.md).
	var digests, carried, missed, caseRows int
	digests = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE kind = 'digest' AND state = 'sent'`)
	carried = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE kind IN ('case_due', 'case_overdue') AND state = 'sent'`)
	missed = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE kind = 'case_due' AND state = 'cancelled'
		AND due_at < $1 AND note LIKE '错过了提醒的日期%'`, first.At(0, 0))
	caseRows = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE kind IN ('case_due', 'case_overdue') AND due_at <= $1`, f.clock.Now())
	if digests == 0 || carried != 24 || carried+missed != caseRows {
		t.Errorf("%d digests sent carrying %d case reminders (want each case's overdue one, 24), %d missed, of %d due", digests, carried, missed, caseRows)
	}
	t.Logf("dead worker: %d claimed, %d messages committed, %d lost; then %d messages, %d digests", len(claimed), len(committed), len(lost), messages, digests)
}
