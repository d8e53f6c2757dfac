package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/internal/supervise"
	"github.com/fangpin/fangpin/notify"
	"github.com/fangpin/fangpin/notify/botsend"
)

// reminderWorker wires a reminder worker from the environment: Postgres, Redis and the
// bot's outbox. `fangpin serve` can start the same worker with Run.
func reminderWorker(ctx context.Context, env *Env) (*notify.Worker, func(), error) {
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	opt, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL 格式不对：%w", err)
	}
	r := redis.NewClient(opt)
	if err := r.Ping(ctx).Err(); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("无法连接 Redis（REDIS_URL）：%w", err)
	}
	w := &notify.Worker{DB: db, Redis: r, Sender: botsend.Outbox{},
		Prefix: env.RedisPrefix + "reminders:", UploadLink: uploadLink(env.formLinks()),
		Log: bot.NewLogger(os.Stderr, slog.LevelInfo)}
	return w, func() { r.Close() }, nil
}

// runReminders: `fangpin reminders --json [--case NO]` lists reminders;
// `fangpin reminders rebuild --json` rebuilds Redis's schedule from Postgres.
func runReminders(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "rebuild" {
		fs := flag.NewFlagSet("reminders rebuild", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "在标准输出打印 JSON")
		if err := parseFlags(fs, args[1:]); err != nil || fs.NArg() != 0 {
			fmt.Fprintln(os.Stderr, "用法：fangpin reminders rebuild [--json]")
			return errUsage
		}
		w, closeFn, err := reminderWorker(ctx, env)
		if err != nil {
			return err
		}
		defer closeFn()
		n, err := w.Rebuild(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(map[string]int{"scheduled": n})
		}
		fmt.Fprintf(os.Stderr, "已按数据库重建提醒日程：%d 条待发提醒。\n", n)
		return nil
	}
	fs := flag.NewFlagSet("reminders", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "在标准输出打印 JSON，每行一条")
	caseNo := fs.String("case", "", "只看这个案件的提醒")
	month := fs.String("month", "", "列出这个月（YYYY-MM）的部门推送、交办、月底和反馈提醒（按需安排，也可是以后的月份）")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 || (*caseNo != "" && *month != "") {
		fmt.Fprintln(os.Stderr, "用法：fangpin reminders [--json] [--case 编号 | --month YYYY-MM] | fangpin reminders rebuild [--json]")
		return errUsage
	}
	var m cases.Date
	if *month != "" {
		var err error
		if m, err = cases.ParseMonth(*month); err != nil {
			return cases.Errorf(cases.EInvalid, "月份“%s”的格式不对，请写成 YYYY-MM，例如 2027-02。", *month)
		}
	}
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	if *caseNo != "" {
		if _, err := db.CaseByNo(ctx, *caseNo); err != nil {
			return err
		}
	}
	var rows []notify.Row
	if *month != "" {
		rows, err = notify.ListMonth(ctx, db, m)
	} else {
		rows, err = notify.List(ctx, db, *caseNo)
	}
	if err != nil {
		return err
	}
	for _, r := range rows {
		if *asJSON {
			if err := printJSON(struct {
				Kind   string `json:"kind"`
				CaseNo string `json:"case_no"`
				Target string `json:"target"`
				DueAt  string `json:"due_at"`
				State  string `json:"state"`
				Late   bool   `json:"late"`
			}{r.Kind, r.CaseNo, r.Target, r.DueAt.In(cases.Shanghai).Format(time.RFC3339), r.State, r.Late}); err != nil {
				return err
			}
			continue
		}
		fmt.Printf("%s  %-14s %-14s %-20s %s\n", r.DueAt.In(cases.Shanghai).Format("2006-01-02 15:04"), r.Kind, r.CaseNo, r.Target, r.State)
	}
	return nil
}

// runWorker: `fangpin worker` runs reminder workers only, until interrupted. Any number may
// run, on any number of machines sharing one Redis and one Postgres. Redis away at start or
// later does not end it: the worker is restarted with back-off (--health-addr serves
// /healthz, 503 while it is down).
func runWorker(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	poll := fs.Duration("poll", time.Second, "多久查看一次到期提醒")
	healthAddr := fs.String("health-addr", "", "在此地址提供 /healthz 与 /metrics（例如 127.0.0.1:8081；默认不提供）")
	if err := parseFlags(fs, args); err != nil || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "用法：fangpin worker [--poll 1s] [--health-addr 127.0.0.1:8081]")
		return errUsage
	}
	warnDemoKeys(env)
	db, err := env.MigratedDB(ctx)
	if err != nil {
		return err
	}
	opt, err := redis.ParseURL(env.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL 格式不对：%w", err)
	}
	r := redis.NewClient(opt)
	defer r.Close()
	log := bot.NewLogger(os.Stderr, slog.LevelInfo)
	logRedisTo(log)
	w := &notify.Worker{DB: db, Redis: r, Sender: botsend.Outbox{}, Prefix: env.RedisPrefix + "reminders:", Log: log, Poll: *poll,
		UploadLink: uploadLink(env.formLinks())}
	sup := &supervise.Supervisor{Log: log}
	if *healthAddr != "" {
		ln, err := net.Listen("tcp", *healthAddr)
		if err != nil {
			return fmt.Errorf("无法监听 %s：%w", *healthAddr, err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(workerCollector{sup})
		mux := http.NewServeMux()
		mux.Handle("GET /healthz", health{DB: db, Redis: r, Workers: sup})
		mux.Handle("GET /metrics", metricsHandler(reg))
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		fmt.Fprintf(os.Stderr, "健康检查：http://%s/healthz\n", ln.Addr())
	}
	fmt.Fprintln(os.Stderr, "提醒服务已启动，按 Ctrl+C 停止。")
	sup.Run(ctx, []supervise.Worker{{Name: "reminders", Run: w.Run}})
	return nil
}
