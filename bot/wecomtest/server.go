// Package wecomtest is an offline WeCom (企业微信) for tests, demos and `fangpin sim`: like
// httptest.Server it listens on loopback, serves the API endpoints the bot uses, records
// every message, injects error codes and delays on demand, enforces WeCom's rate limits
// (dropping the excess silently, as WeCom does) and plays users by sending signed,
// encrypted XML and JSON callbacks, retried like WeCom when the bot is slow.
package wecomtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fangpin/fangpin/bot"
)

// Sent is one message the simulator accepted.
type Sent struct {
	API        string   // message/send, appchat/send, webhook/send, aibot/response, message/update_template_card
	To         []string // message/send, update_template_card: userids
	ChatID     string   // appchat/send; aibot/response: the chat the question came from
	WebhookKey string   // webhook/send
	MsgType    string
	Content    string // text or markdown content as WeCom shows it (truncated past its limit)
	Truncated  bool   // WeCom cut the content
	MediaName  string // file and image messages: the uploaded file's name
	MediaData  []byte // file and image messages: the uploaded content (a robot's image: its decoded base64)
	Body       map[string]any
	At         time.Time
	// ResponseCode is what message/send answered for a template card: a click on the
	// card carries it, and message/update_template_card names the card by it.
	ResponseCode string
	// TaskID names the card a template card or a card update is about.
	TaskID string
	// Seq orders this message among everything the web page shows (sent and said).
	Seq int64
}

type media struct {
	name string
	data []byte
	typ  string // the upload's type: file, image, …
}

// LossMode is how an answer is lost: the connection dropped, or a gateway's 5xx.
type LossMode int

const (
	DropConnection LossMode = iota // close the connection without an answer
	BadGateway                     // answer 502
)

// loss makes the simulator take a request (deliver the message) and lose its answer.
type loss struct {
	mode LossMode
	n    int // remaining, or -1 for a rate
	p    float64
}

// fault is an injected answer.
type fault struct {
	code int // errcode, or an HTTP status when ≥ 500
	n    int // remaining (FailNext), or -1 for a rate
	skip int // calls to let through first
	p    float64
}

// Server is a running simulator.
type Server struct {
	URL string

	CorpID  string
	AgentID int64
	Secret  string
	Token   string // callback Token (app and AI bot)
	AESKey  string // callback EncodingAESKey (43 characters)
	BotName string // the AI bot's display name, for @-mentions

	// Where users' messages go: the bot's /wecom/callback and /wecom/aibot.
	AppCallbackURL   string
	AIBotCallbackURL string
	// CallbackTimeout is how long WeCom waits for an answer before retrying (5 s);
	// CallbackTries the number of tries in all (3).
	CallbackTimeout time.Duration
	CallbackTries   int
	// Now stamps the messages the page shows (a demo's own clock); nil is the real time.
	// Tokens, codes and rate limits always run on the real time. Set it before serving.
	Now func() time.Time

	srv  *httptest.Server
	root atomic.Pointer[http.Handler]

	inFlight atomic.Int64
	hc       *http.Client

	mu        sync.Mutex
	limits    bot.Limits
	sent      []Sent
	dropped   []Sent
	faults    map[string][]*fault
	delays    map[string]time.Duration
	tokens    map[string]time.Time
	media     map[string]media     // media_id → the uploaded file
	files     map[string]*userFile // files users sent the AI bot, by download id (files.go)
	downloads int                  // fetches of those files
	dupSeen   map[string]time.Time // message/send bodies taken with enable_duplicate_check
	dupes     []Sent               // requests the duplicate check dropped
	losses    map[string][]*loss   // answers to lose after taking the request
	lost      int                  // answers lost so far
	badHooks  map[string]bool      // webhook keys answered 93000
	denied    map[string]bool      // app chats whose sends answer 60011
	chats     map[string]bot.AppChat
	responses map[string]string // response_code → chatid ("" single)
	cardCodes map[string]*cardCode
	users     map[string]string // userid → name
	oauth     map[string]string // code → userid
	windows   map[string][]time.Time
	seq       int
	attempts  map[string]int // callback id → tries
	changed   chan struct{}

	// The web page's directory and what users did (web.go).
	people []Person
	groups []Group
	said   []Said
	evseq  int64
}

// NewServer starts a simulator on loopback with a fresh corp, app and callback secrets.
func NewServer() *Server {
	s := newServer()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveRoot))
	s.URL = s.srv.URL
	return s
}

// NewServerAt starts a simulator on addr (for `fangpin sim`).
func NewServerAt(addr string) (*Server, error) {
	s := newServer()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("wecomtest listen %s: %w", addr, err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.serveRoot)}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

func newServer() *Server {
	key := make([]byte, 32)
	rand.Read(key)
	s := &Server{
		CorpID:          "wwsim" + randHex(6),
		AgentID:         1000002,
		Secret:          "secret-" + randHex(8),
		Token:           "token" + randHex(4),
		AESKey:          base64.StdEncoding.EncodeToString(key)[:43],
		BotName:         "防返贫助手",
		CallbackTimeout: 5 * time.Second,
		CallbackTries:   3,
		hc:              &http.Client{},
		limits:          bot.DefaultLimits(),
		faults:          map[string][]*fault{},
		delays:          map[string]time.Duration{},
		tokens:          map[string]time.Time{},
		media:           map[string]media{},
		files:           map[string]*userFile{},
		dupSeen:         map[string]time.Time{},
		losses:          map[string][]*loss{},
		badHooks:        map[string]bool{},
		denied:          map[string]bool{},
		chats:           map[string]bot.AppChat{},
		responses:       map[string]string{},
		users:           map[string]string{},
		oauth:           map[string]string{},
		windows:         map[string][]time.Time{},
		attempts:        map[string]int{},
		changed:         make(chan struct{}),
	}
	h := s.Handler()
	s.root.Store(&h)
	return s
}

// Swap replaces the handler the listener serves (`fangpin sim` adds its control
// endpoints around Handler()).
func (s *Server) Swap(h http.Handler) { s.root.Store(&h) }

func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) { (*s.root.Load()).ServeHTTP(w, r) }

// Close shuts the simulator down.
func (s *Server) Close() { s.srv.Close() }

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SetLimits replaces the rate limits (tests shrink the windows).
func (s *Server) SetLimits(l bot.Limits) { s.mu.Lock(); s.limits = l; s.mu.Unlock() }

// FailNext makes the next n calls to api ("message/send", "gettoken", …; "*" for any)
// answer with code: a WeCom errcode, or an HTTP status when code is 500–599.
func (s *Server) FailNext(api string, code, n int) { s.FailAfter(api, 0, code, n) }

// FailAfter lets skip calls to api through, then fails the next n with code.
func (s *Server) FailAfter(api string, skip, code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[api] = append(s.faults[api], &fault{code: code, n: n, skip: skip})
}

// FailRate makes a fraction p of the calls to api answer with code, until cleared.
func (s *Server) FailRate(api string, code int, p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[api] = append(s.faults[api], &fault{code: code, n: -1, p: p})
}

// ClearFaults removes every injected fault, delay and lost answer.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]*fault{}
	s.delays = map[string]time.Duration{}
	s.losses = map[string][]*loss{}
}

// LoseNext makes the next n calls to api ("*" for any) deliver their message and then
// lose the answer, the way a network failure does after WeCom took a request.
func (s *Server) LoseNext(api string, mode LossMode, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.losses[api] = append(s.losses[api], &loss{mode: mode, n: n})
}

// LoseRate makes a fraction p of the calls to api deliver and then lose the answer.
func (s *Server) LoseRate(api string, mode LossMode, p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.losses[api] = append(s.losses[api], &loss{mode: mode, n: -1, p: p})
}

// LostAnswers is how many answers were lost so far.
func (s *Server) LostAnswers() int { s.mu.Lock(); defer s.mu.Unlock(); return s.lost }

// Duplicates returns the message/send requests WeCom's duplicate check dropped (answered
// errcode 0, delivered nothing).
func (s *Server) Duplicates() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.dupes...)
}

// RejectWebhook makes webhook/send with key answer 93000, as WeCom does for a robot that
// was removed or a key that was mistyped.
func (s *Server) RejectWebhook(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badHooks[key] = true
}

// DenyChat makes appchat/send to chatid answer 60011 (no privilege), as WeCom does when the
// app's visible range no longer covers the chat's members.
func (s *Server) DenyChat(chatid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[chatid] = true
}

// DeleteChat dissolves an app chat: sends to it answer 86003 from now on.
func (s *Server) DeleteChat(chatid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.chats, chatid)
}

// ResponseURL returns a fresh AI bot response_url for a question asked in chatid ("" for
// a single chat), as a callback would carry it.
func (s *Server) ResponseURL(chatid string) string {
	rc := "rc" + randHex(10)
	s.mu.Lock()
	s.responses[rc] = chatid
	s.mu.Unlock()
	return s.URL + "/cgi-bin/aibot/response?response_code=" + rc
}

func (s *Server) loseAnswer(name string) (LossMode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{name, "*"} {
		ls := s.losses[key]
		for i, l := range ls {
			if l.n > 0 {
				l.n--
				if l.n == 0 {
					s.losses[key] = append(ls[:i:i], ls[i+1:]...)
				}
				s.lost++
				return l.mode, true
			}
			if l.n < 0 && mrand.Float64() < l.p {
				s.lost++
				return l.mode, true
			}
		}
	}
	return 0, false
}

// SetDelay makes calls to api ("*" for any) wait d before being handled. A caller that
// gives up (or dies) during the wait has sent nothing.
func (s *Server) SetDelay(api string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[api] = d
}

// InFlight is the number of calls being held by SetDelay right now.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// ExpireTokens makes every access token issued so far answer 42001.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Now().Add(-time.Second)
	}
}

// AddUser makes a member known to user/get.
func (s *Server) AddUser(userid, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[userid] = name
	s.addPersonLocked(Person{UserID: userid, Name: name}, false)
}

// OAuthCode returns a one-time code that auth/getuserinfo resolves to userid.
func (s *Server) OAuthCode(userid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := "code" + randHex(8)
	s.oauth[code] = userid
	return code
}

// Sent returns every message accepted, in order.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Dropped returns the messages over the rate limits (WeCom answered ok and sent nothing).
func (s *Server) Dropped() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.dropped...)
}

// SentTo returns the messages delivered to userid privately (message/send).
func (s *Server) SentTo(userid string) []Sent {
	var out []Sent
	for _, m := range s.Sent() {
		for _, u := range m.To {
			if u == userid && m.API == "message/send" {
				out = append(out, m)
			}
		}
	}
	return out
}

// SentInChat returns the messages that appeared in a group: appchat/send to it and AI
// bot answers to questions asked in it.
func (s *Server) SentInChat(chatid string) []Sent {
	var out []Sent
	for _, m := range s.Sent() {
		if m.ChatID == chatid && (m.API == "appchat/send" || m.API == "aibot/response") {
			out = append(out, m)
		}
	}
	return out
}

// Wait blocks until cond holds for the messages sent, or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func(sent []Sent) bool) error {
	for {
		s.mu.Lock()
		sent := append([]Sent(nil), s.sent...)
		ch := s.changed
		s.mu.Unlock()
		if cond(sent) { // without the lock: cond may call Sent, SentTo…
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wecomtest: waiting for messages: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Handler serves the simulated API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", s.api("gettoken", false, s.gettoken))
	mux.HandleFunc("POST /cgi-bin/message/send", s.api("message/send", true, s.messageSend))
	mux.HandleFunc("POST /cgi-bin/message/update_template_card", s.api("message/update_template_card", true, s.updateCard))
	mux.HandleFunc("POST /cgi-bin/appchat/create", s.api("appchat/create", true, s.appchatCreate))
	mux.HandleFunc("POST /cgi-bin/appchat/send", s.api("appchat/send", true, s.appchatSend))
	mux.HandleFunc("GET /cgi-bin/appchat/get", s.api("appchat/get", true, s.appchatGet))
	mux.HandleFunc("POST /cgi-bin/media/upload", s.api("media/upload", true, s.mediaUpload))
	mux.HandleFunc("POST /cgi-bin/webhook/send", s.api("webhook/send", false, s.webhookSend))
	mux.HandleFunc("POST /cgi-bin/webhook/upload_media", s.api("webhook/upload_media", false, s.mediaUpload))
	mux.HandleFunc("GET /cgi-bin/user/get", s.api("user/get", true, s.userGet))
	mux.HandleFunc("GET /cgi-bin/auth/getuserinfo", s.api("auth/getuserinfo", true, s.getUserInfo))
	mux.HandleFunc("GET /cgi-bin/aibot/file/{id}", s.fileDownload)
	mux.HandleFunc("POST /cgi-bin/aibot/response", s.api("aibot/response", false, s.aibotResponse))
	return mux
}

type apiFunc func(r *http.Request, body []byte) (map[string]any, int)

// api wraps an endpoint with delays, injected faults and the access-token check.
func (s *Server) api(name string, needToken bool, fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: only then does net/http notice a caller that hangs up.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		s.mu.Lock()
		d := s.delays[name]
		if d == 0 {
			d = s.delays["*"]
		}
		s.mu.Unlock()
		if d > 0 {
			s.inFlight.Add(1)
			select {
			case <-time.After(d):
				s.inFlight.Add(-1)
			case <-r.Context().Done():
				s.inFlight.Add(-1)
				return // the caller is gone: nothing happened
			}
		}
		if code := s.fault(name); code != 0 {
			if code >= 500 && code <= 599 {
				http.Error(w, "injected", code)
				return
			}
			writeJSON(w, map[string]any{"errcode": code, "errmsg": "injected"})
			return
		}
		if needToken {
			s.mu.Lock()
			exp, ok := s.tokens[r.URL.Query().Get("access_token")]
			s.mu.Unlock()
			if !ok {
				writeJSON(w, map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
				return
			}
			if time.Now().After(exp) {
				writeJSON(w, map[string]any{"errcode": 42001, "errmsg": "access_token expired"})
				return
			}
		}
		res, code := fn(r, body)
		if mode, lose := s.loseAnswer(name); lose {
			if hj, ok := w.(http.Hijacker); ok && mode == DropConnection {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		if res == nil {
			res = map[string]any{}
		}
		res["errcode"] = code
		if code == 0 {
			res["errmsg"] = "ok"
		} else if res["errmsg"] == nil {
			res["errmsg"] = "error"
		}
		writeJSON(w, res)
	}
}

func (s *Server) fault(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{name, "*"} {
		fs := s.faults[key]
		for i, f := range fs {
			if f.n > 0 && f.skip > 0 {
				f.skip--
				continue
			}
			if f.n > 0 {
				f.n--
				if f.n == 0 {
					s.faults[key] = append(fs[:i:i], fs[i+1:]...)
				}
				return f.code
			}
			if f.n < 0 && mrand.Float64() < f.p {
				return f.code
			}
		}
	}
	return 0
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) gettoken(r *http.Request, _ []byte) (map[string]any, int) {
	q := r.URL.Query()
	if q.Get("corpid") != s.CorpID {
		return map[string]any{"errmsg": "invalid corpid"}, 40013
	}
	if q.Get("corpsecret") != s.Secret {
		return map[string]any{"errmsg": "invalid credential"}, 40001
	}
	tok := "tok" + randHex(16)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(7200 * time.Second)
	s.mu.Unlock()
	return map[string]any{"access_token": tok, "expires_in": 7200}, 0
}

// stamp is the time messages are shown with (Now, or the real time).
func (s *Server) stamp() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// record stores a message, or drops it when a rate window is full; caller holds no lock.
func (s *Server) record(m Sent, windows map[string]bot.Window, n map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	m.At = s.stamp()
	for key, win := range windows {
		if win.N <= 0 {
			continue
		}
		kept := s.windows[key][:0]
		for _, t := range s.windows[key] {
			if now.Sub(t) < win.Per {
				kept = append(kept, t)
			}
		}
		s.windows[key] = kept
		if len(kept)+n[key] > win.N {
			s.dropped = append(s.dropped, m)
			return
		}
	}
	for key := range windows {
		for i := 0; i < n[key]; i++ {
			s.windows[key] = append(s.windows[key], now)
		}
	}
	s.evseq++
	m.Seq = s.evseq
	s.sent = append(s.sent, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// content reads a text/markdown content and applies WeCom's silent truncation.
func content(body map[string]any, msgtype string, limit int) (string, bool) {
	obj, _ := body[msgtype].(map[string]any)
	c, _ := obj["content"].(string)
	cut := len(c) > limit
	if cut {
		c = bot.CutUTF8(c, limit)
	}
	// As shown: the zero-width characters that make each message unique (the outbox
	// worker's marks) are invisible.
	return invisible.Replace(c), cut
}

var invisible = strings.NewReplacer("\u200b", "", "\u200c", "", "\u200d", "", "\u2060", "")

func (s *Server) newSent(api, msgtype string, body map[string]any, limits map[string]int) Sent {
	m := Sent{API: api, MsgType: msgtype, Body: body}
	if lim, ok := limits[msgtype]; ok {
		m.Content, m.Truncated = content(body, msgtype, lim)
	}
	if msgtype == "file" || msgtype == "image" {
		obj, _ := body[msgtype].(map[string]any)
		id, _ := obj["media_id"].(string)
		s.mu.Lock()
		m.MediaName, m.MediaData = s.media[id].name, s.media[id].data
		s.mu.Unlock()
		if b64, ok := obj["base64"].(string); ok && id == "" {
			m.MediaName = "image"
			m.MediaData, _ = base64.StdEncoding.DecodeString(b64)
		}
	}
	return m
}

func decode(body []byte) (map[string]any, bool) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, false
	}
	return m, true
}

func (s *Server) messageSend(_ *http.Request, raw []byte) (map[string]any, int) {
	body, ok := decode(raw)
	if !ok {
		return map[string]any{"errmsg": "invalid json"}, 40058
	}
	if fmt.Sprint(body["agentid"]) != fmt.Sprint(s.AgentID) {
		return map[string]any{"errmsg": "invalid agentid"}, 40056
	}
	mt, _ := body["msgtype"].(string)
	if (mt == "file" || mt == "image") && !s.knownMedia(body, mt) {
		return map[string]any{"errmsg": "invalid media_id"}, 40007
	}
	to, _ := body["touser"].(string)
	users := strings.Split(to, "|")
	m := s.newSent("message/send", mt, body, map[string]int{"text": bot.LimitText, "markdown": bot.LimitMarkdown})
	m.To = users
	if s.duplicate(body, m) {
		return map[string]any{"invaliduser": "", "msgid": "msg" + randHex(8)}, 0
	}
	rc := ""
	if mt == "template_card" {
		card, _ := body["template_card"].(map[string]any)
		m.TaskID, _ = card["task_id"].(string)
		rc = s.issueCardCode(m.TaskID, users)
		m.ResponseCode = rc
	}
	s.mu.Lock()
	l := s.limits
	s.mu.Unlock()
	wins, n := map[string]bot.Window{"company": l.Company}, map[string]int{"company": len(users)}
	for _, u := range users {
		for i, w := range l.PerUser {
			k := fmt.Sprintf("user:%s:%d", u, i)
			wins[k], n[k] = w, 1
		}
	}
	s.record(m, wins, n)
	res := map[string]any{"invaliduser": "", "msgid": "msg" + randHex(8)}
	if rc != "" {
		res["response_code"] = rc
	}
	return res, 0
}

// duplicate applies message/send's duplicate check: with "enable_duplicate_check": 1, a
// request whose JSON equals one taken within duplicate_check_interval seconds (default
// 1800, at most 14400) is answered ok and delivers nothing.
func (s *Server) duplicate(body map[string]any, m Sent) bool {
	if fmt.Sprint(body["enable_duplicate_check"]) != "1" {
		return false
	}
	interval := 1800 * time.Second
	if v, ok := body["duplicate_check_interval"].(json.Number); ok {
		if n, err := v.Int64(); err == nil && n > 0 && n <= 14400 {
			interval = time.Duration(n) * time.Second
		}
	}
	canon, _ := json.Marshal(body) // keys sorted: equal JSON, equal bytes
	key := string(canon)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.dupSeen[key]; ok && now.Sub(at) < interval {
		m.At = s.stamp()
		s.dupes = append(s.dupes, m)
		return true
	}
	s.dupSeen[key] = now
	return false
}

// knownMedia reports whether a file or image message names media uploaded as its type: an
// image's media_id must come from an upload with type=image.
func (s *Server) knownMedia(body map[string]any, msgtype string) bool {
	obj, _ := body[msgtype].(map[string]any)
	id, _ := obj["media_id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	return ok && (msgtype != "image" || m.typ == "image")
}

// MaxImageBytes is WeCom's limit on an image (media/upload type=image, a robot's image).
const MaxImageBytes = 2 << 20

// isImage reports whether data is a PNG or JPG, the formats WeCom takes as images.
func isImage(data []byte) bool {
	return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff})
}

// webhookImage checks a group robot's image: base64 of a PNG or JPG of at most 2 MB, with
// the MD5 of the bytes before encoding.
func webhookImage(body map[string]any) (map[string]any, int) {
	obj, _ := body["image"].(map[string]any)
	b64, _ := obj["base64"].(string)
	sum, _ := obj["md5"].(string)
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(data) == 0 {
		return map[string]any{"errmsg": "invalid base64"}, 40058
	}
	if len(data) > MaxImageBytes {
		return map[string]any{"errmsg": "invalid image size"}, 40009
	}
	if want := md5.Sum(data); !strings.EqualFold(sum, hex.EncodeToString(want[:])) {
		return map[string]any{"errmsg": "image md5 mismatch"}, 40058
	}
	if !isImage(data) {
		return map[string]any{"errmsg": "invalid image type"}, 40005
	}
	return nil, 0
}

func (s *Server) updateCard(_ *http.Request, raw []byte) (map[string]any, int) {
	body, ok := decode(raw)
	if !ok {
		return nil, 40058
	}
	// WeCom wants the card's response_code and either button.replace_name or a whole new
	// template_card; anything else is refused.
	btn, _ := body["button"].(map[string]any)
	_, card := body["template_card"].(map[string]any)
	if rc, _ := body["response_code"].(string); rc == "" || (btn["replace_name"] == nil && !card) {
		return map[string]any{"errmsg": "invalid parameter: need response_code and button.replace_name or template_card"}, 40058
	}
	rc, _ := body["response_code"].(string)
	task, ok := s.spendCardCode(rc)
	if !ok {
		return map[string]any{"errmsg": "invalid response_code: unknown, used already or older than 72 hours"}, 40082
	}
	m := Sent{API: "message/update_template_card", Body: body, TaskID: task, ResponseCode: rc}
	if ids, ok := body["userids"].([]any); ok {
		for _, u := range ids {
			m.To = append(m.To, fmt.Sprint(u))
		}
	}
	s.record(m, nil, nil)
	return nil, 0
}

// cardCode is a response_code the simulator gave out: it names one card and works once,
// within 72 hours, like WeCom's.
type cardCode struct {
	task  string
	users []string
	at    time.Time
	used  bool
}

// issueCardCode gives out a fresh response_code for a card (a send or a click).
func (s *Server) issueCardCode(task string, users []string) string {
	rc := "rc" + randHex(8)
	s.mu.Lock()
	if s.cardCodes == nil {
		s.cardCodes = map[string]*cardCode{}
	}
	s.cardCodes[rc] = &cardCode{task: task, users: users, at: time.Now()}
	s.mu.Unlock()
	return rc
}

// spendCardCode uses up a response_code and says which card it names.
func (s *Server) spendCardCode(rc string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cardCodes[rc]
	if c == nil || c.used || time.Since(c.at) > bot.CardCodeLife {
		return "", false
	}
	c.used = true
	return c.task, true
}

func (s *Server) appchatCreate(_ *http.Request, raw []byte) (map[string]any, int) {
	var c bot.AppChat
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, 40058
	}
	if len(c.UserList) < 2 || utf8.RuneCountInString(c.Name) > 50 || len(c.ChatID) > 32 {
		return map[string]any{"errmsg": "invalid parameter"}, 40035
	}
	if c.ChatID == "" {
		c.ChatID = "wr" + randHex(8)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.chats[c.ChatID]; dup {
		return map[string]any{"errmsg": "chatid exists"}, 86215
	}
	s.chats[c.ChatID] = c
	s.addGroupLocked(Group{ID: c.ChatID, Name: c.Name, Members: c.UserList})
	return map[string]any{"chatid": c.ChatID}, 0
}

func (s *Server) appchatGet(r *http.Request, _ []byte) (map[string]any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[r.URL.Query().Get("chatid")]
	if !ok {
		return map[string]any{"errmsg": "invalid chatid"}, 86003
	}
	return map[string]any{"chat_info": map[string]any{"chatid": c.ChatID, "name": c.Name, "owner": c.Owner, "userlist": c.UserList}}, 0
}

func (s *Server) appchatSend(_ *http.Request, raw []byte) (map[string]any, int) {
	body, ok := decode(raw)
	if !ok {
		return nil, 40058
	}
	chat, _ := body["chatid"].(string)
	mt, _ := body["msgtype"].(string)
	s.mu.Lock()
	_, known := s.chats[chat]
	denied := s.denied[chat]
	l := s.limits
	s.mu.Unlock()
	if !known {
		return map[string]any{"errmsg": "invalid chatid"}, 86003
	}
	if denied {
		return map[string]any{"errmsg": "no privilege to access/modify contact/party/agent"}, bot.CodeNoPrivilege
	}
	if mt == "template_card" {
		return map[string]any{"errmsg": "invalid message type"}, 40008
	}
	if (mt == "file" || mt == "image") && !s.knownMedia(body, mt) {
		return nil, 40007
	}
	m := s.newSent("appchat/send", mt, body, map[string]int{"text": bot.LimitText, "markdown": bot.LimitMarkdown})
	m.ChatID = chat
	wins, n := map[string]bot.Window{}, map[string]int{}
	for i, w := range l.PerChat {
		k := fmt.Sprintf("chat:%s:%d", chat, i)
		wins[k], n[k] = w, 1
	}
	s.record(m, wins, n)
	return nil, 0
}

func (s *Server) webhookSend(r *http.Request, raw []byte) (map[string]any, int) {
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	bad := s.badHooks[key]
	s.mu.Unlock()
	if key == "" || bad {
		return map[string]any{"errmsg": "invalid webhook url"}, 93000
	}
	body, ok := decode(raw)
	if !ok {
		return nil, 40058
	}
	mt, _ := body["msgtype"].(string)
	if mt == "image" {
		if res, code := webhookImage(body); code != 0 {
			return res, code
		}
	}
	m := s.newSent("webhook/send", mt, body, map[string]int{"text": bot.LimitText, "markdown": bot.LimitWebhookMarkdown})
	m.WebhookKey = key
	s.mu.Lock()
	w := s.limits.PerRobot
	s.mu.Unlock()
	s.record(m, map[string]bot.Window{"robot:" + key: w}, map[string]int{"robot:" + key: 1})
	return nil, 0
}

func (s *Server) mediaUpload(r *http.Request, raw []byte) (map[string]any, int) {
	req, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
	if err != nil {
		return nil, 40005
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	f, hdr, err := req.FormFile("media")
	if err != nil {
		return map[string]any{"errmsg": "no media field"}, 41001
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return map[string]any{"errmsg": "media read failed"}, 41001
	}
	typ := r.URL.Query().Get("type")
	if typ == "image" {
		if len(data) > MaxImageBytes {
			return map[string]any{"errmsg": "invalid image size"}, 40009
		}
		if !isImage(data) {
			return map[string]any{"errmsg": "invalid image type"}, 40005
		}
	}
	id := "media" + randHex(10)
	s.mu.Lock()
	s.media[id] = media{name: hdr.Filename, data: data, typ: typ}
	s.mu.Unlock()
	return map[string]any{"type": r.URL.Query().Get("type"), "media_id": id, "created_at": fmt.Sprint(time.Now().Unix())}, 0
}

func (s *Server) userGet(r *http.Request, _ []byte) (map[string]any, int) {
	id := r.URL.Query().Get("userid")
	s.mu.Lock()
	name, ok := s.users[id]
	s.mu.Unlock()
	if !ok {
		return map[string]any{"errmsg": "userid not found"}, 60111
	}
	return map[string]any{"userid": id, "name": name, "status": 1}, 0
}

func (s *Server) getUserInfo(r *http.Request, _ []byte) (map[string]any, int) {
	code := r.URL.Query().Get("code")
	s.mu.Lock()
	id, ok := s.oauth[code]
	delete(s.oauth, code)
	s.mu.Unlock()
	if !ok {
		return map[string]any{"errmsg": "invalid code"}, 40029
	}
	return map[string]any{"userid": id, "UserId": id}, 0
}

func (s *Server) aibotResponse(r *http.Request, raw []byte) (map[string]any, int) {
	rc := r.URL.Query().Get("response_code")
	body, ok := decode(raw)
	if !ok {
		return nil, 40058
	}
	s.mu.Lock()
	chat, known := s.responses[rc]
	delete(s.responses, rc) // single use
	s.mu.Unlock()
	if !known {
		return map[string]any{"errmsg": "invalid response_code"}, 40082
	}
	mt, _ := body["msgtype"].(string)
	m := s.newSent("aibot/response", mt, body, map[string]int{"markdown": bot.LimitResponseURL, "text": bot.LimitText})
	m.ChatID = chat
	s.record(m, nil, nil)
	return nil, 0
}
