package bot

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Callback is the http.Handler of one WeCom callback URL: /wecom/callback (app, XML,
// ReceiveId = CorpID) or /wecom/aibot (AI bot, JSON, ReceiveId = "").
type Callback struct {
	Source Source
	Crypto *Crypto
	CorpID string // app callback: ToUserName must match (optional)
	// Inbox records each message durably before the 200; its worker runs the handler.
	Inbox *Inbox
	// Spool, when set, takes the message when the inbox cannot commit it (Postgres down),
	// so the callback still gets its 200; its Run drains it into the inbox later.
	Spool   *Spool
	Log     *slog.Logger
	Metrics *Metrics
	// MaxBody bounds a callback body; larger ones get 413. Default 64 KiB.
	MaxBody int64
	// MaxAge refuses callbacks whose timestamp is further than this from now, so a
	// captured callback cannot be replayed after its dedup record was pruned. Default 24h.
	MaxAge time.Duration
	Now    func() time.Time
}

// NewAppCallback returns the XML app callback handler; messages go into in.
func NewAppCallback(c *Crypto, corpID string, in *Inbox, log *slog.Logger, m *Metrics) *Callback {
	return &Callback{Source: FromApp, Crypto: c, CorpID: corpID, Inbox: in, Log: log, Metrics: m}
}

// NewAIBotCallback returns the JSON AI bot callback handler; messages go into in.
func NewAIBotCallback(c *Crypto, in *Inbox, log *slog.Logger, m *Metrics) *Callback {
	return &Callback{Source: FromAIBot, Crypto: c, Inbox: in, Log: log, Metrics: m}
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
	// No 200 without a durable record: WeCom never resends an acknowledged callback, so
	// the message is committed to the inbox first (grouped with concurrent callbacks into
	// one commit). The handler runs later from the inbox worker, never inside this request
	// (WeCom waits 5 s at most).
	fresh, err := cb.Inbox.Accept(r.Context(), m)
	if err != nil && cb.Spool != nil && !errors.Is(err, ErrInboxClosed) {
		spooledNew, serr := cb.Spool.Put(m)
		if serr == nil {
			cb.log().WarnContext(r.Context(), "callback spooled: inbox unavailable", "source", string(cb.Source), "err", err)
			if !spooledNew {
				return "duplicate", nil
			}
			return "spooled", nil // empty 200: the spool's drain hands it to the inbox
		}
		err = fmt.Errorf("%w (and the spool: %v)", err, serr)
	}
	if err != nil {
		// 503: WeCom retries, and the retry is deduplicated if the commit did land.
		return "store_failed", refuse(http.StatusServiceUnavailable, "store_failed", err)
	}
	if !fresh {
		return "duplicate", nil // a retry or replay: empty 200, handled once already
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
