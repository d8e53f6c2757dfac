package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

// Who may see (docs/privacy.md): pushed messages carry the masked ID number, the full one
// only 查看 gives; every view is in the access log, which `fangpin audit --id` reads and no
// one can rewrite; a signed form link lives 7 days and opens for its user only.
func TestAccessLogAndSignedLinks(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "e2e-form-secret")
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	dbURL := pgtest.MigratedURL(t)
	logs := &syncBuffer{}
	base, _, s := startServeOn(t, sim, dbURL, bot.NewLogger(logs, slog.LevelInfo), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g := synth.New(20261208)
	person := struct{ name, id string }{"上官晓月", g.IDNumber(1971)}
	js, _ := json.Marshal(map[string]any{"category": "medical", "period": "2026-10", "records": []map[string]string{{
		intake.ColName: person.name, intake.ColID: person.id, intake.ColTownship: "城关镇", intake.ColVillage: "示例一村",
		"住院自付累计": "25000.00", "门诊统筹费用": "0", "门特费用": "0"}}})
	push := pushRequest(t, base, "demo-token-ybj", "application/json", bytes.NewReader(js))
	if push.Warnings != 1 {
		t.Fatalf("push: %+v", push)
	}
	if _, err := sim.SayPrivately(ctx, "zhaoliu", "交办 2026-11"); err != nil {
		t.Fatal(err)
	}
	cs, err := s.DB.ListCases(ctx, cases.CaseFilter{})
	for i := 0; err == nil && len(cs) == 0 && ctx.Err() == nil; i++ {
		time.Sleep(50 * time.Millisecond)
		cs, err = s.DB.ListCases(ctx, cases.CaseFilter{})
	}
	if err != nil || len(cs) != 1 {
		t.Fatalf("cases: %v %v", cs, err)
	}
	c := cs[0]
	// 示例一村 is 张三's village: the round's card goes to him.
	waitFor(t, ctx, sim, "zhangsan's card", func() bool { return cardOf(sim, "zhangsan", c.No) != nil })
	card := cardOf(sim, "zhangsan", c.No)
	link := cardFormLink(card)
	if link == "" {
		t.Fatal("the card has no form link")
	}

	// Pushed messages: the masked ID number, never the full one.
	cardJSON, _ := json.Marshal(card)
	if !strings.Contains(string(cardJSON), cases.MaskIDNumber(person.id)) {
		t.Errorf("the card lacks the masked ID number: %s", cardJSON)
	}
	for _, m := range sim.Sent() {
		raw, _ := json.Marshal(m)
		if strings.Contains(string(raw), person.id) {
			t.Errorf("a pushed message carries the full ID number (%s to %s): %s", m.API, m.To, textOf(m))
		}
	}
	// On request, the full one.
	n := len(sim.SentTo("zhangsan"))
	if _, err := sim.SayPrivately(ctx, "zhangsan", "查看 "+c.No); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "查看", replyWith(t, ctx, sim, "zhangsan", n, c.No), person.id)

	// The link lives at most 7 days.
	u, _ := url.Parse(link)
	exp, _ := strconv.ParseInt(u.Query().Get("e"), 10, 64)
	if life := time.Until(time.Unix(exp, 0)); life > 7*24*time.Hour+time.Minute || life < 6*24*time.Hour {
		t.Errorf("form link lives %s, want 7 days", life)
	}
	// Opened by its user (OAuth says so): shown. By someone else, altered or expired: refused.
	if a := httpDo(t, "GET", base+link+"&code="+sim.OAuthCode("zhangsan"), nil); a.status != 200 || !strings.Contains(a.body, person.id) {
		t.Errorf("own link: %d %s", a.status, a.body)
	}
	if a := httpDo(t, "GET", base+link+"&code="+sim.OAuthCode("lisi"), nil); a.status != 403 || !strings.Contains(a.body, "发给其他同事") || strings.Contains(a.body, person.name) {
		t.Errorf("forwarded link: %d %s", a.status, a.body)
	}
	altered := strings.Replace(link, "u=zhangsan", "u=lisi", 1)
	if a := httpDo(t, "GET", base+altered, nil); a.status != 403 || !strings.Contains(a.body, "无效") {
		t.Errorf("altered link: %d %s", a.status, a.body)
	}
	old := &handlers.FormLinks{Secret: []byte("e2e-form-secret"), BaseURL: base, Now: func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) }}
	if a := httpDo(t, "GET", old.URL(c.No, "zhangsan"), nil); a.status != 403 || !strings.Contains(a.body, "已过期") {
		t.Errorf("expired link: %d %s", a.status, a.body)
	}
	// The form posts back without the spent code: the viewer cookie OAuth left stands for it,
	// and a cookie of someone else is refused.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + link + "&code=" + sim.OAuthCode("zhangsan"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(string(page))
	if resp.StatusCode != 200 || action == nil || strings.Contains(action[1], "code=") {
		t.Fatalf("form by OAuth: %d, action %v", resp.StatusCode, action)
	}
	post := func(c *http.Client) (int, string) {
		t.Helper()
		r, err := c.PostForm(base+html.UnescapeString(action[1]), url.Values{"result": {"纳入"}, "reason": {"家中因病支出大，符合纳入条件"}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	otherJar, _ := cookiejar.New(nil)
	other := &http.Client{Jar: otherJar}
	if r, err := other.Get(base + "/tasks/?code=" + sim.OAuthCode("lisi")); err == nil {
		r.Body.Close()
	}
	if code, body := post(other); code != 403 || !strings.Contains(body, "发给其他同事") {
		t.Errorf("zhangsan's form posted with lisi's cookie: %d %s", code, body)
	}
	if code, body := post(client); code != 200 || !strings.Contains(body, "纳入") {
		t.Errorf("zhangsan's form posted: %d %s", code, body)
	}
	if strings.Contains(logs.String(), person.id) || !strings.Contains(logs.String(), "signed link refused") {
		t.Errorf("refused links are logged, without personal data:\n%s", logs.String())
	}

	// audit --id lists the 查看, the form page and the refusals, and the push that brought the person.
	t.Setenv("DATABASE_URL", dbURL)
	code, out := run(t, "audit", "--json", "--id", person.id)
	if code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	type line struct{ At, User, Action, CaseNo, Channel, Detail string }
	var got []line
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		got = append(got, line{m["at"], m["user"], m["action"], m["case_no"], m["channel"], m["detail"]})
	}
	has := func(what string, ok func(l line) bool) {
		t.Helper()
		for _, l := range got {
			if ok(l) {
				return
			}
		}
		t.Errorf("audit --id lacks %s:\n%s", what, out)
	}
	has("zhangsan's 查看", func(l line) bool {
		return l.User == "zhangsan" && l.Action == "view" && l.CaseNo == c.No && l.Channel == "chat"
	})
	has("zhangsan's form page", func(l line) bool { return l.User == "zhangsan" && l.Action == "view" && l.Channel == "h5" })
	has("lisi's refused link", func(l line) bool { return l.User == "lisi" && l.Action == "refused" && l.CaseNo == c.No })
	has("the push", func(l line) bool {
		return l.Action == "import" && l.User == "api:医保局" && strings.Contains(l.Detail, push.ID)
	})
	has("the dispatch", func(l line) bool { return l.Action == "dispatch" && l.CaseNo == c.No })
	has("zhangsan's result through the form", func(l line) bool {
		return l.Action == "confirm" && l.User == "zhangsan" && l.CaseNo == c.No && l.Channel == "h5"
	})
	if strings.Contains(out, person.id) {
		t.Errorf("the audit repeats the ID number:\n%s", out)
	}
	// Someone else's views only with --user; nobody's view of other people with --id.
	if _, out := run(t, "audit", "--json", "--user", "lisi"); strings.Contains(out, `"user":"zhangsan"`) || !strings.Contains(out, `"user":"lisi"`) {
		t.Errorf("audit --user lisi:\n%s", out)
	}
	if _, out := run(t, "audit", "--json", "--id", g.IDNumber(1980)); strings.TrimSpace(out) != "" {
		t.Errorf("audit of someone without cases:\n%s", out)
	}
	// The CLI's lists that name people by ID number are recorded too.
	if code, _ := run(t, "cases", "--json"); code != 0 {
		t.Fatal("cases --json failed")
	}
	if _, out := run(t, "audit", "--json", "--id", person.id, "--since", time.Now().In(cases.Shanghai).Format("2006-01-02")); !strings.Contains(out, `"detail":"cases --json"`) {
		t.Errorf("cases --json is not in the audit:\n%s", out)
	}
	if code, _ := run(t, "audit", "--json", "--id", "12345"); code == 0 {
		t.Error("audit --id with a malformed ID number succeeded")
	}
	// Append-only.
	for _, q := range []string{`DELETE FROM access_log`, `UPDATE access_log SET user_id = 'x'`, `TRUNCATE access_log`} {
		if _, err := s.DB.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
}
