package wecomtest

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
)

// The web page: a person picks a member of the simulated corp and sees, phone-sized, the
// private chat with the app and the groups that member is in, types commands and taps
// cards. Everything goes through the same signed, encrypted callbacks as in tests.

//go:embed web
var webFiles embed.FS

// Person is a member of the simulated corp as the web page lists them.
type Person struct {
	UserID string `json:"userid"`
	Name   string `json:"name"`
	// Role is shown next to the name, e.g. “乡村干部 · 城关镇”.
	Role string `json:"role,omitempty"`
	// AllChats: the member sees every group (e.g. the county office).
	AllChats bool `json:"all_chats,omitempty"`
}

// Group is a group chat the page shows: an appchat's chatid or a group robot's webhook
// key, named e.g. after its township. The AI bot's answers to @-mentions in it land there.
type Group struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// Said is something a user did in the simulator: typed text (in private, or in a group
// as an @-mention of the AI bot) or clicked a template card.
type Said struct {
	Seq    int64
	At     time.Time
	UserID string
	ChatID string // "" private chat with the app
	Text   string
	Click  *bot.CardEvent
	Note   string // a click as people read it: 核查结论：纳入
	// A file the user sent the AI bot in the private chat: its name and content.
	FileName string
	FileData []byte
}

// AppName is the app's name in private chats and appchat messages.
const AppName = "防返贫预警助手"

// AddPerson adds or updates a member (also known to user/get).
func (s *Server) AddPerson(p Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[p.UserID] = p.Name
	s.addPersonLocked(p, true)
}

func (s *Server) addPersonLocked(p Person, replace bool) {
	for i, q := range s.people {
		if q.UserID == p.UserID {
			if replace {
				s.people[i] = p
			} else {
				s.people[i].Name = p.Name
			}
			return
		}
	}
	s.people = append(s.people, p)
}

// AddChat registers a group: an appchat chatid (so appchat/send and appchat/get accept it
// as if it had been created) or a group robot's webhook key. Adding it again renames it
// and replaces its members.
func (s *Server) AddChat(id, name string, members []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats[id] = bot.AppChat{ChatID: id, Name: name, UserList: slices.Clone(members)}
	s.addGroupLocked(Group{ID: id, Name: name, Members: members})
}

func (s *Server) addGroupLocked(g Group) {
	g.Members = slices.Clone(g.Members)
	for i, h := range s.groups {
		if h.ID == g.ID {
			s.groups[i] = g
			return
		}
	}
	s.groups = append(s.groups, g)
}

// People lists the members in the order they were added.
func (s *Server) People() []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.people)
}

// Groups lists the groups in the order they were added.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.groups)
}

// Said returns what users typed and clicked through the web page, in order.
func (s *Server) Said() []Said {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.said)
}

func (s *Server) recordSaid(x Said) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evseq++
	x.Seq, x.At = s.evseq, s.stamp()
	s.said = append(s.said, x)
	close(s.changed)
	s.changed = make(chan struct{})
}

// Say plays userid typing text in the private chat (chat "") or, @-mentioning the AI bot,
// in group chat; the page shows it in that conversation.
func (s *Server) Say(ctx context.Context, userid, chat, text string) (string, error) {
	s.recordSaid(Said{UserID: userid, ChatID: chat, Text: text})
	if chat != "" {
		return s.SayInGroup(ctx, chat, userid, text)
	}
	return s.SayPrivately(ctx, userid, text)
}

// WebHandler is the simulator's whole site: the WeCom API under /cgi-bin/, the control
// endpoints under /sim/ (for scripts and the page) and the web page at /. Users' messages
// go to AppCallbackURL and AIBotCallbackURL. Serve it with s.Swap(s.WebHandler()).
//
//	GET  /sim/api/users                          {"app","bot","users":[Person]}
//	GET  /sim/api/chats?user=ID                  the private chat and the member's groups
//	GET  /sim/api/messages?user=ID&chat=&after=N one conversation after cursor N
//	POST /sim/api/say    {"user","chat","text"}  chat "" is the private chat
//	POST /sim/api/click  {"user","task_id","response_code","event_key","card_type","selected":{"q":["id"]}}
//	POST /sim/api/file   multipart user, file: the user sends the file to the AI bot in single chat
//	GET  /sim/api/file?seq=N                     a file message's content (sent by the bot or a user)
//	GET  /sim/open?user=ID&url=U                 opens U as WeCom's in-app browser does an OAuth link: with ?code= for the user
//	POST /sim/say        {"user","chat","text"} (as /sim/api/say)
//	GET  /sim/sent       every message the bot sent, and those WeCom dropped
//	POST /sim/fail       {"api":"message/send","code":-1,"n":3} or {"api":"*","code":500,"rate":0.3}
//	POST /sim/clear      removes the injected faults
func (s *Server) WebHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/cgi-bin/", s.Handler())
	say := func(w http.ResponseWriter, r *http.Request) {
		var req struct{ User, Chat, Text string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.User == "" || strings.TrimSpace(req.Text) == "" {
			http.Error(w, `需要 {"user","text"}，群聊再加 "chat"`, http.StatusBadRequest)
			return
		}
		id, err := s.Say(r.Context(), req.User, req.Chat, req.Text)
		if err != nil {
			http.Error(w, "机器人没有应答："+err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, map[string]string{"msgid": id})
	}
	mux.HandleFunc("POST /sim/say", say)
	mux.HandleFunc("POST /sim/api/say", say)
	mux.HandleFunc("POST /sim/api/click", s.webClick)
	mux.HandleFunc("POST /sim/api/file", s.webSendFile)
	mux.HandleFunc("GET /sim/api/file", s.webFile)
	mux.HandleFunc("GET /sim/open", s.webOpen)
	mux.HandleFunc("GET /sim/api/users", func(w http.ResponseWriter, r *http.Request) {
		people := s.People()
		if people == nil {
			people = []Person{}
		}
		writeJSON(w, map[string]any{"app": AppName, "bot": s.BotName, "users": people})
	})
	mux.HandleFunc("GET /sim/api/chats", s.webChats)
	mux.HandleFunc("GET /sim/api/messages", s.webMessages)
	mux.HandleFunc("GET /sim/sent", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"sent": s.Sent(), "dropped": s.Dropped()})
	})
	mux.HandleFunc("POST /sim/fail", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			API  string
			Code int
			N    int
			Rate float64
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.API == "" {
			http.Error(w, `需要 {"api","code","n"} 或 {"api","code","rate"}`, http.StatusBadRequest)
			return
		}
		if req.Rate > 0 {
			s.FailRate(req.API, req.Code, req.Rate)
		} else {
			s.FailNext(req.API, req.Code, max(req.N, 1))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /sim/clear", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	sub, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(sub)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	return mux
}

func (s *Server) webClick(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User         string              `json:"user"`
		TaskID       string              `json:"task_id"`
		ResponseCode string              `json:"response_code"`
		EventKey     string              `json:"event_key"`
		CardType     string              `json:"card_type"`
		Selected     map[string][]string `json:"selected"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.User == "" || req.TaskID == "" {
		http.Error(w, `需要 {"user","task_id","event_key","selected"}`, http.StatusBadRequest)
		return
	}
	if req.CardType == "" {
		req.CardType = "multiple_interaction"
	}
	ev := bot.CardEvent{TaskID: req.TaskID, EventKey: req.EventKey, CardType: req.CardType,
		ResponseCode: req.ResponseCode, Selected: req.Selected}
	s.recordSaid(Said{UserID: req.User, Click: &ev, Note: s.clickNote(req.TaskID, req.EventKey, req.Selected)})
	if err := s.ClickCard(r.Context(), req.User, ev); err != nil {
		http.Error(w, "机器人没有应答："+err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// webOpen plays WeCom's in-app browser opening a link that asks who the user is (OAuth,
// snsapi_base): the page gets ?code=, which the bot exchanges with auth/getuserinfo. Only
// http(s) addresses are followed.
func (s *Server) webOpen(w http.ResponseWriter, r *http.Request) {
	user, target := r.URL.Query().Get("user"), r.URL.Query().Get("url")
	u, err := url.Parse(target)
	if err != nil || user == "" || (u.Scheme != "http" && u.Scheme != "https") {
		http.Error(w, "需要 user 和 http(s) 地址 url", http.StatusBadRequest)
		return
	}
	q := u.Query()
	q.Set("code", s.OAuthCode(user))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// clickNote describes a click with the card's own words: “核查结论：纳入”.
func (s *Server) clickNote(taskID, key string, selected map[string][]string) string {
	var card map[string]any
	for _, m := range s.Sent() {
		tc, _ := m.Body["template_card"].(map[string]any)
		if tc != nil && fmt.Sprint(tc["task_id"]) == taskID {
			card = tc
		}
	}
	var parts []string
	lists, _ := card["select_list"].([]any)
	if cb, ok := card["checkbox"].(map[string]any); ok {
		lists = append(lists, cb)
	}
	for _, l := range lists {
		q, _ := l.(map[string]any)
		ids := selected[fmt.Sprint(q["question_key"])]
		if len(ids) == 0 {
			continue
		}
		var texts []string
		opts, _ := q["option_list"].([]any)
		for _, id := range ids {
			t := id
			for _, o := range opts {
				om, _ := o.(map[string]any)
				if fmt.Sprint(om["id"]) == id {
					t = fmt.Sprint(om["text"])
				}
			}
			texts = append(texts, t)
		}
		title, _ := q["title"].(string)
		if title == "" {
			title = fmt.Sprint(q["question_key"])
		}
		parts = append(parts, title+"："+strings.Join(texts, "、"))
	}
	if len(parts) == 0 {
		btns, _ := card["button_list"].([]any)
		for _, b := range btns {
			bm, _ := b.(map[string]any)
			if fmt.Sprint(bm["key"]) == key {
				parts = append(parts, fmt.Sprint(bm["text"]))
			}
		}
	}
	if len(parts) == 0 {
		return "点击了卡片"
	}
	return strings.Join(parts, "；")
}

// webMsg is one bubble of the page.
type webMsg struct {
	Seq          int64          `json:"seq"`
	At           string         `json:"at"`
	From         string         `json:"from"` // the userid who typed it; "" the bot
	Name         string         `json:"name"`
	Kind         string         `json:"kind"` // the msgtype, or card_update, click
	Content      string         `json:"content,omitempty"`
	Body         map[string]any `json:"body,omitempty"` // the msgtype's object; card_update: the whole request
	ResponseCode string         `json:"response_code,omitempty"`
	TaskID       string         `json:"task_id,omitempty"` // template_card, card_update: the card
	Mentions     []string       `json:"mentions,omitempty"`
	Truncated    bool           `json:"truncated,omitempty"`
	File         string         `json:"file,omitempty"` // file and image messages: where to fetch the content
}

// China has kept one offset without summer time since 1991.
var chinaTime = time.FixedZone("CST", 8*3600)

func (s *Server) names() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.users))
	for k, v := range s.users {
		out[k] = v
	}
	return out
}

// inConversation tells whether a sent message appears in user's private chat (chat "")
// or in group chat.
func inConversation(m Sent, user, chat string) bool {
	if chat != "" {
		switch m.API {
		case "appchat/send", "aibot/response":
			return m.ChatID == chat
		case "webhook/send":
			return m.WebhookKey == chat
		}
		return false
	}
	if m.API != "message/send" && m.API != "message/update_template_card" {
		return false
	}
	return slices.Contains(m.To, user) || slices.Contains(m.To, "@all")
}

// conversation is one chat's messages after seq, in order.
func (s *Server) conversation(user, chat string, after int64) []webMsg {
	names := s.names()
	var out []webMsg
	for _, m := range s.Sent() {
		if m.Seq <= after || !inConversation(m, user, chat) {
			continue
		}
		w := webMsg{Seq: m.Seq, At: m.At.In(chinaTime).Format("01-02 15:04"), Kind: m.MsgType, Content: m.Content,
			ResponseCode: m.ResponseCode, TaskID: m.TaskID, Truncated: m.Truncated}
		switch m.API {
		case "aibot/response":
			w.Name = s.BotName
		case "webhook/send":
			w.Name = AppName + "（群机器人）"
		default:
			w.Name = AppName
		}
		if m.API == "message/update_template_card" {
			w.Kind, w.Body = "card_update", m.Body
		} else if obj, ok := m.Body[m.MsgType].(map[string]any); ok {
			w.Body = obj
			if l, ok := obj["mentioned_list"].([]any); ok {
				for _, u := range l {
					id := fmt.Sprint(u)
					if id == "@all" {
						w.Mentions = append(w.Mentions, "所有人")
					} else if n := names[id]; n != "" {
						w.Mentions = append(w.Mentions, n)
					} else {
						w.Mentions = append(w.Mentions, id)
					}
				}
			}
		}
		if m.MsgType == "file" || m.MsgType == "image" {
			w.Content = m.MediaName
			w.File = fmt.Sprintf("sim/api/file?seq=%d", m.Seq)
		}
		out = append(out, w)
	}
	for _, x := range s.Said() {
		if x.Seq <= after || x.ChatID != chat || (chat == "" && x.UserID != user) {
			continue
		}
		w := webMsg{Seq: x.Seq, At: x.At.In(chinaTime).Format("01-02 15:04"), From: x.UserID, Name: names[x.UserID],
			Kind: "text", Content: x.Text}
		if w.Name == "" {
			w.Name = x.UserID
		}
		if x.Click != nil {
			w.Kind, w.Content, w.ResponseCode = "click", x.Note, x.Click.ResponseCode
		}
		if x.FileName != "" {
			w.Kind, w.Content, w.File = "file", x.FileName, fmt.Sprintf("sim/api/file?seq=%d", x.Seq)
		}
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b webMsg) int { return int(a.Seq - b.Seq) })
	return out
}

func (s *Server) cursor() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evseq
}

func (s *Server) webMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	cur := s.cursor() // first: a message recorded meanwhile comes next time, not never
	msgs := s.conversation(q.Get("user"), q.Get("chat"), after)
	if msgs == nil {
		msgs = []webMsg{}
	}
	if n := len(msgs); n > 0 && msgs[n-1].Seq > cur {
		cur = msgs[n-1].Seq
	}
	writeJSON(w, map[string]any{"messages": msgs, "cursor": cur})
}

// chatItem is one line of a member's chat list.
type chatItem struct {
	ID      string `json:"id"` // "" the private chat with the app
	Name    string `json:"name"`
	Kind    string `json:"kind"` // private, group
	Members int    `json:"members,omitempty"`
	Last    string `json:"last,omitempty"` // preview of the last message
	LastAt  string `json:"last_at,omitempty"`
	LastSeq int64  `json:"last_seq"`
}

func preview(m webMsg) string {
	switch m.Kind {
	case "text", "markdown":
		s := strings.Join(strings.Fields(m.Content), " ")
		if r := []rune(s); len(r) > 40 {
			s = string(r[:40]) + "…"
		}
		if m.From != "" {
			s = m.Name + "：" + s
		}
		return s
	case "template_card", "card_update":
		return "[卡片消息]"
	case "file":
		return "[文件] " + m.Content
	case "image":
		return "[图片]"
	case "click":
		return m.Name + "：[提交了卡片]"
	}
	return "[" + m.Kind + "]"
}

func (s *Server) webChats(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	var all bool
	for _, p := range s.People() {
		if p.UserID == user {
			all = p.AllChats
		}
	}
	items := []chatItem{{ID: "", Name: AppName, Kind: "private"}}
	for _, g := range s.Groups() {
		if user == "" || all || slices.Contains(g.Members, user) {
			items = append(items, chatItem{ID: g.ID, Name: g.Name, Kind: "group", Members: len(g.Members)})
		}
	}
	for i := range items {
		if msgs := s.conversation(user, items[i].ID, 0); len(msgs) > 0 {
			last := msgs[len(msgs)-1]
			items[i].Last, items[i].LastAt, items[i].LastSeq = preview(last), last.At, last.Seq
		}
	}
	writeJSON(w, map[string]any{"chats": items, "cursor": s.cursor()})
}

// webSendFile plays the page's member sending a file to the AI bot (multipart: user, file).
func (s *Server) webSendFile(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		http.Error(w, "需要 multipart 字段 user 和 file（不超过 64 MB）", http.StatusBadRequest)
		return
	}
	defer r.MultipartForm.RemoveAll()
	user := r.FormValue("user")
	f, hdr, err := r.FormFile("file")
	if err != nil || user == "" {
		http.Error(w, "需要 multipart 字段 user 和 file", http.StatusBadRequest)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, "读取文件失败", http.StatusBadRequest)
		return
	}
	id, err := s.SayFile(r.Context(), user, hdr.Filename, data)
	if err != nil {
		http.Error(w, "机器人没有应答："+err.Error(), http.StatusBadGateway)
		return
	}
	writeJSON(w, map[string]string{"msgid": id})
}

// webFile downloads the content of a file message the page shows.
func (s *Server) webFile(w http.ResponseWriter, r *http.Request) {
	seq, _ := strconv.ParseInt(r.URL.Query().Get("seq"), 10, 64)
	var name string
	var data []byte
	for _, m := range s.Sent() {
		if m.Seq == seq && (m.MsgType == "file" || m.MsgType == "image") {
			name, data = m.MediaName, m.MediaData
		}
	}
	for _, x := range s.Said() {
		if x.Seq == seq && x.FileName != "" {
			name, data = x.FileName, x.FileData
		}
	}
	if name == "" {
		http.Error(w, "没有这个文件", http.StatusNotFound)
		return
	}
	if isImage(data) && r.URL.Query().Get("download") == "" {
		// an image message shows in the chat as the picture itself
		w.Header().Set("Content-Type", http.DetectContentType(data))
		w.Write(data)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Write(data)
}
