package bot

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Deduper remembers which callbacks were already taken, durably, so WeCom's retries and
// replays are dropped even across restarts and between instances.
type Deduper interface {
	// FirstSeen records key and reports whether it was new.
	FirstSeen(ctx context.Context, key string) (bool, error)
}

// PGDedup keeps the record in the callback_dedup table; the primary key makes two
// instances agree on who took a callback.
type PGDedup struct{ DB sqlx.ExecerContext }

// FirstSeen implements Deduper.
func (d PGDedup) FirstSeen(ctx context.Context, key string) (bool, error) {
	res, err := d.DB.ExecContext(ctx, `INSERT INTO callback_dedup (key) VALUES ($1) ON CONFLICT DO NOTHING`, key)
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", key, err)
	}
	return n == 1, nil
}

// PruneDedup forgets callbacks older than age. Callbacks older than Callback.MaxAge are
// refused anyway, so keep age above it.
func PruneDedup(ctx context.Context, db sqlx.ExecerContext, age time.Duration) (int64, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM callback_dedup WHERE received_at < now() - make_interval(secs => $1)`, age.Seconds())
	if err != nil {
		return 0, fmt.Errorf("prune callback_dedup: %w", err)
	}
	return res.RowsAffected()
}

// BatchDeduper records many keys in one round trip (one commit for a burst of callbacks).
type BatchDeduper interface {
	// FirstSeenMany records keys and returns those that were new.
	FirstSeenMany(ctx context.Context, keys []string) (map[string]bool, error)
}

// FirstSeenMany implements BatchDeduper.
func (d PGDedup) FirstSeenMany(ctx context.Context, keys []string) (map[string]bool, error) {
	q, ok := d.DB.(sqlx.QueryerContext)
	if !ok {
		return nil, errors.New("dedup: database cannot query")
	}
	rows, err := q.QueryContext(ctx, `INSERT INTO callback_dedup (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING key`, pq.Array(keys))
	if err != nil {
		return nil, fmt.Errorf("dedup %d callbacks: %w", len(keys), err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("dedup: %w", err)
		}
		out[k] = true
	}
	return out, rows.Err()
}

// job is one accepted callback waiting for dedup and its handler.
type job struct {
	m       Message
	h       Handler
	dedup   Deduper
	metrics *Metrics
	log     *slog.Logger
}

// Dispatcher takes accepted callbacks off the request path: WeCom gets its empty 200 as
// soon as a callback is verified and parsed, and a background loop records the callbacks
// in the dedup table (in batches: one commit for a burst) and runs the handlers of the new
// ones, at most Limit at a time. A full queue answers 503, so WeCom retries later.
type Dispatcher struct {
	ctx   context.Context
	queue chan job
	sem   chan struct{}
	hwg   sync.WaitGroup // handlers running
	loop  chan struct{}  // closed when the loop has ended
	mu    sync.RWMutex
	done  bool
}

// NewDispatcher starts a dispatcher whose handlers run under ctx (not the request's),
// at most limit at a time, with room for 10,000 callbacks waiting.
func NewDispatcher(ctx context.Context, limit int) *Dispatcher {
	if limit <= 0 {
		limit = 64
	}
	d := &Dispatcher{ctx: context.WithoutCancel(ctx), queue: make(chan job, 10000), sem: make(chan struct{}, limit), loop: make(chan struct{})}
	go d.run()
	return d
}

// submit queues a callback without waiting; false means full or closed.
func (d *Dispatcher) submit(j job) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.done {
		return false
	}
	select {
	case d.queue <- j:
		return true
	default:
		return false
	}
}

func (d *Dispatcher) run() {
	defer close(d.loop)
	for j := range d.queue {
		// Linger a little so a burst becomes one commit: fewer, larger inserts cost
		// Postgres far less CPU than one per callback.
		batch := []job{j}
		linger := time.NewTimer(10 * time.Millisecond)
	more:
		for len(batch) < 500 {
			select {
			case j, ok := <-d.queue:
				if !ok {
					break more
				}
				batch = append(batch, j)
			case <-linger.C:
				break more
			}
		}
		linger.Stop()
		d.process(batch)
	}
}

// process dedups a batch and starts the handlers of the callbacks seen first.
func (d *Dispatcher) process(batch []job) {
	fresh := make([]bool, len(batch))
	// Group by deduper (one per server in practice).
	groups := map[Deduper][]int{}
	for i, j := range batch {
		groups[j.dedup] = append(groups[j.dedup], i)
	}
	for dd, idx := range groups {
		keys := make([]string, 0, len(idx))
		seen := map[string]bool{}
		for _, i := range idx {
			if k := batch[i].m.ID; !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		newKeys, err := d.firstSeen(dd, keys)
		if err != nil {
			// Acknowledged already, so WeCom will not send it again: answering twice
			// beats never answering.
			batch[idx[0]].log.ErrorContext(d.ctx, "callback dedup failed; handling anyway", "n", len(keys), "err", err)
			newKeys = seen
		}
		for _, i := range idx {
			k := batch[i].m.ID
			if newKeys[k] {
				fresh[i] = true
				delete(newKeys, k) // a key twice in one batch runs once
			}
		}
	}
	for i, j := range batch {
		if !fresh[i] {
			if j.metrics != nil {
				j.metrics.Callbacks.WithLabelValues(string(j.m.Source), "duplicate").Inc()
			}
			continue
		}
		d.sem <- struct{}{}
		d.hwg.Add(1)
		go func() {
			defer func() { <-d.sem; d.hwg.Done() }()
			j.h.HandleMessage(d.ctx, j.m)
		}()
	}
}

func (d *Dispatcher) firstSeen(dd Deduper, keys []string) (map[string]bool, error) {
	var err error
	for try, wait := 0, 100*time.Millisecond; try < 4; try, wait = try+1, wait*4 {
		if try > 0 {
			time.Sleep(wait)
		}
		var out map[string]bool
		if bd, ok := dd.(BatchDeduper); ok {
			out, err = bd.FirstSeenMany(d.ctx, keys)
		} else {
			out = map[string]bool{}
			for _, k := range keys {
				var first bool
				if first, err = dd.FirstSeen(d.ctx, k); err != nil {
					break
				}
				if first {
					out[k] = true
				}
			}
		}
		if err == nil {
			return out, nil
		}
	}
	return nil, err
}

// Close refuses new callbacks, works off the queue and waits for the handlers, until ctx
// ends.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.done {
		d.done = true
		close(d.queue)
	}
	d.mu.Unlock()
	ch := make(chan struct{})
	go func() { <-d.loop; d.hwg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("callbacks still being handled: %w", ctx.Err())
	}
}

// Callback is the http.Handler of one WeCom callback URL: /wecom/callback (app, XML,
// ReceiveId = CorpID) or /wecom/aibot (AI bot, JSON, ReceiveId = "").
type Callback struct {
	Source   Source
	Crypto   *Crypto
	CorpID   string // app callback: ToUserName must match (optional)
	Dedup    Deduper
	Handler  Handler
	Dispatch *Dispatcher
	Log      *slog.Logger
	Metrics  *Metrics
	// MaxBody bounds a callback body; larger ones get 413. Default 64 KiB.
	MaxBody int64
	// MaxAge refuses callbacks whose timestamp is further than this from now, so a
	// captured callback cannot be replayed after its dedup record was pruned. Default 24h.
	MaxAge time.Duration
	Now    func() time.Time
}

// NewAppCallback returns the XML app callback handler.
func NewAppCallback(c *Crypto, corpID string, dedup Deduper, h Handler, d *Dispatcher, log *slog.Logger, m *Metrics) *Callback {
	return &Callback{Source: FromApp, Crypto: c, CorpID: corpID, Dedup: dedup, Handler: h, Dispatch: d, Log: log, Metrics: m}
}

// NewAIBotCallback returns the JSON AI bot callback handler.
func NewAIBotCallback(c *Crypto, dedup Deduper, h Handler, d *Dispatcher, log *slog.Logger, m *Metrics) *Callback {
	return &Callback{Source: FromAIBot, Crypto: c, Dedup: dedup, Handler: h, Dispatch: d, Log: log, Metrics: m}
}

// callbackError is a refusal: status, outcome label and reason.
type callbackError struct {
	status  int
	outcome string
	err     error
}

func (e *callbackError) Error() string { return e.err.Error() }

func refuse(status int, outcome string, err error) *callbackError {
	return &callbackError{status, outcome, err}
}

func (cb *Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	outcome, err := cb.serve(w, r)
	if cb.Metrics != nil {
		cb.Metrics.Callbacks.WithLabelValues(string(cb.Source), outcome).Inc()
	}
	if err != nil {
		var ce *callbackError
		status := http.StatusInternalServerError
		if errors.As(err, &ce) {
			status = ce.status
		}
		cb.log().WarnContext(r.Context(), "callback refused", "source", string(cb.Source), "outcome", outcome, "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}

func (cb *Callback) log() *slog.Logger {
	if cb.Log == nil {
		return slog.Default()
	}
	return cb.Log
}

// serve answers the request (unless it returns an error) and returns the outcome label.
func (cb *Callback) serve(w http.ResponseWriter, r *http.Request) (string, error) {
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	switch r.Method {
	case http.MethodGet:
		// A '+' the sender forgot to escape arrives as a space; base64 has no spaces.
		echo := strings.ReplaceAll(q.Get("echostr"), " ", "+")
		plain, err := cb.Crypto.Open(sig, ts, nonce, echo)
		if err != nil {
			return cryptoRefusal(err)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(plain)
		return "url_verified", nil
	case http.MethodPost:
	default:
		return "bad_request", refuse(http.StatusMethodNotAllowed, "bad_request", errors.New("method "+r.Method))
	}
	if err := cb.checkTime(ts); err != nil {
		return "stale", err
	}
	limit := cb.MaxBody
	if limit <= 0 {
		limit = 64 << 10
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "too_large", refuse(http.StatusRequestEntityTooLarge, "too_large", err)
		}
		return "bad_request", refuse(http.StatusBadRequest, "bad_request", err)
	}
	encrypt, err := cb.envelope(body)
	if err != nil {
		return "bad_request", refuse(http.StatusBadRequest, "bad_request", err)
	}
	plain, err := cb.Crypto.Open(sig, ts, nonce, encrypt)
	if err != nil {
		return cryptoRefusal(err)
	}
	var m Message
	if cb.Source == FromAIBot {
		m, err = ParseAIBotMessage(plain)
	} else {
		m, err = ParseAppMessage(plain, cb.CorpID)
	}
	if errors.Is(err, ErrIgnored) {
		return "ignored", nil // empty 200
	}
	if err != nil {
		return "bad_request", refuse(http.StatusBadRequest, "bad_request", err)
	}
	// Acknowledge now; dedup and the handler run in the background.
	if !cb.Dispatch.submit(job{m: m, h: cb.Handler, dedup: cb.Dedup, metrics: cb.Metrics, log: cb.log()}) {
		return "busy", refuse(http.StatusServiceUnavailable, "busy", errors.New("callback queue full"))
	}
	return "accepted", nil // empty 200: no passive reply, the answer goes through the outbox
}

func (cb *Callback) checkTime(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refuse(http.StatusBadRequest, "stale", fmt.Errorf("bad timestamp %q", ts))
	}
	now := time.Now
	if cb.Now != nil {
		now = cb.Now
	}
	age := cb.MaxAge
	if age <= 0 {
		age = 24 * time.Hour
	}
	d := now().Sub(time.Unix(sec, 0))
	if d > age || d < -age {
		return refuse(http.StatusBadRequest, "stale", fmt.Errorf("timestamp %s is %s away", ts, d.Round(time.Second)))
	}
	return nil
}

func (cb *Callback) envelope(body []byte) (string, error) {
	if cb.Source == FromAIBot {
		var j struct {
			Encrypt string `json:"encrypt"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return "", fmt.Errorf("aibot envelope: %w", err)
		}
		if j.Encrypt == "" {
			return "", errors.New("aibot envelope: no encrypt")
		}
		return j.Encrypt, nil
	}
	var x appEnvelope
	if err := xml.Unmarshal(body, &x); err != nil {
		return "", fmt.Errorf("app envelope: %w", err)
	}
	if x.Encrypt == "" {
		return "", errors.New("app envelope: no Encrypt")
	}
	return x.Encrypt, nil
}

func cryptoRefusal(err error) (string, error) {
	switch {
	case errors.Is(err, ErrSignature):
		return "bad_signature", refuse(http.StatusForbidden, "bad_signature", err)
	case errors.Is(err, ErrReceiveID):
		return "bad_receiveid", refuse(http.StatusBadRequest, "bad_receiveid", err)
	default:
		return "bad_crypto", refuse(http.StatusBadRequest, "bad_crypto", err)
	}
}
