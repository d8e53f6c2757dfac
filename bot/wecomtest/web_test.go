package wecomtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func call(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

type page struct {
	Messages []webMsg
	Cursor   int64
}

// The page's API sorts what the bot sent and what users typed into conversations.
func TestWebAPIConversations(t *testing.T) {
	s := NewServer()
	defer s.Close()
	var callbacks atomic.Int64
	fakeBot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { callbacks.Add(1) }))
	defer fakeBot.Close()
	s.AppCallbackURL, s.AIBotCallbackURL = fakeBot.URL+"/wecom/callback", fakeBot.URL+"/wecom/aibot"
	s.AddPerson(Person{UserID: "zhangsan", Name: "张三", Role: "乡村干部 · 城关镇"})
	s.AddUser("zhaoliu", "赵六")
	s.AddPerson(Person{UserID: "zhaoliu", Name: "赵六", Role: "县扶贫办", AllChats: true})
	s.AddChat("wrCG0001", "城关镇防返贫工作群", []string{"zhangsan", "lisi"})
	s.AddChat("hekou-key", "河口乡防返贫工作群", []string{"qianyi"})
	s.Swap(s.WebHandler())

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "GET", s.URL+"/cgi-bin/gettoken?corpid="+s.CorpID+"&corpsecret="+s.Secret, nil, &tok)
	q := "?access_token=" + tok.AccessToken
	var res map[string]any
	call(t, "POST", s.URL+"/cgi-bin/appchat/send"+q, map[string]any{"chatid": "wrCG0001", "msgtype": "text", "text": map[string]any{"content": "群通知"}}, &res)
	if res["errcode"] != float64(0) {
		t.Fatalf("appchat/send to an added chat: %v", res)
	}
	call(t, "POST", s.URL+"/cgi-bin/webhook/send?key=hekou-key", map[string]any{"msgtype": "text", "text": map[string]any{"content": "河口通知", "mentioned_list": []string{"qianyi"}}}, nil)
	card := map[string]any{"card_type": "multiple_interaction", "task_id": "T1",
		"select_list":   []any{map[string]any{"question_key": "result", "title": "核查结论", "option_list": []any{map[string]any{"id": "include", "text": "纳入"}}}},
		"submit_button": map[string]any{"text": "提交", "key": "submit"}}
	call(t, "POST", s.URL+"/cgi-bin/message/send"+q, map[string]any{"touser": "zhangsan", "agentid": s.AgentID, "msgtype": "template_card", "template_card": card}, &res)
	rc, _ := res["response_code"].(string)
	if rc == "" {
		t.Fatalf("template card answer lacks response_code: %v", res)
	}
	call(t, "POST", s.URL+"/cgi-bin/message/update_template_card"+q, map[string]any{"userids": []string{"zhangsan"}, "agentid": s.AgentID, "response_code": rc, "replace_name": "x"}, &res)
	if res["errcode"] != float64(40058) {
		t.Errorf("an update without button.replace_name was accepted: %v", res)
	}
	call(t, "POST", s.URL+"/cgi-bin/message/update_template_card"+q, map[string]any{"userids": []string{"zhangsan"}, "agentid": s.AgentID, "response_code": rc, "button": map[string]any{"replace_name": "已登记：纳入"}}, &res)
	if res["errcode"] != float64(0) {
		t.Errorf("card update: %v", res)
	}

	if code := call(t, "POST", s.URL+"/sim/api/say", map[string]any{"user": "zhangsan", "text": "待办"}, nil); code != 200 {
		t.Fatalf("say: %d", code)
	}
	if code := call(t, "POST", s.URL+"/sim/api/say", map[string]any{"user": "zhangsan", "chat": "wrCG0001", "text": "帮助"}, nil); code != 200 {
		t.Fatalf("say in group: %d", code)
	}
	if code := call(t, "POST", s.URL+"/sim/api/click", map[string]any{"user": "zhangsan", "task_id": "T1", "response_code": rc, "event_key": "submit", "selected": map[string]any{"result": []string{"include"}}}, nil); code != 204 {
		t.Fatalf("click: %d", code)
	}
	if callbacks.Load() != 3 {
		t.Errorf("the bot got %d callbacks, want 3", callbacks.Load())
	}

	var p page
	call(t, "GET", s.URL+"/sim/api/messages?user=zhangsan&chat=", nil, &p)
	var kinds []string
	for _, m := range p.Messages {
		kinds = append(kinds, m.Kind+":"+m.Content)
	}
	if got := strings.Join(kinds, " "); got != "template_card: card_update: text:待办 click:核查结论：纳入" {
		t.Errorf("private chat: %s", got)
	}
	if p.Messages[0].ResponseCode != rc || p.Messages[2].From != "zhangsan" || p.Messages[2].Name != "张三" {
		t.Errorf("private chat details: %+v", p.Messages)
	}
	call(t, "GET", s.URL+"/sim/api/messages?user=zhangsan&chat=wrCG0001", nil, &p)
	if len(p.Messages) != 2 || p.Messages[0].Content != "群通知" || p.Messages[1].Content != "帮助" {
		t.Errorf("group: %+v", p.Messages)
	}
	call(t, "GET", s.URL+"/sim/api/messages?user=qianyi&chat=hekou-key", nil, &p)
	if len(p.Messages) != 1 || p.Messages[0].Content != "河口通知" || len(p.Messages[0].Mentions) != 1 {
		t.Errorf("webhook group: %+v", p.Messages)
	}
	cur := p.Cursor
	call(t, "GET", s.URL+"/sim/api/messages?user=qianyi&chat=hekou-key&after="+itoa(cur), nil, &p)
	if len(p.Messages) != 0 {
		t.Errorf("after the cursor: %+v", p.Messages)
	}

	var chats struct{ Chats []chatItem }
	call(t, "GET", s.URL+"/sim/api/chats?user=zhangsan", nil, &chats)
	if len(chats.Chats) != 2 || chats.Chats[1].Name != "城关镇防返贫工作群" || chats.Chats[1].Last != "张三：帮助" {
		t.Errorf("zhangsan's chats: %+v", chats.Chats)
	}
	call(t, "GET", s.URL+"/sim/api/chats?user=zhaoliu", nil, &chats)
	if len(chats.Chats) != 3 {
		t.Errorf("the office's chats: %+v", chats.Chats)
	}
	var users struct{ Users []Person }
	call(t, "GET", s.URL+"/sim/api/users", nil, &users)
	if len(users.Users) != 2 || users.Users[1].Role != "县扶贫办" || !users.Users[1].AllChats {
		t.Errorf("users: %+v", users.Users)
	}
	resp, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "请选择您要扮演的成员") {
		t.Errorf("page: %d", resp.StatusCode)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// With a story's clock (Now), the page shows the story's dates; rate limits and codes keep
// the real time. /sim/open hands a link an OAuth code for the user, as WeCom's browser does.
func TestStoryClockAndOAuthOpen(t *testing.T) {
	s := NewServer()
	defer s.Close()
	story := time.Date(2026, 11, 10, 9, 0, 0, 0, chinaTime)
	s.Now = func() time.Time { return story }
	s.Swap(s.WebHandler())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	call(t, "GET", s.URL+"/cgi-bin/gettoken?corpid="+s.CorpID+"&corpsecret="+s.Secret, nil, &tok)
	var res map[string]any
	call(t, "POST", s.URL+"/cgi-bin/message/send?access_token="+tok.AccessToken,
		map[string]any{"touser": "zhangsan", "agentid": s.AgentID, "msgtype": "text", "text": map[string]any{"content": "你好"}}, &res)
	var p page
	call(t, "GET", s.URL+"/sim/api/messages?user=zhangsan&chat=", nil, &p)
	if len(p.Messages) != 1 || p.Messages[0].At != "11-10 09:00" {
		t.Errorf("message time on the page: %+v", p.Messages)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.URL + "/sim/open?user=zhangsan&url=" + url.QueryEscape("http://fp.example/tasks/?township=城关镇"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("township") != "城关镇" {
		t.Fatalf("open: %d %v", resp.StatusCode, loc)
	}
	if u := s.oauth[loc.Query().Get("code")]; u != "zhangsan" {
		t.Errorf("the code names %q, want zhangsan", u)
	}
	if resp, _ := hc.Get(s.URL + "/sim/open?user=zhangsan&url=" + url.QueryEscape("javascript:alert(1)")); resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a non-http address was followed")
	}
}
