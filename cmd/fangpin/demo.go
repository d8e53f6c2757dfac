package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/internal/config"
	"github.com/fangpin/fangpin/internal/scenario"
	"github.com/fangpin/fangpin/notify"
	"github.com/fangpin/fangpin/notify/botsend"
)

// demoClock is the month's clock: the demo sets it, everything in the server reads it.
type demoClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *demoClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// demo is the state of one `fangpin demo` run.
type demo struct {
	env    *Env
	clock  *demoClock
	sim    *wecomtest.Server
	srv    *Server
	worker *notify.Worker
	base   string // the server's URL
	out    string // output directory
	log    io.Writer
	cancel context.CancelFunc // stops the server
	served chan error         // the server's Serve, once it returned
}

func runDemo(ctx context.Context, env *Env, args []string) (err error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "服务监听地址")
	simAddr := fs.String("sim-addr", "127.0.0.1:8090", "企业微信模拟器监听地址")
	outDir := fs.String("out", "demo-output", "台账与部门文件的输出目录")
	noServe := fs.Bool("no-serve", false, "演示完一个月后退出，不保留演示页面")
	if err := parseFlags(fs, args); err != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin demo [--addr 127.0.0.1:8080] [--sim-addr 127.0.0.1:8090] [--out DIR] [--no-serve]")
		return errUsage
	}
	d := &demo{env: env, clock: &demoClock{t: cases.MustDate("2026-11-01").At(8, 0)}, out: *outDir, log: os.Stderr}
	err = d.start(ctx, *addr, *simAddr)
	defer func() {
		if serr := d.stop(); err == nil {
			err = serr
		}
	}()
	if err != nil {
		return err
	}
	if err := d.play(ctx); err != nil {
		return err
	}
	if *noServe {
		return nil
	}
	// The month is over; the clock stays at its end so that what people see is consistent.
	page := d.sim.URL + "/"
	if err := waitHTTP(ctx, page); err != nil {
		return fmt.Errorf("演示页面没有响应：%w", err)
	}
	fmt.Printf("演示页面: %s\n", page)
	fmt.Fprintln(os.Stderr, "在页面上选择一位用户（例如城关镇的张三），发送“待办”试试。按 Ctrl+C 结束演示。")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "正在停止……")
	return nil
}

func waitHTTP(ctx context.Context, u string) error {
	for i := 0; i < 50; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("timeout")
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("随机数：%w", err)
	}
	return hex.EncodeToString(b), nil
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.log, format+"\n", args...) }

// start runs the simulator and the real server in this process, wired to each other.
func (d *demo) start(ctx context.Context, addr, simAddr string) error {
	sim, err := wecomtest.NewServerAt(simAddr)
	if err != nil {
		return fmt.Errorf("无法启动企业微信模拟器（%s）：%w", simAddr, err)
	}
	d.sim = sim
	sim.Now = d.clock.Now // the page shows the story's own dates and times
	sim.Swap(sim.WebHandler())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("无法监听 %s（是否已有演示在运行？）：%w", addr, err)
	}
	d.base = "http://" + ln.Addr().String()
	sim.AppCallbackURL = d.base + "/wecom/callback"
	sim.AIBotCallbackURL = d.base + "/wecom/aibot"

	env := d.env
	env.CorpID, env.Secret, env.Token, env.AESKey = sim.CorpID, sim.Secret, sim.Token, sim.AESKey
	// The AI bot's keys default to the app's when the configuration is read, before the
	// simulator's are known: set them too.
	env.AIBotToken, env.AIBotAESKey = sim.Token, sim.AESKey
	env.AgentID = fmt.Sprint(sim.AgentID)
	env.APIBase = sim.URL
	env.Addr = ln.Addr().String()
	env.Clock = d.clock.Now
	env.PublicURL = d.base
	if env.FormSecret == "" {
		if env.FormSecret, err = randomHex(16); err != nil {
			ln.Close()
			return err
		}
	}
	if env.RedisPrefix == config.DefaultRedisPrefix {
		env.RedisPrefix = "fangpin-demo:"
	}
	prefix := env.RedisPrefix

	d.say("· 连接数据库并迁移（%s）", redactURL(env.DatabaseURL))
	db, err := env.MigratedDB(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	existing, err := db.ListCases(ctx, cases.CaseFilter{})
	if err != nil {
		ln.Close()
		return err
	}
	if len(existing) > 0 {
		ln.Close()
		return fmt.Errorf("演示数据库里已经有案件；请用空库运行（make demo 每次都会重建 fangpin_demo 库）")
	}
	// Two months are played in a minute or two of real time: the simulator and the pacer
	// allow that; against the real WeCom the documented limits apply (bot.DefaultLimits).
	fast := bot.Limits{PerUser: []bot.Window{{N: 100000, Per: time.Minute}}, PerChat: []bot.Window{{N: 100000, Per: time.Minute}},
		Company: bot.Window{N: 1000000, Per: time.Minute}, PerRobot: bot.Window{N: 100000, Per: time.Minute}}
	sim.SetLimits(fast)
	srv, err := NewServer(ctx, env, bot.NewLogger(os.Stderr, slog.LevelWarn))
	if err != nil {
		ln.Close()
		return err
	}
	d.srv = srv
	srv.Sender.Pacer.Limits = fast
	srv.Sender.Poll = 20 * time.Millisecond // a month in a minute: do not doze between messages
	// A Redis left by an earlier demo must not hold schedules of the dropped database.
	if err := deletePrefix(ctx, srv, prefix); err != nil {
		ln.Close()
		return err
	}
	d.worker = &notify.Worker{DB: db, Redis: srv.Redis, Sender: botsend.Outbox{}, Prefix: prefix + "reminders:",
		Log: srv.Log, Now: d.clock.Now, UploadLink: uploadLink(srv.Links)}
	sctx, cancel := context.WithCancel(ctx)
	d.served, d.cancel = make(chan error, 1), cancel
	go func() { d.served <- srv.Serve(sctx, ln) }()
	if _, err := srv.Addr(ctx); err != nil {
		return err
	}
	return nil
}

// stop stops the server (letting what it is doing finish) and the simulator; it returns
// the server's error, if it failed.
func (d *demo) stop() error {
	var err error
	if d.cancel != nil {
		d.cancel()
		if err = <-d.served; err != nil {
			err = fmt.Errorf("服务出错：%w", err)
		}
	}
	if d.srv != nil {
		d.srv.Close()
	}
	if d.sim != nil {
		d.sim.Close()
	}
	return err
}

func deletePrefix(ctx context.Context, s *Server, prefix string) error {
	iter := s.Redis.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := s.Redis.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "DATABASE_URL"
	}
	p.User = nil
	return p.String()
}

// setup loads the example county as its office would (org apply, registry import, chats
// create) and tells the simulator's page who is who.
func (d *demo) setup(ctx context.Context, db *postgres.DB) error {
	org, err := orgfile.Load("examples/org.yaml")
	if err != nil {
		return err
	}
	sum, err := db.ApplyOrg(ctx, org)
	if err != nil {
		return err
	}
	d.say("· 组织文件：%d 个乡镇，%d 个部门，%d 名用户", sum.Townships, sum.Departments, sum.Users)
	towns, err := db.TownshipNames(ctx)
	if err != nil {
		return err
	}
	r, err := sheet.Open("examples/registry.csv")
	if err != nil {
		return err
	}
	defer r.Close()
	rs, err := registry.Import(ctx, r, towns, db)
	if err != nil {
		return err
	}
	d.say("· 监测户名册：%d 户 %d 人", rs.Households, rs.Members)
	chats, err := createTownshipChats(ctx, db, d.srv.API)
	if err != nil {
		return err
	}
	d.say("· 创建乡镇群聊 %d 个（其余乡镇用群机器人）", len(chats.Created))
	simDirectory(d.sim, org) // the demo page's people and groups
	return nil
}

// play runs the scenario: November and December 2026, day by day.
func (d *demo) play(ctx context.Context) error {
	if err := d.setup(ctx, d.srv.DB); err != nil {
		return err
	}
	store := demoStore{d.srv.DB}
	return scenario.Run(ctx, scenario.Config{Sim: d.sim, Base: d.base, SetClock: d.clock.Set,
		Store: store, Office: store, Reminders: d.worker, Dir: d.out, Log: d.log,
		From: cases.MustDate("2026-11-01"), To: cases.MustDate("2026-12-31")})
}
