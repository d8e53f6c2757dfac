package wecomtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/bot"
)

// A file sent from the page reaches the AI bot as WeCom sends it: a signed, encrypted
// msgtype=file callback whose address, on the simulator's host, serves the encrypted bytes
// that its aeskey opens; the page shows the file and downloads it.
func TestPageSendsAFileAsWeComDoes(t *testing.T) {
	s := NewServer()
	defer s.Close()
	got := make(chan bot.Message, 1)
	fakeBot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct{ Encrypt string }
		json.Unmarshal(body, &env)
		q := r.URL.Query()
		plain, err := s.AIBotCrypto().Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
		if err != nil {
			t.Errorf("callback does not open: %v", err)
			return
		}
		m, err := bot.ParseAIBotMessage(plain)
		if err != nil {
			t.Errorf("callback: %v", err)
			return
		}
		got <- m
	}))
	defer fakeBot.Close()
	s.AIBotCallbackURL = fakeBot.URL + "/wecom/aibot"
	s.AddPerson(Person{UserID: "wangwu", Name: "王五"})
	s.Swap(s.WebHandler())

	content := []byte("姓名,身份证号\n张三,1\n")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("user", "wangwu")
	fw, _ := mw.CreateFormFile("file", "医保.csv")
	fw.Write(content)
	mw.Close()
	resp, err := http.Post(s.URL+"/sim/api/file", mw.FormDataContentType(), &body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /sim/api/file: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	m := <-got
	if m.File == nil || m.UserID != "wangwu" || m.ChatType != "single" {
		t.Fatalf("message = %+v", m)
	}
	// The bot downloads from the simulator's host, and the key opens the bytes.
	c := bot.NewClient(s.URL, s.CorpID, s.AgentID, s.Secret, nil)
	var plain bytes.Buffer
	name, _, err := c.Download(t.Context(), *m.File, "", 1<<20, &plain)
	if err != nil || name != "医保.csv" || !bytes.Equal(plain.Bytes(), content) {
		t.Fatalf("download: name %q, %q, err %v", name, plain.String(), err)
	}
	if s.Downloads() != 1 {
		t.Errorf("downloads = %d", s.Downloads())
	}
	// After five minutes the address answers WeCom's error.
	s.ExpireFiles()
	if _, _, err := c.Download(t.Context(), *m.File, "", 1<<20, &bytes.Buffer{}); err != bot.ErrDownloadGone {
		t.Errorf("expired: %v", err)
	}
	// The page shows the file in wangwu's private chat, downloadable.
	var p page
	call(t, "GET", s.URL+"/sim/api/messages?user=wangwu&chat=&after=0", nil, &p)
	if len(p.Messages) != 1 || p.Messages[0].Kind != "file" || p.Messages[0].Content != "医保.csv" {
		t.Fatalf("messages = %+v", p.Messages)
	}
	u, _ := url.Parse(s.URL + "/")
	dl, err := http.Get(u.ResolveReference(&url.URL{Path: strings.SplitN(p.Messages[0].File, "?", 2)[0], RawQuery: strings.SplitN(p.Messages[0].File, "?", 2)[1]}).String())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if !bytes.Equal(data, content) {
		t.Errorf("page download = %q", data)
	}
}
