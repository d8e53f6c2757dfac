package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Inbox is the durable inbox of callbacks (its Store: bot/pgqueue's table inbox). Accept commits a parsed message
// before the callback is answered, so a process killed after the 200 loses nothing (WeCom
// never resends an acknowledged callback); Run hands pending messages to the Handler and
// marks them done. Any number of instances may share the table: Accept dedups on the key
// (the primary key), and workers claim rows with FOR UPDATE SKIP LOCKED and a lease, so a
// crashed instance's rows come back when the lease ends.
//
// Delivery is at least once: a message whose handler finished but whose "done" was not
// yet recorded when the process died is handled again. Handlers must tolerate a repeat;
// the router does by deriving its reply's outbox key from the message id (see
// handlers.ReplyTo), so the repeated reply is not queued twice.
type Inbox struct {
	Store   InboxStore
	Handler Handler
	Log     *slog.Logger
	Metrics *Metrics

	// Accepting (group commit: see commitLoop).
	MaxBatch      int           // rows per commit (default 500)
	CommitTimeout time.Duration // then the callback gets 503 and WeCom retries (default 3 s, under WeCom's 5 s)

	// Handling.
	Limit       int           // handlers running at once (default 4)
	Poll        time.Duration // look for due rows this often when not nudged (default 1 s)
	Lease       time.Duration // a claimed row stays ours this long (default 2 min); handlers get 90% of it
	MaxAttempts int           // then the row is failed, its last error kept (default 5)
	Backoff     func(attempt int) time.Duration
	// abrupt makes cancelling Run behave like a killed process (set by the tests through export_test.go): running handlers
	// are abandoned and nothing more is recorded. Otherwise they finish first.
	abrupt bool

	once   sync.Once
	reqs   chan *acceptReq
	nudge  chan struct{}
	mu     sync.RWMutex
	closed bool
	cwg    sync.WaitGroup // the committer

	// ready are the keys this process committed and its worker has not claimed yet: they
	// are claimed by key, without a scan of the table, which until it is vacuumed steps
	// over every row handled since (see Run).
	readyMu sync.Mutex
	ready   []string
	rescan  atomic.Bool // Nudge: scan at once rather than at the next Poll

	accepting atomic.Int64 // callbacks waiting for their commit
}

// maxReady bounds the keys kept for the worker; the rows beyond are found by its scan.
const maxReady = 10000

// NewInbox returns an inbox on store whose worker hands messages to h.
func NewInbox(store InboxStore, h Handler, log *slog.Logger, m *Metrics) *Inbox {
	return &Inbox{Store: store, Handler: h, Log: log, Metrics: m}
}

// FallibleHandler is a Handler that can say its work failed and is worth retrying (for
// instance, the reply could not be queued). The inbox retries it like a panic.
type FallibleHandler interface {
	HandleMessageErr(ctx context.Context, m Message) error
}

// ErrInboxClosed is returned by Accept after Close.
var ErrInboxClosed = errors.New("inbox closed")

type acceptReq struct {
	key     string
	source  string
	payload []byte
	done    chan acceptRes
}

type acceptRes struct {
	fresh bool
	err   error
}

func (in *Inbox) log() *slog.Logger {
	if in.Log == nil {
		return slog.Default()
	}
	return in.Log
}

func (in *Inbox) init() {
	in.once.Do(func() {
		in.reqs = make(chan *acceptReq, 4096)
		in.nudge = make(chan struct{}, 1)
		in.cwg.Add(1)
		go in.commitLoop()
	})
}

// Accept records m durably and reports whether it was new (false: a retry or replay of a
// message already in the inbox). It returns only once the row is committed, or with an
// error, in which case the callback must not be acknowledged.
func (in *Inbox) Accept(ctx context.Context, m Message) (bool, error) {
	in.init()
	m = scrub(m)
	payload, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("inbox: encode message: %w", err)
	}
	r := &acceptReq{key: m.ID, source: string(m.Source), payload: payload, done: make(chan acceptRes, 1)}
	in.mu.RLock()
	if in.closed {
		in.mu.RUnlock()
		return false, ErrInboxClosed
	}
	select {
	case in.reqs <- r:
	default:
		in.mu.RUnlock()
		return false, errors.New("inbox: too many callbacks waiting for a commit")
	}
	in.accepting.Add(1)
	defer in.accepting.Add(-1)
	in.mu.RUnlock()
	select {
	case res := <-r.done:
		return res.fresh, res.err
	case <-ctx.Done():
		// The batch may still commit; WeCom's retry is then a duplicate and gets 200.
		return false, fmt.Errorf("inbox: %w", ctx.Err())
	}
}

// commitLoop is the group committer: it takes every callback waiting and commits them in
// one multi-row INSERT. While it commits, the next callbacks queue up and go into the next
// commit, so a commit carries what arrived during the one before: one at a time when idle
// (no waiting for company), many under load, where one commit's wait for the disk is then
// shared by all of them. One committer suffices: a second would only split the queue
// into smaller commits waiting on the same disk.
func (in *Inbox) commitLoop() {
	defer in.cwg.Done()
	max := in.MaxBatch
	if max <= 0 {
		max = 500
	}
	for r := range in.reqs {
		batch := []*acceptReq{r}
	drain:
		for len(batch) < max {
			select {
			case r, ok := <-in.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		in.commit(batch)
	}
}

// commit inserts a batch and answers each waiting callback.
func (in *Inbox) commit(batch []*acceptReq) {
	timeout := in.CommitTimeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	fresh, err := in.insert(ctx, batch)
	if in.Metrics != nil {
		in.Metrics.InboxCommit.Observe(time.Since(start).Seconds())
		in.Metrics.InboxCommitRows.Add(float64(len(batch)))
	}
	if err != nil && len(batch) > 1 && in.Store.RowRefused(err) {
		// One row the database refuses must not sink the others: insert them one by one.
		fresh, err = map[string]bool{}, nil
		for _, r := range batch {
			f, e := in.insert(ctx, []*acceptReq{r})
			if e != nil {
				r.done <- acceptRes{err: e}
				r.done = nil
				continue
			}
			for k := range f {
				fresh[k] = true
			}
		}
	}
	anyNew := false
	for _, r := range batch {
		if r.done == nil {
			continue
		}
		if err != nil {
			r.done <- acceptRes{err: err}
			continue
		}
		// A key twice in one batch: the first waiter is the new one.
		f := fresh[r.key]
		delete(fresh, r.key)
		if f {
			anyNew = true
			in.readyMu.Lock()
			if len(in.ready) < maxReady {
				in.ready = append(in.ready, r.key)
			}
			in.readyMu.Unlock()
		}
		r.done <- acceptRes{fresh: f}
	}
	if anyNew {
		in.wake()
	}
}

// takeReady takes up to n of the keys committed here and not yet claimed, oldest first.
func (in *Inbox) takeReady(n int) []string {
	in.readyMu.Lock()
	defer in.readyMu.Unlock()
	n = min(n, len(in.ready))
	keys := append([]string(nil), in.ready[:n]...)
	in.ready = in.ready[n:]
	if len(in.ready) == 0 {
		in.ready = nil // let the array of a burst go
	}
	return keys
}

func (in *Inbox) readyLen() int {
	in.readyMu.Lock()
	defer in.readyMu.Unlock()
	return len(in.ready)
}

func (in *Inbox) insert(ctx context.Context, batch []*acceptReq) (map[string]bool, error) {
	rows := make([]InboxEntry, len(batch))
	for i, r := range batch {
		rows[i] = InboxEntry{Key: r.key, Source: r.source, Payload: r.payload}
	}
	return in.Store.InsertInbox(ctx, rows)
}

// scrub removes NUL characters, which PostgreSQL text and jsonb refuse.
func scrub(m Message) Message {
	fix := func(s *string) {
		if strings.IndexByte(*s, 0) >= 0 {
			*s = strings.ReplaceAll(*s, "\x00", "")
		}
	}
	fix(&m.ID)
	fix(&m.UserID)
	fix(&m.ChatID)
	fix(&m.ChatType)
	fix(&m.Text)
	fix(&m.ResponseURL)
	if m.File != nil {
		f := *m.File
		fix(&f.URL)
		fix(&f.AESKey)
		m.File = &f
	}
	if m.Card != nil {
		c := *m.Card
		fix(&c.TaskID)
		fix(&c.EventKey)
		fix(&c.CardType)
		fix(&c.ResponseCode)
		sel := map[string][]string{}
		for k, vs := range c.Selected {
			fix(&k)
			out := make([]string, len(vs))
			for i, v := range vs {
				fix(&v)
				out[i] = v
			}
			sel[k] = out
		}
		if c.Selected != nil {
			c.Selected = sel
		}
		m.Card = &c
	}
	return m
}

// Nudge wakes the worker of this process to look at the table now (rows were recorded
// there other than through Accept, which hands the worker its keys itself).
func (in *Inbox) Nudge() {
	in.rescan.Store(true)
	in.wake()
}

// wake wakes the worker of this process.
func (in *Inbox) wake() {
	in.init()
	select {
	case in.nudge <- struct{}{}:
	default:
	}
}

// Close refuses new callbacks and waits for the commits in flight.
func (in *Inbox) Close() {
	in.init()
	in.mu.Lock()
	if !in.closed {
		in.closed = true
		close(in.reqs)
	}
	in.mu.Unlock()
	in.cwg.Wait()
}

type inboxResult struct {
	key      string
	attempts int
	err      error
}

// Run hands pending messages to the handler until ctx ends; on start it takes what is
// pending (a previous process's leftovers included, once their lease has run out).
//
// It runs at most Limit handlers (half as many while callbacks wait for their commit) and
// claims rows in batches: only when half the hands or more are free, as many rows as there
// are free hands, recording the handled ones as done
// in the same transaction. The rows waiting stay in the table (where other instances can
// take them) rather than in our memory, a burst is claimed in a few statements rather
// than two per message, and the handlers, however many callbacks wait, leave the machine
// to the callbacks' own commits, which WeCom waits for.
//
// The rows this process committed are claimed by their keys as soon as a commit brings
// them. Every Poll, on start and when nudged, it scans the table instead, for what no
// commit here announced: rows other instances or the spool took in, rows whose lease or
// back-off ran out.
func (in *Inbox) Run(ctx context.Context) error {
	in.init()
	l := &inboxLoop{in: in, limit: in.Limit, poll: in.Poll}
	if l.limit <= 0 {
		l.limit = 4
	}
	if l.poll <= 0 {
		l.poll = time.Second
	}
	l.results = make(chan inboxResult, l.limit)
	for ctx.Err() == nil {
		lim := l.reap(ctx)
		if ctx.Err() != nil {
			break
		}
		free := lim - l.running
		rows, claimed, err := l.claim(ctx, free)
		l.start(ctx, rows)
		if err == nil && claimed && (len(rows) == free || in.readyLen() > 0) {
			continue // there may be more
		}
		// Nothing more to claim now: wait for a commit's new rows, the next scan, or a
		// handler to finish (its done mark is recorded at once).
		select {
		case <-ctx.Done():
		case <-in.nudge:
		case <-time.After(l.poll - time.Since(l.lastScan)):
		case r := <-l.results:
			l.take(ctx, r)
		}
	}
	if in.abrupt {
		return nil // killed: record nothing more
	}
	// A graceful stop: the running handlers finish, and what they did is recorded.
	for l.running > 0 {
		l.take(ctx, <-l.results)
	}
	l.hwg.Wait()
	in.markDone(context.WithoutCancel(ctx), l.done)
	return nil
}

// inboxLoop is the state of one Run: the handlers running and the done marks not yet
// recorded.
type inboxLoop struct {
	in       *Inbox
	limit    int
	poll     time.Duration
	results  chan inboxResult
	hwg      sync.WaitGroup
	running  int
	done     []string  // handled, to be recorded with the next claim
	lastScan time.Time // zero: scan first
}

// hands is how many handlers may run. While callbacks wait for their commit, half: WeCom
// waits for those, while the handling of the callbacks already committed can wait a moment.
func (l *inboxLoop) hands() int {
	if l.in.accepting.Load() > 0 {
		return max(1, l.limit/2)
	}
	return l.limit
}

// take takes back the hand of a handler that finished: its row is done, or retried.
func (l *inboxLoop) take(ctx context.Context, r inboxResult) {
	l.running--
	if r.err == nil {
		l.done = append(l.done, r.key)
		return
	}
	l.in.retryOrFail(context.WithoutCancel(ctx), r)
}

// reap takes back the hands of the handlers that finished, waiting for them while fewer
// than half are free, and returns how many may run. A handler may take long (a ledger
// export): the done marks collected meanwhile are then recorded on their own after a
// moment, not left for the next claim, so that a crash repeats few messages.
func (l *inboxLoop) reap(ctx context.Context) int {
	var flush <-chan time.Time
	for {
		lim := l.hands()
		if want := (lim + 1) / 2; lim-l.running >= want {
			select {
			case r := <-l.results:
				l.take(ctx, r)
				continue
			default:
				return lim
			}
		}
		if len(l.done) > 0 && flush == nil {
			flush = time.After(100 * time.Millisecond)
		}
		select {
		case r := <-l.results:
			l.take(ctx, r)
		case <-flush:
			l.done, flush = l.in.markDone(ctx, l.done), nil
		case <-ctx.Done():
			return lim
		}
	}
}

// claim takes up to free rows, recording the done marks with the claim: by a scan of the
// table every Poll (or when nudged), else by the keys this process's commits announced.
// claimed is false when there was nothing to claim (the done marks are then recorded on
// their own).
func (l *inboxLoop) claim(ctx context.Context, free int) (rows []InboxRow, claimed bool, err error) {
	in := l.in
	claimed = true
	if time.Since(l.lastScan) >= l.poll || in.rescan.Swap(false) {
		l.lastScan = time.Now()
		rows, err = in.Store.ClaimInbox(ctx, l.done, free, in.lease())
	} else if keys := in.takeReady(free); len(keys) > 0 {
		// Rows a scan or another instance took meanwhile are not returned; should
		// this claim fail, the next scan finds its rows.
		rows, err = in.Store.ClaimInboxKeys(ctx, l.done, keys, in.lease())
	} else {
		claimed = false
		l.done = in.markDone(ctx, l.done)
	}
	if err != nil {
		if ctx.Err() == nil {
			in.log().ErrorContext(ctx, "inbox worker: claim", "err", err)
		}
	} else if claimed {
		in.countDone(len(l.done))
		l.done = l.done[:0]
	}
	return rows, claimed, err
}

// start hands each claimed row to a handler of its own.
func (l *inboxLoop) start(ctx context.Context, rows []InboxRow) {
	for _, r := range rows {
		l.running++
		l.hwg.Add(1)
		go func() {
			defer l.hwg.Done()
			err := l.in.handle(ctx, r)
			if ctx.Err() != nil && l.in.abrupt {
				return // killed: the lease brings the row back
			}
			l.results <- inboxResult{key: r.Key, attempts: r.Attempts, err: err}
		}()
	}
}

// markDone records handled rows on their own and returns what is left to record: none,
// or all of them when the database did not take them (the next claim tries again; should
// the process die first, their lease brings them back and they are handled again).
func (in *Inbox) markDone(ctx context.Context, done []string) []string {
	if len(done) == 0 {
		return done
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := in.Store.MarkInboxDone(ctx, done); err != nil {
		in.log().ErrorContext(ctx, "inbox: record handled messages", "n", len(done), "err", err)
		return done
	}
	in.countDone(len(done))
	return done[:0]
}

func (in *Inbox) countDone(n int) {
	if in.Metrics != nil && n > 0 {
		in.Metrics.Inbox.WithLabelValues("done").Add(float64(n))
	}
}

func (in *Inbox) lease() time.Duration {
	if in.Lease <= 0 {
		return 2 * time.Minute
	}
	return in.Lease
}

// handle runs the handler on one row, turning a panic into an error.
func (in *Inbox) handle(ctx context.Context, r InboxRow) (err error) {
	var m Message
	if err := json.Unmarshal(r.Payload, &m); err != nil {
		return fmt.Errorf("inbox: bad payload: %w", err)
	}
	if m.Card != nil && m.Card.ResponseCode != "" {
		// a click brings the card's new response_code: whoever answers updates it with that
		if err := in.Store.RecordCardCode(ctx, m.Card.TaskID, m.UserID, m.Card.ResponseCode); err != nil {
			return err
		}
	}
	hctx := ctx
	if !in.abrupt {
		hctx = context.WithoutCancel(ctx) // a graceful stop lets the handler finish
	}
	// The handler must be over before the lease is, or another instance starts it again.
	hctx, cancel := context.WithTimeout(hctx, in.lease()*9/10)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, panicSite(debug.Stack()))
		}
	}()
	if fh, ok := in.Handler.(FallibleHandler); ok {
		return fh.HandleMessageErr(hctx, m)
	}
	in.Handler.HandleMessage(hctx, m)
	return nil
}

// panicSite keeps the frames from the panic on, a few of them, for the log and last_error.
func panicSite(stack []byte) string {
	s := string(stack)
	if i := strings.Index(s, "\npanic("); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}

func (in *Inbox) retryOrFail(ctx context.Context, r inboxResult) {
	max := in.MaxAttempts
	if max <= 0 {
		max = 5
	}
	msg := MaskIDNumbers(r.err.Error())
	if r.attempts >= max {
		in.log().ErrorContext(ctx, "inbox: message failed, giving up", "key", r.key, "attempt", r.attempts, "err", msg)
		if in.Metrics != nil {
			in.Metrics.Inbox.WithLabelValues("failed").Inc()
		}
		if err := in.Store.FailInbox(ctx, r.key, msg); err != nil {
			in.log().ErrorContext(ctx, "inbox: record failure", "key", r.key, "err", err)
		}
		return
	}
	backoff := in.Backoff
	if backoff == nil {
		backoff = func(a int) time.Duration { return min(5*time.Second<<min(a-1, 6), 5*time.Minute) }
	}
	d := backoff(r.attempts)
	in.log().WarnContext(ctx, "inbox: handler failed, will retry", "key", r.key, "attempt", r.attempts, "in", d.String(), "err", msg)
	if in.Metrics != nil {
		in.Metrics.Inbox.WithLabelValues("retry").Inc()
	}
	if err := in.Store.RetryInbox(ctx, r.key, d, msg); err != nil {
		in.log().ErrorContext(ctx, "inbox: reschedule", "key", r.key, "err", err)
	}
}
