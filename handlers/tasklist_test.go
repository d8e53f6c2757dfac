package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/internal/browsertest"
)

// site serves the task list and the form as serve does, on one server.
func (f *fixture) site(t *testing.T) *httptest.Server {
	clock := func() time.Time { return f.now }
	mux := http.NewServeMux()
	mux.Handle("/form/", &handlers.Form{Ledger: f.db, Users: f.db, Links: f.links, Now: clock})
	mux.Handle("/tasks/", &handlers.TaskList{Ledger: f.db, Users: f.db, Links: f.links, OAuth: codes{"c-zs": "zhangsan"}, Now: clock})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestTaskListAuthAndScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.site(t)
	if code, body := get(t, srv.URL+"/tasks/?township=城关镇"); code != 403 || !strings.Contains(body, "企业微信") {
		t.Errorf("task list without identity: %d", code)
	}
	link := srv.URL + f.links.TaskListPath("zhangsan")
	if code, _ := get(t, strings.Replace(link, "u=zhangsan", "u=lisi", 1)); code != 403 {
		t.Errorf("task list link with another user: %d", code)
	}
	if code, _ := get(t, srv.URL+strings.Replace(f.links.Path("YJ202611-0001", "zhangsan"), "/form/YJ202611-0001", "/tasks/", 1)); code != 403 {
		t.Errorf("a form signature opened the task list: %d", code)
	}
	code, body := get(t, link)
	if code != 200 || !strings.Contains(body, "我负责的案件") {
		t.Fatalf("zhangsan's task list: %d\n%s", code, body)
	}
	for key, c := range f.byKey {
		in := strings.Contains(body, c.No)
		if c.Township == "城关镇" && c.Status.Open() && !in {
			t.Errorf("%s (%s) missing from zhangsan's list", c.No, key)
		}
		if c.Township != "城关镇" && in {
			t.Errorf("%s of %s on 城关镇's list", c.No, c.Township)
		}
	}
	// the group's link goes through WeCom OAuth to a signed link
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		Get(srv.URL + "/tasks/?township=%E5%9F%8E%E5%85%B3%E9%95%87&code=c-zs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "u=zhangsan") || !strings.Contains(loc, "&s=") {
		t.Errorf("OAuth code: %d → %q", resp.StatusCode, loc)
	}
}

// The H5 task list in a browser: each case opens with its details and form; a case
// handled there leaves the list.
func TestTaskListInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t)
	f := newFixture(t)
	srv := f.site(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+f.links.TaskListPath("zhangsan"))); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	no, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.querySelector("#mine a.case").dataset.case`))
	if err != nil || no == "" {
		t.Fatalf("first case of the list: %q %v", no, err)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(css(`#mine a.case[data-case="`+no+`"]`)),
		chromedp.WaitVisible(css("#submit")),
	)
	if err != nil {
		t.Fatalf("open the case: %v", err)
	}
	page, err := chromedp.Run(tctx, chromedp.Text(css("main")))
	if err != nil || !strings.Contains(page, "编号："+no) || !strings.Contains(page, "预警") {
		t.Fatalf("the case's page lacks its details: %v\n%s", err, page)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(css(`input[value="纳入"]`)),
		chromedp.SendKeys(css("#reason"), "入户核实，因病支出较大"),
		chromedp.SetValue(css("#entered_on"), "2026-11-10"),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#done")),
	)
	if err != nil {
		t.Fatalf("submit the form: %v", err)
	}
	if c, _ := f.db.CaseByNo(context.Background(), no); c.Status != cases.StatusClosed {
		t.Fatalf("case after the form: %s", c.Status)
	}
	err = chromedp.Do(tctx, chromedp.Navigate(srv.URL+f.links.TaskListPath("zhangsan")), chromedp.WaitVisible(css("#intro")))
	if err != nil {
		t.Fatal(err)
	}
	left, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`!!document.querySelector('a.case[data-case="`+no+`"]')`))
	if err != nil || left {
		t.Errorf("the closed case %s is still on the list (%v)", no, err)
	}
}

// With OAuth on (FANGPIN_H5_OAUTH), a signed link opened without a code goes to WeCom's
// OAuth and comes back with one: the code's user must be the link's; the cookie it leaves
// stands for it afterwards, for that user only.
func TestTaskListAsksOAuthWhoOpensTheLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	links := *f.links
	links.OAuthCorpID = "wwcorp"
	list := &handlers.TaskList{Ledger: f.db, Users: f.db, Links: &links, OAuth: codes{"c-zs": "zhangsan", "c-ls": "lisi"},
		Now: func() time.Time { return f.now }}
	srv := httptest.NewServer(list)
	t.Cleanup(srv.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	link := srv.URL + links.TaskListPath("zhangsan")
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://open.weixin.qq.com/connect/oauth2/authorize?") ||
		!strings.Contains(loc, "appid=wwcorp") || !strings.Contains(loc, "snsapi_base") || !strings.Contains(loc, "u%3Dzhangsan") {
		t.Fatalf("signed link without a code: %d → %q", resp.StatusCode, loc)
	}
	// the refusal names every command that gives a link of one's own (the same words on the
	// upload and overview pages, where “待办” or “表单” was the wrong advice)
	if code, body := get(t, link+"&code=c-ls"); code != 403 || !strings.Contains(body, "发给其他同事") || !strings.Contains(body, "“上传”") || !strings.Contains(body, "“概览”") {
		t.Errorf("zhangsan's link opened by lisi: %d", code)
	}
	resp, err = noRedirect.Get(link + "&code=c-zs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 200 || len(cookies) != 1 || !cookies[0].HttpOnly {
		t.Fatalf("zhangsan's own link: %d, cookies %v", resp.StatusCode, cookies)
	}
	again := func(u string) int {
		req, _ := http.NewRequest("GET", u, nil)
		req.AddCookie(cookies[0])
		r, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if code := again(link); code != 200 {
		t.Errorf("zhangsan's link with his cookie: %d", code)
	}
	if code := again(srv.URL + links.TaskListPath("lisi")); code != 403 {
		t.Errorf("lisi's link with zhangsan's cookie: %d", code)
	}
	tampered := *cookies[0]
	tampered.Value = strings.Replace(tampered.Value, "zhangsan", "lisi", 1)
	req, _ := http.NewRequest("GET", srv.URL+links.TaskListPath("lisi"), nil)
	req.AddCookie(&tampered)
	if r, err := noRedirect.Do(req); err != nil || r.StatusCode != http.StatusFound {
		t.Errorf("a forged cookie: %v %v", r, err)
	}
}
