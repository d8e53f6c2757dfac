package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/monthtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/charts/chartstest"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/internal/browsertest"
	"github.com/silenceper/wechat/v2/cache"
)

// 进度 and 统计 answer with the text and a picture: through the outbox and the worker to
// the simulator as an image message, a PNG at least 800 px wide that is not blank.
func TestProgressAndStatsSendPictures(t *testing.T) {
	t.Parallel()
	db, _, r, _ := setupRouter(t)
	if got := say(t, db, r, "c1", "zhaoliu", "进度 2026-11"); !strings.Contains(got, "城关镇：交办 5") {
		t.Fatalf("进度 text: %s", got)
	}
	say(t, db, r, "c2", "zhaoliu", "统计 2026-11")
	sim := wecomtest.NewServer()
	defer sim.Close()
	api := bot.NewClient(sim.URL, sim.CorpID, sim.AgentID, sim.Secret, cache.NewMemory())
	w := &bot.Worker{Store: &pgqueue.Store{DB: db.DB, Keys: db.Keys}, API: api, Log: slog.New(slog.DiscardHandler)}
	for range 2 {
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var images []wecomtest.Sent
	for _, m := range sim.SentTo("zhaoliu") {
		if m.MsgType == "image" {
			images = append(images, m)
		}
	}
	if len(images) != 2 {
		t.Fatalf("WeCom got %d image messages, want 2 (进度 and 统计)", len(images))
	}
	for _, m := range images {
		chartstest.CheckPNG(t, m.MediaData)
	}
	// a cadre gets neither text nor picture
	if got := say(t, db, r, "c3", "zhangsan", "进度"); !strings.Contains(got, "只有") {
		t.Errorf("cadre asking 进度: %s", got)
	}
	if _, ok := outbox(t, db)["chart:progress:c3"]; ok {
		t.Error("a cadre was sent the chart")
	}
}

func overviewServer(t *testing.T) (*httptest.Server, *handlers.FormLinks, *handlers.Router) {
	srv, links, r, _ := overviewServerDB(t)
	return srv, links, r
}

func overviewServerDB(t *testing.T) (*httptest.Server, *handlers.FormLinks, *handlers.Router, *postgres.DB) {
	db, _ := monthtest.Setup(t)
	links := &handlers.FormLinks{Secret: []byte("overview-secret"), Now: db.Now}
	srv := httptest.NewServer(&handlers.Overview{Store: db, Users: db, Links: links, Access: db})
	t.Cleanup(srv.Close)
	links.BaseURL = srv.URL
	r := handlers.NewRouter(db, &pgqueue.Outbox{DB: db}, nil)
	r.Register((&handlers.Reports{Store: db, Out: &pgqueue.Outbox{DB: db}, Links: links}).Commands()...)
	return srv, links, r, db
}

func fetch(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestOverviewLinkIsTheUsersAndExpires(t *testing.T) {
	t.Parallel()
	srv, links, r, db := overviewServerDB(t)
	reply := r.Answer(context.Background(), bot.Message{ID: "o1", UserID: "zhaoliu", Text: "概览", ChatType: "single"})
	i := strings.Index(reply, srv.URL)
	if i < 0 {
		t.Fatalf("概览 reply has no link: %s", reply)
	}
	link := strings.Fields(reply[i:])[0]
	link = strings.SplitN(link, "\n", 2)[0]
	code, body := fetch(t, link+"&m=2026-11")
	if code != 200 || !strings.Contains(body, "城关镇") || !strings.Contains(body, "progress.png") {
		t.Fatalf("overview: %d\n%s", code, body)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	// the picture behind the page
	code, png := fetch(t, srv.URL+u.Path+"/progress.png?"+q.Encode()+"&m=2026-11")
	if code != 200 {
		t.Fatalf("progress.png: %d %s", code, png)
	}
	chartstest.CheckPNG(t, []byte(png))
	// drill-down: masked names only
	code, body = fetch(t, srv.URL+u.Path+"/cases?"+q.Encode()+"&m=2026-11&t=城关镇")
	if code != 200 || !strings.Contains(body, "全部案件（5 件）") || !strings.Contains(body, "王*一") ||
		strings.Contains(body, "王试一") || strings.Contains(body, "990101") {
		t.Fatalf("drill-down: %d\n%s", code, body)
	}
	// filters: one township, a bad month, an unknown township
	code, body = fetch(t, srv.URL+u.Path+"?"+q.Encode()+"&m=2026-11&t=河口乡")
	if code != 200 || !strings.Contains(body, "2026年11月 河口乡") || strings.Contains(body, "<td>城关镇</td>") {
		t.Errorf("township filter: %d\n%s", code, body)
	}
	if code, body = fetch(t, srv.URL+u.Path+"?"+q.Encode()+"&m=2026-13"); code != 400 || !strings.Contains(body, "月份应写作") {
		t.Errorf("bad month: %d %s", code, body)
	}
	if code, body = fetch(t, srv.URL+u.Path+"?"+q.Encode()+"&t=大山乡"); code != 400 || !strings.Contains(body, "没有名为") {
		t.Errorf("unknown township: %d %s", code, body)
	}
	// the month in progress (the store's today is in 2026-12) is labelled 截至今日
	if code, body = fetch(t, srv.URL+u.Path+"?"+q.Encode()); code != 200 || !strings.Contains(body, "截至今日：本月尚未结束，尚未办结 ") {
		t.Errorf("month in progress: %d\n%s", code, body)
	}
	// overdue drill-down lists exactly the township's overdue bar, names masked
	code, body = fetch(t, srv.URL+u.Path+"/cases?"+q.Encode()+"&m=2026-11&t=城关镇&p=overdue")
	if code != 200 || !strings.Contains(body, "逾期（1 件）") || !strings.Contains(body, "赵*四") || strings.Contains(body, "赵试四") {
		t.Errorf("overdue drill-down: %d\n%s", code, body)
	}
	// another user's path with this signature, an altered signature, an expired link
	if code, body = fetch(t, srv.URL+"/overview/zhangsan?"+q.Encode()); code != 403 || !strings.Contains(body, "无效") {
		t.Errorf("link moved to another user: %d %s", code, body)
	}
	bad := url.Values{"e": {q.Get("e")}, "s": {strings.Repeat("0", len(q.Get("s")))}}
	if code, _ = fetch(t, srv.URL+u.Path+"?"+bad.Encode()); code != 403 {
		t.Errorf("altered signature: %d", code)
	}
	old := &handlers.FormLinks{Secret: links.Secret, Now: func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }}
	if code, body = fetch(t, srv.URL+old.OverviewPath("zhaoliu")); code != 403 || !strings.Contains(body, "已过期") {
		t.Errorf("expired link: %d %s", code, body)
	}
	// the drill-downs' cases are in the access log as viewed; the refused links as refused
	var viewed, refused int
	viewed = pgtest.Count(t, db, `SELECT count(*) FROM access_log WHERE user_id = 'zhaoliu' AND action = 'view' AND detail = '概览案件清单'`)
	refused = pgtest.Count(t, db, `SELECT count(*) FROM access_log WHERE action = 'refused' AND detail LIKE '概览%'`)
	if viewed != 5+1 || refused < 3 {
		t.Errorf("access log: %d cases viewed (want 6), %d refusals (want at least 3)", viewed, refused)
	}
	exp, _ := strconv.ParseInt(q.Get("e"), 10, 64)
	if time.Unix(exp, 0).Sub(links.Now()) > handlers.OverviewTTL {
		t.Errorf("link lives past its TTL")
	}
	// a cadre, even with a well-signed link, is refused; nor can a cadre ask for one
	if code, body = fetch(t, srv.URL+links.OverviewPath("zhangsan")); code != 403 || !strings.Contains(body, "只对县扶贫办和县领导开放") {
		t.Errorf("cadre on the overview: %d %s", code, body)
	}
	if got := r.Answer(context.Background(), bot.Message{ID: "o2", UserID: "zhangsan", Text: "概览", ChatType: "single"}); strings.Contains(got, "/overview/") {
		t.Errorf("a cadre got an overview link: %s", got)
	}
}

// The page in headless Chromium at phone and desktop width: the charts load, nothing runs
// off the side, and the screenshots are kept (FANGPIN_SCREENSHOT_DIR, else the test's
// temporary directory) to look at.
func TestOverviewPageInBrowser(t *testing.T) {
	t.Parallel()
	bctx := browsertest.New(t)
	srv, links, _ := overviewServer(t)
	page := srv.URL + links.OverviewPath("zhaoliu") + "&m=2026-11"
	dir := os.Getenv("FANGPIN_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 900)); err != nil { // starts the browser, without a timeout
		t.Fatal(err)
	}
	for _, width := range []int64{390, 1280} {
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
		err := chromedp.Do(ctx,
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(page),
			chromedp.WaitVisible(css("#townships")),
		)
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("progress-chart").complete && document.getElementById("stats-chart").complete`))
		}
		var loaded bool
		var overflow int64
		var heading string
		var shot []byte
		if err == nil {
			loaded, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("progress-chart").naturalWidth >= 800 && document.getElementById("stats-chart").naturalWidth >= 800`))
		}
		if err == nil {
			overflow, err = chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth - window.innerWidth`))
		}
		if err == nil {
			heading, err = chromedp.Run(ctx, chromedp.Text(css("h1")))
		}
		if err == nil {
			shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		cancel()
		if err != nil {
			t.Fatalf("width %d: %v", width, err)
		}
		if !loaded {
			dbg, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`[document.getElementById("progress-chart").naturalWidth, document.getElementById("progress-chart").src].join(" ")`))
			t.Errorf("width %d: the charts did not load: %s", width, dbg)
		}
		if overflow > 0 {
			t.Errorf("width %d: the page is %d px wider than the screen", width, overflow)
		}
		if heading != "防返贫监测进度概览" {
			t.Errorf("heading %q", heading)
		}
		p := filepath.Join(dir, "overview-"+strconv.FormatInt(width, 10)+".png")
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// withLeader adds a leader to the directory: the org file's leader role is stored by
// another change (docs/charts.md), the commands and the page only read the actor's role.
type withLeader struct{ handlers.Directory }

func (d withLeader) Actor(ctx context.Context, userid string) (cases.Actor, error) {
	if userid == "lingdao" {
		return cases.Actor{UserID: "lingdao", Name: "林导", Role: cases.RoleLeader}, nil
	}
	return d.Directory.Actor(ctx, userid)
}

// A leader reads 进度 (text and picture), 统计 and the overview; changing anything is not
// among the leader's commands.
func TestLeaderReadsProgressAndTheOverview(t *testing.T) {
	t.Parallel()
	db, _ := monthtest.Setup(t)
	dir := withLeader{db}
	links := &handlers.FormLinks{Secret: []byte("overview-secret"), Now: db.Now}
	srv := httptest.NewServer(&handlers.Overview{Store: db, Users: dir, Links: links})
	defer srv.Close()
	links.BaseURL = srv.URL
	out := &pgqueue.Outbox{DB: db}
	r := handlers.NewRouter(dir, out, nil)
	r.Register((&handlers.Reports{Store: db, Out: out, Links: links}).Commands()...)
	ctx := context.Background()
	if got := r.Answer(ctx, bot.Message{ID: "l1", UserID: "lingdao", Text: "进度 2026-11", ChatType: "single"}); !strings.Contains(got, "城关镇：交办 5") {
		t.Errorf("leader 进度: %s", got)
	}
	if m, ok := outbox(t, db)["chart:progress:l1"]; !ok || m.Target != "lingdao" || m.MsgType != "image" {
		t.Errorf("leader's chart: %+v", m)
	}
	if got := r.Answer(ctx, bot.Message{ID: "l2", UserID: "lingdao", Text: "导出 2026-11", ChatType: "single"}); !strings.Contains(got, "只有县扶贫办") {
		t.Errorf("leader 导出: %s", got)
	}
	reply := r.Answer(ctx, bot.Message{ID: "l3", UserID: "lingdao", Text: "概览", ChatType: "single"})
	i := strings.Index(reply, srv.URL)
	if i < 0 {
		t.Fatalf("概览 reply: %s", reply)
	}
	if code, body := fetch(t, strings.Fields(reply[i:])[0]); code != 200 || !strings.Contains(body, "各乡镇") {
		t.Errorf("leader's overview: %d %s", code, body)
	}
}
