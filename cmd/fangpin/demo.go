package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/registry"
	"github.com/fangpin/fangpin/cases/sheet"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/internal/config"
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

// Department tokens of examples/org.yaml (demo-token-<code>).
var demoTokens = map[string]string{
	"医保局": "ybj", "卫健委": "wjw", "教体局": "jtj", "应急管理局": "yjj", "农业农村局": "nyj",
	"人社局": "rsj", "民政局": "mzj", "住建局": "zjj", "水利局": "slj", "公安局": "gaj",
}

// demoPush is one department push of the scripted month.
type demoPush struct {
	day       int // day of the month
	dept      string
	cat       cases.Category
	format    string // csv, gbk, xlsx
	warn, bad int
}

// The month's pushes: most by the 5th, 民政局 late on the 6th (after its reminders).
var demoPushes = []demoPush{
	{2, "医保局", cases.CatMedical, "gbk", 6, 2},
	{2, "卫健委", cases.CatSeriousIllness, "xlsx", 3, 0},
	{3, "人社局", cases.CatEmployment, "csv", 3, 1},
	{3, "公安局", cases.CatPopulation, "csv", 2, 1},
	{4, "应急管理局", cases.CatDisaster, "xlsx", 2, 0},
	{4, "住建局", cases.CatAssurance, "xlsx", 2, 0},
	{4, "农业农村局", cases.CatIndustry, "gbk", 2, 1},
	{5, "卫健委", cases.CatEpidemic, "csv", 1, 0},
	{5, "教体局", cases.CatEducation, "xlsx", 2, 0},
	{6, "民政局", cases.CatAssistance, "gbk", 3, 0},
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
	gen    *synth.Gen
	reg    []cases.RegistryMember
}

func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "服务监听地址")
	simAddr := fs.String("sim-addr", "127.0.0.1:8090", "企业微信模拟器监听地址")
	outDir := fs.String("out", "demo-output", "台账与部门文件的输出目录")
	noServe := fs.Bool("no-serve", false, "演示完一个月后退出，不保留演示页面")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintln(os.Stderr, "用法：fangpin demo [--addr 127.0.0.1:8080] [--sim-addr 127.0.0.1:8090] [--out DIR] [--no-serve]")
		return errUsage
	}
	d := &demo{env: env, clock: &demoClock{t: cases.MustDate("2026-11-01").At(8, 0)}, out: *outDir, log: os.Stderr,
		gen: synth.New(20261101)}
	if err := d.start(ctx, *addr, *simAddr); err != nil {
		return err
	}
	defer d.stop()
	if err := d.playMonths(ctx); err != nil {
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
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
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
		sim.Close()
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
		env.FormSecret = randomHex(16)
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
	var n int
	if err := db.GetContext(ctx, &n, `SELECT count(*) FROM cases`); err != nil {
		ln.Close()
		return err
	}
	if n > 0 {
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
		Log: srv.Log, Now: d.clock.Now}
	go srv.Serve(ctx, ln)
	if _, err := srv.Addr(ctx); err != nil {
		return err
	}
	return nil
}

func (d *demo) stop() {
	if d.srv != nil {
		d.srv.Close()
	}
	if d.sim != nil {
		d.sim.Close()
	}
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

// playMonths plays November and December 2026 day by day.
func (d *demo) playMonths(ctx context.Context) error {
	db := d.srv.DB
	if err := d.setup(ctx, db); err != nil {
		return err
	}
	start, end := cases.MustDate("2026-11-01"), cases.MustDate("2026-12-31")
	d.say("· 从 %s 演到 %s（每个工作日 09:00 发提醒）", start, end)
	for day := start; !day.After(end); day = day.AddDays(1) {
		d.clock.Set(day.At(9, 0))
		if _, err := d.worker.Tick(ctx); err != nil {
			return fmt.Errorf("%s 的提醒：%w", day, err)
		}
		if err := d.drain(ctx); err != nil {
			return err
		}
		d.clock.Set(day.At(10, 0))
		if err := d.script(ctx, day); err != nil {
			return fmt.Errorf("%s：%w", day, err)
		}
		if err := d.drain(ctx); err != nil {
			return err
		}
	}
	return d.finish(ctx)
}

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
	d.reg = synth.New(1).Registry(320, synth.Townships) // the same people as examples/registry.csv
	chats, err := createTownshipChats(ctx, db, d.srv.API)
	if err != nil {
		return err
	}
	d.say("· 创建乡镇群聊 %d 个（其余乡镇用群机器人）", len(chats))
	simDirectory(d.sim, org) // the demo page's people and groups
	return os.MkdirAll(filepath.Join(d.out, "files"), 0o755)
}

// drain waits until the outbox has delivered everything queued (the worker paces itself
// under WeCom's limits, so a burst may take a while).
func (d *demo) drain(ctx context.Context) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var pending int
		if err := d.srv.DB.GetContext(ctx, &pending, `SELECT count(*) FROM outbox WHERE state = 'pending'`); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("发件箱还有 %d 条消息没有送出", pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// script is what people do on day, after the 09:00 reminders.
func (d *demo) script(ctx context.Context, day cases.Date) error {
	for _, p := range demoPushes {
		if p.day == day.Day {
			if err := d.push(ctx, day, p); err != nil {
				return err
			}
		}
	}
	switch {
	case day.Day == 10: // 集中交办 by the 10th
		return d.office(ctx, "交办 "+day.MonthKey())
	case day.String() == "2026-11-16" || day.String() == "2026-12-16":
		return d.answer(ctx, day, day.MonthKey(), 0.5, false)
	case day.String() == "2026-11-18": // a cadre reports a household found on a visit (干部走访)
		return d.visit(ctx)
	case day.String() == "2026-11-19": // liaisons record what their departments did (办理)
		return d.departmentTasks(ctx)
	case day.String() == "2026-11-24" || day.String() == "2026-12-22":
		return d.answer(ctx, day, day.MonthKey(), 0.6, false)
	case day.String() == "2026-12-02":
		return d.enterAll(ctx, day, "2026-11")
	case day.String() == "2026-12-11": // late answers to November's cases, after the overdue reminders
		return d.answer(ctx, day, "2026-11", 0.7, true)
	case day.String() == "2026-12-14":
		return d.spotChecks(ctx, "2026-11")
	case day.String() == "2026-12-29":
		return d.enterAll(ctx, day, "")
	}
	return nil
}

// push sends one department file through the push API, as the department's system would.
func (d *demo) push(ctx context.Context, day cases.Date, p demoPush) error {
	period := day.MonthKey()
	if p.cat.Monthly() {
		period = cases.PreviousMonth(day)
	}
	spec := synth.DeptSpec{Category: p.cat, Warn: p.warn, Quiet: p.warn, Bad: p.bad, Members: d.reg,
		Month: cases.NewDate(day.Year, day.Month-1, 1)}
	var buf bytes.Buffer
	ext := ".csv"
	rows, err := d.gen.WriteDeptCSV(&buf, spec, p.format == "gbk")
	if err != nil {
		return err
	}
	if p.format == "xlsx" {
		buf.Reset()
		ext = ".xlsx"
		if err := synth.WriteRowsXLSX(&buf, p.cat, rows); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("%s-%s-%s%s", p.dept, p.cat, period, ext)
	if err := os.WriteFile(filepath.Join(d.out, "files", name), buf.Bytes(), 0o644); err != nil {
		return err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("category", string(p.cat))
	mw.WriteField("period", period)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(buf.Bytes())
	mw.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/api/v1/batches", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer demo-token-"+demoTokens[p.dept])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var b cases.Batch
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 || json.Unmarshal(raw, &b) != nil {
		return fmt.Errorf("%s 推送失败（HTTP %d）：%s", p.dept, resp.StatusCode, raw)
	}
	d.say("  %s %s 推送 %s：%d 行，接收 %d，退回 %d，预警 %d", day, p.dept, p.cat.Label(), b.Rows, b.Accepted, b.Rejected, b.Warnings)
	if b.RegistryUpdates != nil {
		d.say("      人员变动：更新名册 %d 人，名册外 %d 行", *b.RegistryUpdates, *b.NotInRegistry)
	}
	if b.OutOfScope > 0 {
		d.say("      不在筛查范围 %d 行", b.OutOfScope)
	}
	for _, e := range b.Errors {
		d.say("      第 %d 行“%s”：%s", e.Row, e.Column, e.Message)
	}
	return nil
}

// office types a command in the private chat with the app, as 赵六 of the county office.
func (d *demo) office(ctx context.Context, text string) error {
	before := len(d.sim.SentTo("zhaoliu"))
	if _, err := d.sim.SayPrivately(ctx, "zhaoliu", text); err != nil {
		return err
	}
	if err := d.waitSent(ctx, "zhaoliu", before); err != nil {
		return err
	}
	sent := d.sim.SentTo("zhaoliu")
	d.say("  %s 县扶贫办：%s\n    → %s", cases.DateOf(d.clock.Now()), text, indent(sent[len(sent)-1].Content))
	return nil
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

// privately has a user type a command in the private chat with the app and prints the answer.
// shown is the command as the log may show it (no full ID number).
func (d *demo) privately(ctx context.Context, user, who, text, shown string) error {
	before := len(d.sim.SentTo(user))
	if _, err := d.sim.SayPrivately(ctx, user, text); err != nil {
		return err
	}
	// The reply, not the notices (【…】) the command queued for the same user.
	reply := func() string {
		sent := d.sim.SentTo(user)
		for i := len(sent) - 1; i >= before; i-- {
			if !strings.HasPrefix(sent[i].Content, "【") {
				return sent[i].Content
			}
		}
		return ""
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.sim.Wait(wctx, func([]wecomtest.Sent) bool { return reply() != "" }); err != nil {
		return err
	}
	d.say("  %s %s：%s\n    → %s", cases.DateOf(d.clock.Now()), who, shown, indent(reply()))
	return nil
}

// visit: 城关镇's 张三 found a household on a visit that no department reported (§5b).
func (d *demo) visit(ctx context.Context) error {
	id := d.gen.IDNumber(1968)
	text := "走访 %s 孟繁星 住房 房屋墙体开裂，雨季漏雨，家中无力修缮"
	return d.privately(ctx, "zhangsan", "乡村干部张三（私聊）", fmt.Sprintf(text, id), fmt.Sprintf(text, cases.MaskIDNumber(id)))
}

// departmentTasks: two liaisons look at their department's tasks and record one each (§5).
func (d *demo) departmentTasks(ctx context.Context) error {
	for _, l := range []struct{ user, who, dept, measure string }{
		{"liaison_zjj", "住建局联络员住小建", "住建局", "已入户鉴定房屋等级，列入本年度危房改造计划，补助资金已下达"},
		{"liaison_rsj", "人社局联络员人小社", "人社局", "已推荐到县内扶贫车间就业，并落实一次性交通补贴"},
	} {
		ts, err := d.srv.DB.OpenTasks(ctx, l.dept)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			d.say("  %s %s没有待办理的部门任务", cases.DateOf(d.clock.Now()), l.dept)
			continue
		}
		if err := d.privately(ctx, l.user, l.who, "待办", "待办"); err != nil {
			return err
		}
		text := "办理 " + ts[0].CaseNo + " " + l.measure
		if err := d.privately(ctx, l.user, l.who, text, text); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) waitSent(ctx context.Context, user string, before int) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return d.sim.Wait(wctx, func([]wecomtest.Sent) bool { return len(d.sim.SentTo(user)) > before })
}

var reasons = []string{
	"家庭年人均纯收入高于监测标准，医疗费用已由大病保险和医疗救助报销，无返贫风险",
	"入户核实，家中两名劳动力稳定务工，收入可覆盖支出，暂无返贫风险",
	"住房已于今年改造完成，饮水安全达标，不存在“两不愁三保障”问题",
}

// answer lets cadres record results for a share of their open cases: by command in the
// group, by tapping the card, or on the form page — some taken in, some not, with reasons.
func (d *demo) answer(ctx context.Context, day cases.Date, round string, share float64, late bool) error {
	db := d.srv.DB
	open, err := db.ListCases(ctx, postgres.CaseFilter{Round: round, Statuses: []cases.Status{cases.StatusDispatched, cases.StatusReturned}})
	if err != nil {
		return err
	}
	n := int(float64(len(open))*share + 0.5)
	done := 0
	for i, c := range open[:n] {
		cadres, err := db.UsersOf(ctx, cases.RoleCadre, c.Township, "")
		if err != nil || len(cadres) == 0 {
			continue
		}
		cadre := cadres[i%len(cadres)]
		if c.Responsible != "" {
			cadre = c.Responsible // the case's responsible cadre has its card and summary
		}
		if c.Kind == cases.KindInfo {
			// 信息变更 (人员变动): the township updates the national system and records 录入; no 核查.
			if err := d.byPrivateCommand(ctx, cadre, "录入 "+c.No); err != nil {
				return fmt.Errorf("%s 办理 %s：%w", cadre, c.No, err)
			}
			done++
			continue
		}
		switch i % 4 {
		case 0:
			err = d.byGroupCommand(ctx, c, cadre, fmt.Sprintf("核查 %s 纳入 入户核实，因病支出大，符合监测条件", strings.ToLower(c.No)))
		case 1:
			err = d.byCard(ctx, c, cadre)
		case 2:
			err = d.byForm(ctx, c, cadre, "不纳入", reasons[i%len(reasons)])
		case 3:
			err = d.byPrivateCommand(ctx, cadre, fmt.Sprintf("核查 %s 已在监测 已调整帮扶措施", c.No))
		}
		if err != nil {
			return fmt.Errorf("%s 办理 %s：%w", cadre, c.No, err)
		}
		done++
	}
	what := "按时"
	if late {
		what = "逾期后"
	}
	d.say("  %s 乡村干部%s反馈了 %d 件案件（群里命令、卡片、表单、私聊命令各有）", day, what, done)
	return nil
}

func (d *demo) byGroupCommand(ctx context.Context, c cases.Case, cadre, text string) error {
	chat := d.groupOf(ctx, c.Township)
	if chat == "" {
		return d.byPrivateCommand(ctx, cadre, text)
	}
	before := len(d.sim.SentInChat(chat))
	if _, err := d.sim.SayInGroup(ctx, chat, cadre, text); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return d.sim.Wait(wctx, func([]wecomtest.Sent) bool { return len(d.sim.SentInChat(chat)) > before })
}

func (d *demo) groupOf(ctx context.Context, township string) string {
	ts, err := d.srv.DB.Townships(ctx)
	if err != nil {
		return ""
	}
	for _, t := range ts {
		if t.Name == township {
			return t.AppChatID
		}
	}
	return ""
}

func (d *demo) byPrivateCommand(ctx context.Context, cadre, text string) error {
	before := len(d.sim.SentTo(cadre))
	if _, err := d.sim.SayPrivately(ctx, cadre, text); err != nil {
		return err
	}
	return d.waitSent(ctx, cadre, before)
}

// byCard taps 纳入 on the case's card in the cadre's private chat and submits it.
func (d *demo) byCard(ctx context.Context, c cases.Case, cadre string) error {
	var task string
	for _, s := range d.sim.SentTo(cadre) {
		if s.MsgType != "template_card" {
			continue
		}
		if t := findString(s.Body, "task_id"); strings.HasPrefix(t, c.No) {
			task = t
		}
	}
	if task == "" {
		return d.byPrivateCommand(ctx, cadre, fmt.Sprintf("核查 %s 纳入 入户核实，符合监测条件", c.No))
	}
	before := len(d.sim.SentTo(cadre))
	err := d.sim.ClickCard(ctx, cadre, bot.CardEvent{TaskID: task, EventKey: "submit_" + c.No, CardType: "multiple_interaction",
		Selected: map[string][]string{"result": {"include"}}})
	if err != nil {
		return err
	}
	return d.waitSent(ctx, cadre, before)
}

var demoFormLink = regexp.MustCompile(`https?://[^\s）)]+/form/[^\s）)]+`)

// byForm opens the signed form link the cadre received privately and submits it.
func (d *demo) byForm(ctx context.Context, c cases.Case, cadre, result, reason string) error {
	var link string
	for _, s := range d.sim.SentTo(cadre) {
		if m := demoFormLink.FindString(s.Content); m != "" && strings.Contains(s.Content, c.No) {
			link = m
		}
		if t := findString(s.Body, "task_id"); strings.HasPrefix(t, c.No+"_") { // the card's jump to the form
			if m := demoFormLink.FindString(findString(s.Body, "url")); m != "" {
				link = m
			}
		}
	}
	if link == "" {
		return d.byPrivateCommand(ctx, cadre, fmt.Sprintf("核查 %s %s %s", c.No, result, reason))
	}
	form := url.Values{"result": {result}, "reason": {reason}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, link, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 400 {
		return fmt.Errorf("表单提交失败：HTTP %d", resp.StatusCode)
	}
	return nil
}

func findString(v any, key string) string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[key].(string); ok {
			return s
		}
		for _, y := range x {
			if s := findString(y, key); s != "" {
				return s
			}
		}
	case []any:
		for _, y := range x {
			if s := findString(y, key); s != "" {
				return s
			}
		}
	}
	return ""
}

// enterAll records 录入 for verified cases (of round, or all), as the cadres do once the
// national system has them.
func (d *demo) enterAll(ctx context.Context, day cases.Date, round string) error {
	cs, err := d.srv.DB.ListCases(ctx, postgres.CaseFilter{Round: round, Statuses: []cases.Status{cases.StatusVerified, cases.StatusDispatched}})
	if err != nil {
		return err
	}
	entered := cs[:0]
	for _, c := range cs {
		// Verified cases, and 信息变更 cases (人员变动), which 录入 closes without 核查.
		if c.Status == cases.StatusVerified || c.Kind == cases.KindInfo {
			entered = append(entered, c)
		}
	}
	cs = entered
	for _, c := range cs {
		cadres, err := d.srv.DB.UsersOf(ctx, cases.RoleCadre, c.Township, "")
		if err != nil || len(cadres) == 0 {
			continue
		}
		if err := d.byPrivateCommand(ctx, cadres[0], "录入 "+c.No); err != nil {
			return err
		}
	}
	d.say("  %s 乡村干部登记了 %d 件案件的全国系统录入", day, len(cs))
	return nil
}

// spotChecks draws the month's sample and lets the supervisor record findings: the first
// pick fails and goes back to its township with a new due date.
func (d *demo) spotChecks(ctx context.Context, month string) error {
	picks, err := handlers.DrawSpotChecks(ctx, d.srv.DB, month, 0.1, 202611)
	if err != nil {
		return err
	}
	if err := d.drain(ctx); err != nil {
		return err
	}
	d.say("  督查抽查 %s：抽中 %d 件（按乡镇和类别分层，种子 202611）", month, len(picks))
	for i, p := range picks {
		verdict := "合格 入户回访，群众认可核查结论"
		if i == 0 {
			verdict = "不合格 未实际入户，需重新核查"
		}
		before := len(d.sim.SentTo("sunqi"))
		if _, err := d.sim.SayPrivately(ctx, "sunqi", "抽查 "+p.CaseNo+" "+verdict); err != nil {
			return err
		}
		if err := d.waitSent(ctx, "sunqi", before); err != nil {
			return err
		}
	}
	return nil
}

// finish exports the ledger and prints the month's table.
func (d *demo) finish(ctx context.Context) error {
	db := d.srv.DB
	for _, month := range []string{"2026-11", "2026-12"} {
		a, err := db.Assess(ctx, month)
		if err != nil {
			return err
		}
		path, _ := filepath.Abs(filepath.Join(d.out, ledgerxlsx.Filename(month)))
		if err := ledgerxlsx.WriteFile(path, a); err != nil {
			return err
		}
		fmt.Println()
		printTownships(a)
		fmt.Printf("台账：%s\n", path)
	}
	var reminders []struct {
		Kind string `db:"kind"`
		N    int    `db:"n"`
	}
	db.SelectContext(ctx, &reminders, `SELECT kind, count(*) AS n FROM reminders WHERE state = 'sent' GROUP BY kind ORDER BY kind`)
	var parts []string
	for _, r := range reminders {
		parts = append(parts, fmt.Sprintf("%s %d", cases.ReminderKind(r.Kind).Label(), r.N))
	}
	group, private := 0, 0
	for _, s := range d.sim.Sent() {
		if s.ChatID != "" || s.WebhookKey != "" {
			group++
		} else {
			private++
		}
	}
	sort.Strings(parts)
	fmt.Printf("\n已发送提醒：%s\n模拟器收到机器人消息：群聊 %d 条，私聊 %d 条\n", strings.Join(parts, "，"), group, private)
	return nil
}
