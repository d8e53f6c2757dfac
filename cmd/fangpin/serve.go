package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/charts"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/internal/supervise"
	"github.com/fangpin/fangpin/notify"
	"github.com/fangpin/fangpin/notify/botsend"
)

// Worker is one background loop of the server; Run returns when ctx ends.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// Server is `fangpin serve`: one HTTP mux and a list of background workers around the
// ledger, Redis and the WeCom bot. Later parts mount endpoints with one line
// (srv.Mux.Handle("POST /api/v1/batches", h)) and add workers with one line
// (srv.Workers = append(srv.Workers, Worker{"reminders", r.Run})) before Run.
type Server struct {
	Env      *Env
	DB       *postgres.DB
	Redis    *redis.Client
	Log      *slog.Logger
	Registry *prometheus.Registry
	Metrics  *bot.Metrics
	Mux      *http.ServeMux
	Workers  []Worker
	// NoWorker is --no-worker: wiring code should not add the reminder workers.
	NoWorker bool

	API    *bot.Client
	Outbox *pgqueue.Outbox
	Router *handlers.Router
	Inbox  *bot.Inbox // callbacks, committed before their 200; its worker runs the Router
	Spool  *bot.Spool // callbacks that came while Postgres was down (nil: off)
	Sender *bot.Worker
	// Failures tells the office of group messages that failed for good.
	Failures *handlers.SendFailures

	// RedisPrefix starts every Redis key the server writes (FANGPIN_REDIS_PREFIX).
	RedisPrefix string
	// Links signs the H5 pages' links (nil without FANGPIN_FORM_SECRET).
	Links *handlers.FormLinks
	// Files imports department files sent to the AI bot and uploaded on the page.
	Files *handlers.FilePushes

	// Supervisor restarts workers that stop; /healthz names those that are down.
	Supervisor *supervise.Supervisor

	ready chan string // the bound address, once listening
}

// NewServer connects to Postgres (migrating it) and Redis and wires the bot: callbacks
// to the command router, replies through the outbox, the outbox delivered by a worker.
func NewServer(ctx context.Context, env *Env, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = bot.NewLogger(os.Stderr, slog.LevelInfo)
	}
	logRedisTo(log)
	if err := env.NeedWeCom(); err != nil {
		return nil, err
	}
	agentID, appCrypto, aiCrypto, err := wecomKeys(env)
	if err != nil {
		return nil, err
	}
	warnDemoKeys(env)
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return nil, err
	}
	rdb, err := openRedis(ctx, env, log)
	if err != nil {
		return nil, err
	}
	s := &Server{Env: env, DB: db, Redis: rdb, Log: log, Registry: prometheus.NewRegistry(), Mux: http.NewServeMux(),
		RedisPrefix: env.RedisPrefix, ready: make(chan string, 1), Supervisor: &supervise.Supervisor{Log: log}}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		workerCollector{s.Supervisor})
	s.Metrics = bot.NewMetrics(s.Registry, pgqueue.New(db.DB))
	bot.RedirectSDK(env.APIBase)
	s.API = bot.NewClient(env.APIBase, env.CorpID, agentID, env.Secret, &bot.RedisCache{R: rdb, Prefix: s.RedisPrefix})
	// An AI bot's response_url is called only on WeCom's host, or these (docs/limits.md).
	if env.AIBotHost != "" {
		s.API.ResponseHosts = []string{env.AIBotHost}
	}
	s.Outbox = &pgqueue.Outbox{DB: db, Keys: db.Keys} // replies carry people's data: sealed
	s.Router = handlers.NewRouter(db, s.Outbox, log)
	s.Router.Groups = db
	s.Router.Access = db
	links := env.formLinks()
	s.Links = links
	if links != nil {
		links.Now = db.Now
	} else {
		log.Warn("FANGPIN_FORM_SECRET 未设置：消息中不附表单链接，H5 表单页面不可用（卡片和命令照常可用）")
	}
	cs := &handlers.Cases{Ledger: db, Users: db, Out: s.Outbox, Announce: &announce.Announcer{Links: links}, Access: db, Cal: db.Cal, Now: db.Now, Log: log}
	s.Router.Register(cs.Commands()...)
	s.Router.Cards = cs
	s.Router.Register((&handlers.Reports{Store: db, Out: s.Outbox, Access: db, Spots: db, Log: log, Links: links}).Commands()...)
	if err := charts.Init(); err != nil {
		// 进度 and 统计 still answer in text; the office is told the picture is missing
		log.Error("进度和统计的图表无法生成：找不到中文字体。请安装 fonts-wqy-microhei（bash scripts/chromium.sh），或用 "+charts.FontEnv+" 指定字体文件", "err", err)
	}
	s.Router.Register((&handlers.Office{Store: db, Out: s.Outbox, Log: log}).Commands()...)
	s.Router.Register((&handlers.Sweeps{Store: db, Now: db.Now}).Commands()...)
	s.Router.Register((&handlers.Pushes{Store: db, Out: s.Outbox}).Commands()...)
	rules, err := env.Rules()
	if err != nil {
		return nil, err
	}
	s.Router.Register((&handlers.Results{Store: db, Rules: rules}).Commands()...)
	batchAPI := &handlers.BatchAPI{Store: db, Rules: rules, Access: db, Log: log}
	s.Mux.Handle("POST /api/v1/batches", batchAPI)
	// Files sent to the AI bot and the upload page take their turn with the push API.
	files := &handlers.FilePushes{Store: db, Users: db, Out: s.Outbox, Fetch: s.API, BotAESKey: env.AIBotAESKey,
		Rules: rules, Turn: batchAPI.Turn, Links: links, Access: db, Log: log}
	// Registry files the office sends are previewed and applied once confirmed (docs/office.md).
	files.Registry = &handlers.RegistryFiles{Store: db, Users: db, Out: s.Outbox, Access: db, Log: log,
		ApplyOrg: func(ctx context.Context, o *cases.Org) error { _, err := db.ApplyOrg(ctx, o); return err },
		Registry: announcedRegistry{db: db, announce: (&announce.Announcer{Links: links}).AnnounceMoves}}
	s.Router.Register(files.Registry.Commands()...)
	s.Router.Files, s.Files = files, files
	uploads := &handlers.UploadPage{Pushes: files, Links: links, Users: db, OAuth: s.API, Access: db, Log: log}
	s.Router.Register(uploads.UploadCommand())
	if links != nil {
		s.Mux.Handle("/upload/", uploads)
	}
	s.Inbox = bot.NewInbox(&pgqueue.Store{DB: db.DB, Keys: db.Keys}, s.Router, log, s.Metrics)
	s.handleCallbacks(env, appCrypto, aiCrypto, log)
	s.handlePages(db, links, log)
	s.Mux.HandleFunc("GET /healthz", s.healthz)
	s.Mux.Handle("GET /metrics", metricsHandler(s.Registry))
	s.Sender = &bot.Worker{Store: &pgqueue.Store{DB: db.DB, Keys: db.Keys}, API: s.API, Log: log, Metrics: s.Metrics,
		GroupWords: &handlers.GroupWords{Store: db},
		Pacer:      &bot.Pacer{R: rdb, Prefix: s.RedisPrefix + "pace:", Limits: bot.DefaultLimits()}}
	// Group messages that failed for good are reported to the office (docs/privacy.md).
	s.Failures = &handlers.SendFailures{Store: db, Log: log}
	s.Workers = append(s.Workers,
		Worker{"outbox", s.Sender.Run},
		Worker{"send-failures", func(ctx context.Context) error { return s.Failures.Run(ctx) }},
		Worker{"inbox", s.Inbox.Run},
		Worker{"inbox-spool", func(ctx context.Context) error {
			if s.Spool == nil {
				return nil
			}
			return s.Spool.Run(ctx, s.Inbox, 0)
		}},
		Worker{"inbox-prune", s.pruneInbox})
	return s, nil
}

// openRedis connects to Redis. Redis away at start does not stop the server: callbacks still
// go to the inbox in Postgres, the workers that need Redis are restarted until it answers,
// and /healthz says 503 meanwhile.
func openRedis(ctx context.Context, env *Env, log *slog.Logger) (*redis.Client, error) {
	ropt, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL 有误：%w", err)
	}
	rdb := redis.NewClient(ropt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.WarnContext(ctx, "Redis unreachable at start; workers will retry (Redis 暂时无法连接，后台任务将自动重试)", "err", err)
	}
	return rdb, nil
}

// wecomKeys reads the app's agent id and the callbacks' keys: the app's, and the AI bot's
// (its own Token and EncodingAESKey; by default the app's).
func wecomKeys(env *Env) (agentID int64, app, ai *bot.Crypto, err error) {
	agentID, err = strconv.ParseInt(env.AgentID, 10, 64)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("WECOM_AGENT_ID 应为数字：%q", env.AgentID)
	}
	if app, err = bot.NewCrypto(env.Token, env.AESKey, env.CorpID); err != nil {
		return 0, nil, nil, fmt.Errorf("回调配置有误：%w", err)
	}
	if ai, err = bot.NewCrypto(env.AIBotToken, env.AIBotAESKey, ""); err != nil {
		return 0, nil, nil, fmt.Errorf("智能机器人回调配置有误：%w", err)
	}
	return agentID, app, ai, nil
}

// handlePages serves the H5 pages the signed links open (form, task list, overview, 申报
// form); none without links.
func (s *Server) handlePages(db *postgres.DB, links *handlers.FormLinks, log *slog.Logger) {
	if links == nil {
		return
	}
	s.Mux.Handle("/form/", &handlers.Form{Ledger: db, Users: db, Links: links, OAuth: s.API, Access: db, Now: db.Now, Log: log})
	s.Mux.Handle("/tasks/", &handlers.TaskList{Ledger: db, Users: db, Links: links, OAuth: s.API, Access: db, Cal: db.Cal, Now: db.Now, Log: log})
	s.Mux.Handle("/overview/", &handlers.Overview{Store: db, Users: db, Links: links, OAuth: s.API, Access: db, Log: log})
	s.Mux.Handle("/report", &handlers.ReportForm{Ledger: db, Users: db, Links: links, OAuth: s.API, Access: db,
		Announce: &announce.Announcer{Links: links}, Now: db.Now, Log: log})
}

// handleCallbacks serves WeCom's callbacks, the app's and the AI bot's, into the inbox.
// While Postgres is down, callbacks go to a bounded local spool (FANGPIN_SPOOL_DIR; "off" to
// answer 503 instead) and are drained into the inbox when it is back. The default directory
// is per database, so servers of different ledgers on one machine (tests, a demo) never
// drain each other's callbacks.
func (s *Server) handleCallbacks(env *Env, appCrypto, aiCrypto *bot.Crypto, log *slog.Logger) {
	appCB := bot.NewAppCallback(appCrypto, env.CorpID, s.Inbox, log, s.Metrics)
	aiCB := bot.NewAIBotCallback(aiCrypto, s.Inbox, log, s.Metrics)
	dir := env.SpoolDir
	if dir == "" {
		dbHash := sha256.Sum256([]byte(env.DatabaseURL))
		dir = filepath.Join(os.TempDir(), "fangpin-spool-"+hex.EncodeToString(dbHash[:6]))
	}
	if dir != "off" {
		s.Spool = &bot.Spool{Dir: dir, Log: log}
		appCB.Spool, aiCB.Spool = s.Spool, s.Spool
		s.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "fangpin_callback_spool_pending",
			Help: "Callbacks kept in the local spool while Postgres was unreachable, not yet in the inbox."},
			func() float64 { return float64(s.Spool.Len()) }))
	}
	s.Mux.Handle("/wecom/callback", appCB)
	s.Mux.Handle("/wecom/aibot", aiCB)
}

// pruneInbox forgets handled callbacks a week old, hourly (callbacks older than a day are
// refused, so their keys are no longer needed for dedup).
func (s *Server) pruneInbox(ctx context.Context) error {
	for {
		if _, err := pgqueue.PruneInbox(ctx, s.DB, 7*24*time.Hour); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "prune inbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Hour):
		}
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	health{DB: s.DB, Redis: s.Redis, Workers: s.Supervisor}.ServeHTTP(w, r)
}

// Addr waits until the server listens and returns its address.
func (s *Server) Addr(ctx context.Context) (string, error) {
	select {
	case a := <-s.ready:
		s.ready <- a
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Run listens on FANGPIN_ADDR, runs the workers, and on ctx's end (SIGINT/SIGTERM) stops
// taking requests, lets running handlers and the message being sent finish, and frees
// the port.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Env.Addr)
	if err != nil {
		return fmt.Errorf("无法监听 %s：%w", s.Env.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener of the caller's.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	// A worker that stops (a service away when it starts, a panic) is restarted with
	// back-off; /healthz says 503 while it is down.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ws := make([]supervise.Worker, len(s.Workers))
		for i, w := range s.Workers {
			ws[i] = supervise.Worker{Name: w.Name, Run: w.Run}
		}
		s.Supervisor.Run(wctx, ws)
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.ready <- ln.Addr().String()
	s.Log.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "workers", len(s.Workers))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil {
		s.Log.WarnContext(shut, "http shutdown", "err", err)
	}
	// No request is running now: let the last commits finish, then stop the workers (the
	// inbox worker lets its running handlers finish; what is left stays pending in the
	// table for the next start or another instance).
	s.Inbox.Close()
	stopWorkers()
	wg.Wait()
	s.Log.InfoContext(shut, "stopped")
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Close releases Redis (the Env owns the database).
func (s *Server) Close() { s.Redis.Close() }

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	noWorker := fs.Bool("no-worker", false, "不运行提醒 worker（只提供 HTTP 服务和消息发送）")
	if err := parseFlags(fs, args); err != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin serve [--no-worker]")
		return errUsage
	}
	s, err := NewServer(ctx, env, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	s.NoWorker = *noWorker
	if !s.NoWorker {
		s.AddReminders()
	}
	return s.Run(ctx)
}

// AddReminders adds the reminder worker (what --no-worker leaves out).
func (s *Server) AddReminders() {
	s.Workers = append(s.Workers, Worker{"reminders", (&notify.Worker{DB: s.DB, Redis: s.Redis,
		Sender: botsend.Outbox{}, Prefix: s.RedisPrefix + "reminders:", Log: s.Log, Now: s.DB.Now,
		UploadLink: uploadLink(s.Links)}).Run})
}

// uploadLink signs each liaison's link to the upload page for push nudges; nil without links.
func uploadLink(l *handlers.FormLinks) func(string) string {
	if l == nil {
		return nil
	}
	return l.UploadURL
}
