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

// Dispatcher runs handlers after WeCom was answered, at most Limit at a time, and lets
// shutdown wait for the ones running.
type Dispatcher struct {
	ctx  context.Context
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	done bool
}

// NewDispatcher returns a dispatcher whose handlers run under ctx (not the request's).
func NewDispatcher(ctx context.Context, limit int) *Dispatcher {
	if limit <= 0 {
		limit = 64
	}
	return &Dispatcher{ctx: context.WithoutCancel(ctx), sem: make(chan struct{}, limit)}
}

// reserve takes a slot, waiting at most wait; false means busy or closed.
func (d *Dispatcher) reserve(wait time.Duration) bool {
	d.mu.Lock()
	if d.done {
		d.mu.Unlock()
		return false
	}
	d.wg.Add(1)
	d.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case d.sem <- struct{}{}:
		return true
	case <-t.C:
		d.wg.Done()
		return false
	}
}

func (d *Dispatcher) release() { <-d.sem; d.wg.Done() }

// run runs fn on a reserved slot.
func (d *Dispatcher) run(fn func(ctx context.Context)) {
	go func() {
		defer d.release()
		fn(d.ctx)
	}()
}

// Close refuses new work and waits for running handlers until ctx ends.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	d.done = true
	d.mu.Unlock()
	ch := make(chan struct{})
	go func() { d.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("handlers still running: %w", ctx.Err())
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
	// Take a handler slot before recording the callback: if we are too busy, WeCom's
	// retry must still find it new.
	if !cb.Dispatch.reserve(2 * time.Second) {
		return "busy", refuse(http.StatusServiceUnavailable, "busy", errors.New("handlers busy"))
	}
	first, err := cb.Dedup.FirstSeen(r.Context(), m.ID)
	if err != nil {
		cb.Dispatch.release()
		return "error", refuse(http.StatusServiceUnavailable, "error", err)
	}
	if !first {
		cb.Dispatch.release()
		return "duplicate", nil
	}
	h := cb.Handler
	cb.Dispatch.run(func(ctx context.Context) { h.HandleMessage(ctx, m) })
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
