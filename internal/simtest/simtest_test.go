package simtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/internal/simtest"
)

// PushFile sends what the push API reads: the token, category, period and the file.
func TestPushFile(t *testing.T) {
	var status int
	var answer string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/batches" || r.Header.Get("Authorization") != "Bearer demo-token-ybj" {
			http.Error(w, "wrong path or token", http.StatusUnauthorized)
			return
		}
		f, h, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(f)
		if r.FormValue("category") != "medical" || r.FormValue("period") != "2026-10" || h.Filename != "医保局.csv" || string(body) != "a,b\n" {
			http.Error(w, "wrong form", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer api.Close()
	ctx := context.Background()
	push := func() (simtest.PushAnswer, error) {
		return simtest.PushFile(ctx, api.URL, "demo-token-ybj", cases.CatMedical, "2026-10", "医保局.csv", []byte("a,b\n"))
	}

	status, answer = http.StatusCreated, `{"department":"医保局","rows":3,"accepted":2,"rejected":1,"warnings":2}`
	a, err := push()
	if err != nil || a.Status != 201 || a.Department != "医保局" || a.Rows != 3 || a.Accepted != 2 || a.Warnings != 2 {
		t.Fatalf("created: %+v %v", a, err)
	}
	status, answer = http.StatusUnprocessableEntity, `{"error":"文件读不出来"}`
	if a, err := push(); err == nil || a.Status != 422 || !strings.Contains(err.Error(), "文件读不出来") {
		t.Errorf("refused push: %+v %v", a, err)
	}
	status, answer = http.StatusOK, `not json`
	if _, err := push(); err == nil || !strings.Contains(err.Error(), "not json") {
		t.Errorf("an answer that is no batch: %v", err)
	}
}

// The finders look at what the bot sent through the simulator, as WeCom would record it.
func TestFindersReadWhatTheBotSent(t *testing.T) {
	sim := wecomtest.NewServer()
	defer sim.Close()
	sim.AddChat("wrCG0001", "城关镇防返贫工作群", []string{"zhangsan", "lisi"})
	api := bot.NewClient(sim.URL, sim.CorpID, sim.AgentID, sim.Secret, cache.NewMemory())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	send := func(path string, body map[string]any) {
		t.Helper()
		if path == "message/send" {
			body["agentid"] = sim.AgentID
		}
		if err := api.PostJSON(ctx, path, body, nil); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	text := func(s string) map[string]any { return map[string]any{"content": s} }
	card := func(task string) map[string]any {
		return map[string]any{"card_type": "multiple_interaction", "task_id": task}
	}

	details := "【防返贫预警】您负责的新案件\n编号：YJ202611-0001\n核查表单：http://127.0.0.1:8080/form/YJ202611-0001?u=zhangsan&e=1&s=ab\n请核实。"
	send("message/send", map[string]any{"touser": "zhangsan", "msgtype": "text", "text": text(details)})
	send("message/send", map[string]any{"touser": "zhangsan", "msgtype": "template_card", "template_card": card("YJ202611-0001_a")})
	send("message/send", map[string]any{"touser": "zhangsan", "msgtype": "template_card", "template_card": card("YJ202611-0001_b")})
	send("message/send", map[string]any{"touser": "zhangsan", "msgtype": "template_card", "template_card": card("YJ202611-0012_a")})
	send("message/send", map[string]any{"touser": "zhangsan", "msgtype": "text",
		"text": text("案件 YJ202611-0001 已退回（核查表单：http://127.0.0.1:8080/form/YJ202611-0001?u=zhangsan&e=2&s=cd）请重新核查。")})
	send("appchat/send", map[string]any{"chatid": "wrCG0001", "msgtype": "text", "text": text("防返贫预警交办 @张三")})
	if err := api.WebhookSend(ctx, "hekou", map[string]any{"msgtype": "text",
		"text": map[string]any{"content": "防返贫预警交办", "mentioned_list": []string{"qianyi"}}}); err != nil {
		t.Fatal(err)
	}

	if got := simtest.CardTask(sim, "zhangsan", "YJ202611-0001"); got != "YJ202611-0001_b" {
		t.Errorf("CardTask = %q, want the latest card on the case", got)
	}
	if simtest.Card(sim, "zhangsan", "YJ202611-0002") != nil || simtest.Card(sim, "lisi", "YJ202611-0001") != nil {
		t.Error("a card was found for another case or user")
	}
	if got := simtest.PrivateDetails(sim, "zhangsan", "YJ202611-0001"); got != details {
		t.Errorf("PrivateDetails = %q", got)
	}
	if got := simtest.FormLinkIn(details); got != "http://127.0.0.1:8080/form/YJ202611-0001?u=zhangsan&e=1&s=ab" {
		t.Errorf("FormLinkIn = %q", got)
	}
	if got := simtest.FormLink(sim, "zhangsan", "YJ202611-0001"); got != "http://127.0.0.1:8080/form/YJ202611-0001?u=zhangsan&e=2&s=cd" {
		t.Errorf("FormLink = %q, want the latest link, without the closing bracket", got)
	}
	if got := simtest.FormLink(sim, "lisi", "YJ202611-0001"); got != "" {
		t.Errorf("FormLink for lisi = %q", got)
	}
	cg := simtest.GroupMessages(sim, simtest.Group{AppChat: "wrCG0001"})
	hk := simtest.GroupMessages(sim, simtest.Group{WebhookKey: "hekou"})
	if len(cg) != 1 || len(hk) != 1 || cg[0].API != "appchat/send" || hk[0].API != "webhook/send" {
		t.Fatalf("GroupMessages: %+v %+v", cg, hk)
	}
	if !simtest.Mentions(cg, "zhangsan", "张三") || simtest.Mentions(cg, "lisi", "李四") ||
		!simtest.Mentions(hk, "qianyi", "钱一") || simtest.Mentions(hk, "zhouer", "周二") {
		t.Error("Mentions")
	}
	if got, err := simtest.Reply(ctx, sim, "zhangsan", 1, "退回"); err != nil || !strings.Contains(got, "已退回") {
		t.Errorf("Reply with a marker: %q %v", got, err)
	}
	if got, err := simtest.Reply(ctx, sim, "zhangsan", 0, ""); err != nil || got != details {
		t.Errorf("Reply: %q %v", got, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if err := simtest.WaitPrivate(short, sim, "zhangsan", len(sim.SentTo("zhangsan"))); err == nil {
		t.Error("WaitPrivate returned without a new message")
	}
	if err := simtest.WaitPrivate(ctx, sim, "zhangsan", 0); err != nil {
		t.Error(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(simtest.TextOf(hk[0]), "\n", 2)[1]), &body); err != nil || body["msgtype"] != "text" {
		t.Errorf("TextOf: %q %v", simtest.TextOf(hk[0]), err)
	}
}
