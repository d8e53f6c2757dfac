package main

import (
	"context"
	"encoding/json"
	"github.com/fangpin/fangpin/announce"
	"github.com/fangpin/fangpin/cases"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/internal/browsertest"
	"github.com/fangpin/fangpin/internal/redistest"
)

// startDemoServe runs the real serve wiring (startServeOn) with H5 form links, the example
// county and two dispatched cases of 城关镇, against a simulator that serves its web page.
func startDemoServe(t *testing.T) (sim *wecomtest.Server, base string) {
	t.Helper()
	sim = wecomtest.NewServer()
	t.Cleanup(sim.Close)
	t.Setenv("FANGPIN_FORM_SECRET", "simweb-"+redistest.Prefix())
	base, _, s := startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), nil)
	org, err := orgfile.Load("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	simDirectory(sim, org)
	if res, err := createTownshipChats(context.Background(), s.DB, s.API); err != nil || len(res.Created) != 4 {
		t.Fatalf("chats create: %+v %v", res, err)
	}
	sim.Swap(sim.WebHandler())

	g := synth.New(11)
	pgtest.InsertWarning(t, s.DB, pgtest.Warning{Department: "民政局", Category: "assistance", Rule: "every_row",
		IDNumber: g.IDNumber(1968), Name: "周建华", Township: "城关镇", Village: "示例一村", Detail: map[string]any{"救助类别": "低保"}})
	pgtest.InsertWarning(t, s.DB, pgtest.Warning{Department: "人社局", Category: "employment", Rule: "every_row",
		IDNumber: g.IDNumber(1975), Name: "刘秀英", Township: "城关镇", Village: "示例二村", Detail: map[string]any{"类型": "零就业家庭"}})
	links := s.Env.formLinks()
	res, err := s.DB.Dispatch(context.Background(), cases.DispatchOptions{Announce: (&announce.Announcer{Links: links}).Announce})
	if err != nil || res.CasesCreated != 2 {
		t.Fatalf("dispatch: %+v %v", res, err)
	}
	return sim, base
}

func TestSimulatorWebPageInBrowser(t *testing.T) {
	ctx := browsertest.New(t)
	sim, _ := startDemoServe(t)
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	// The round's messages reach the simulator: the group text and zhangsan's two cards.
	err := sim.Wait(wctx, func([]wecomtest.Sent) bool {
		cards := 0
		for _, m := range sim.SentTo("zhangsan") {
			if m.MsgType == "template_card" {
				cards++
			}
		}
		return cards == 2 && len(sim.SentInChat("wrCG0001")) == 1
	})
	if err != nil {
		t.Fatal(err)
	}

	// The JSON API the page reads.
	var chats struct {
		Chats []struct{ ID, Name, Kind string }
	}
	getJSON(t, sim.URL+"/sim/api/chats?user=zhangsan", &chats)
	if len(chats.Chats) != 2 || chats.Chats[0].Kind != "private" || chats.Chats[1].ID != "wrCG0001" || chats.Chats[1].Name != "城关镇防返贫预警工作群" {
		t.Errorf("zhangsan's chats: %+v", chats.Chats)
	}
	getJSON(t, sim.URL+"/sim/api/chats?user=zhaoliu", &chats)
	if len(chats.Chats) != 7 {
		t.Errorf("the office sees %d chats, want the private one and all six groups", len(chats.Chats))
	}

	// the first Do starts the browser and must not carry a timeout; later steps do
	if err := chromedp.Do(ctx, chromedp.Navigate(sim.URL+"/")); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	// The page re-draws its lists as it polls, so a node found a moment ago may be gone by
	// the click: find and click in one step, again until it takes.
	click := func(sel string) chromedp.Action[bool] {
		return chromedp.Poll[bool]("(() => { const e = document.querySelector(" + strconv.Quote(sel) + "); if (!e) return false; e.click(); return true })()")
	}
	hasText := func(sel, text string) chromedp.Action[bool] {
		return chromedp.Poll[bool]("[...document.querySelectorAll(" + strconv.Quote(sel) + ")].some(e => e.textContent.includes(" + strconv.Quote(text) + "))")
	}
	for _, sel := range []string{`.user-item[data-user="zhangsan"]`, `.chat-item[data-kind="private"]`} {
		if _, err := chromedp.Run(tctx, click(sel)); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	err = chromedp.Do(tctx,
		chromedp.WaitVisible(css(".tcard .submit")),
		chromedp.SendKeys(css("#input"), "待办"),
		chromedp.Click(css("#send")),
	)
	if err != nil {
		t.Fatalf("open the private chat and send 待办: %v", err)
	}
	if _, err := chromedp.Run(tctx, hasText(".row:not(.mine) .bubble", "城关镇未办结案件 2 件")); err != nil {
		t.Fatalf("the reply to 待办 did not appear: %v", err)
	}
	if path := os.Getenv("FANGPIN_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mine, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".row.mine .bubble")].map(e => e.textContent)`))
	if err != nil || len(mine) != 1 || mine[0] != "待办" {
		t.Errorf("own messages: %q %v", mine, err)
	}

	// Tap the first card's option and submit: the card shows what was recorded and the
	// bot confirms in the chat.
	if err := chromedp.Do(tctx, chromedp.SetValue(css(`.tcard select[data-q="result"]`), "monitored")); err != nil {
		t.Fatalf("choose on the card: %v", err)
	}
	if _, err := chromedp.Run(tctx, click(".tcard .submit")); err != nil {
		t.Fatalf("submit the card: %v", err)
	}
	if _, err := chromedp.Run(tctx, hasText(".tcard .state", "已登记：已在监测")); err != nil {
		t.Fatalf("the card was not updated: %v", err)
	}
	if _, err := chromedp.Run(tctx, hasText(".row .bubble", "核查结论“已在监测”")); err != nil {
		t.Fatalf("no confirmation after the card: %v", err)
	}
	if _, err := chromedp.Run(tctx, hasText(".note", "张三 提交了卡片：核查结论：已在监测")); err != nil {
		t.Errorf("the click is not shown: %v", err)
	}

	// A refused tap (不纳入 needs a written reason) turns the second card back to its
	// choices with the reason; 核查 typed in chat then updates that card to the outcome.
	second := `[...document.querySelectorAll(".tcard")].filter(c => c.querySelector(".submit"))[0]`
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`(() => { const c = `+second+`; c.querySelector("select").value = "exclude"; c.querySelector(".submit").click(); return true })()`)); err != nil {
		t.Fatalf("tap the second card: %v", err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](`[...document.querySelectorAll(".tcard")].some(c => c.textContent.includes("未登记") && c.querySelector(".submit") && !c.querySelector(".submit").disabled)`)); err != nil {
		t.Fatalf("the refused card did not come back with its choices and the reason: %v", err)
	}
	no2, err := chromedp.Run(tctx, chromedp.Evaluate[string](`(() => { const c = [...document.querySelectorAll(".tcard")].find(c => c.textContent.includes("未登记")); return c.dataset.task.split("_")[0] })()`))
	if err != nil || no2 == "" {
		t.Fatalf("second card's case: %q %v", no2, err)
	}
	err = chromedp.Do(tctx, chromedp.SendKeys(css("#input"), "核查 "+no2+" 纳入 已入户核实"), chromedp.Click(css("#send")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](`[...document.querySelectorAll(".tcard")].filter(c => c.querySelector(".state")).length == 2 && !document.querySelector(".tcard .submit")`)); err != nil {
		t.Fatalf("the card of a case verified in chat still has a live button: %v", err)
	}
	if _, err := chromedp.Run(tctx, hasText(".tcard .state", "已登记：纳入")); err != nil {
		t.Fatalf("the card does not show the chat's outcome: %v", err)
	}

	// In the township group the round's text is there, and an @-mention is answered there.
	for _, sel := range []string{"#back-chats", `.chat-item[data-chat="wrCG0001"]`} {
		if _, err := chromedp.Run(tctx, click(sel)); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	if _, err := chromedp.Run(tctx, hasText(".row .bubble", "【防返贫预警交办】")); err != nil {
		t.Fatalf("the group lacks the round's message: %v", err)
	}
	err = chromedp.Do(tctx, chromedp.SendKeys(css("#input"), "帮助"), chromedp.Click(css("#send")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, hasText(".row:not(.mine) .bubble", "张三您好")); err != nil {
		t.Fatalf("no answer to the @-mention in the group: %v", err)
	}
	if got := sim.SentInChat("wrCG0001"); len(got) != 2 || got[1].API != "aibot/response" {
		t.Errorf("group messages: %+v", got)
	}

	// The summary's link to the township's list opens, as in WeCom, with the member's
	// identity (OAuth): zhangsan sees the township's cases, his own first, each with its form.
	href, err := chromedp.Run(tctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".row .bubble a")].map(a => a.href).find(h => h.includes("sim/open") && h.includes("tasks"))`))
	if err != nil || href == "" {
		t.Fatalf("no township list link in the group: %q %v", href, err)
	}
	err = chromedp.Do(tctx, chromedp.Navigate(href), chromedp.WaitVisible(css("#intro")))
	if err != nil {
		t.Fatalf("open the township list: %v", err)
	}
	list, err := chromedp.Run(tctx, chromedp.Text(css("main")))
	if err != nil || !strings.Contains(list, "城关镇 待办案件") || !strings.Contains(list, "张三您好") {
		t.Fatalf("the township list: %v\n%s", err, list)
	}
	err = chromedp.Do(tctx, chromedp.Click(css("a.case")), chromedp.WaitVisible(css("#submit")))
	if err != nil {
		t.Fatalf("open a case from the list: %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// Issue 27: `sim --org` and `chats create` agree. The simulator knows the people and the
// group robots; the appchats are made by `chats create` as in WeCom, named as it names them,
// and a second run finds them all there and fails none.
func TestChatsCreateAgreesWithSimOrg(t *testing.T) {
	sim, _ := startDemoServe(t)
	var chats struct {
		Chats []struct{ ID, Name, Kind string }
	}
	getJSON(t, sim.URL+"/sim/api/chats?user=zhangsan", &chats)
	if len(chats.Chats) != 2 || chats.Chats[1].ID != "wrCG0001" || chats.Chats[1].Name != "城关镇防返贫预警工作群" {
		t.Errorf("zhangsan's chats: %+v", chats.Chats)
	}
	getJSON(t, sim.URL+"/sim/api/chats?user=qianyi", &chats) // 河口乡: a group robot
	if len(chats.Chats) != 2 || chats.Chats[1].ID != "demo-hekou-key" || chats.Chats[1].Name != "河口乡防返贫预警工作群" {
		t.Errorf("qianyi's chats: %+v", chats.Chats)
	}
	getJSON(t, sim.URL+"/sim/api/chats?user=zhaoliu", &chats)
	if len(chats.Chats) != 7 {
		t.Errorf("the office sees %d chats, want the private one and all six groups", len(chats.Chats))
	}
	t.Setenv("FANGPIN_ADDR", "127.0.0.1:0")
	code, out := run(t, "chats", "create", "--json")
	if code != 0 || strings.TrimSpace(out) != `{"created":[],"existing":["wrCG0001","wrQS0003","wrLL0005","wrBS0006"],"failed":[]}` {
		t.Errorf("chats create again: %d %s", code, out)
	}
}
