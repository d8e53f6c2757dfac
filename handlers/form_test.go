package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/internal/browsertest"
)

func (f *fixture) form(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(&handlers.Form{Ledger: f.db, Users: f.db, Links: f.links, Now: func() time.Time { return f.now }})
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFormLinksAndValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.form(t)
	h1 := f.byKey["hh:H0001"]
	link := srv.URL + f.links.Path(h1.No, "zhangsan")

	code, body := get(t, link)
	if code != 200 || !strings.Contains(body, f.p.Disease) || !strings.Contains(body, `name="result"`) {
		t.Fatalf("GET form: %d\n%s", code, body)
	}
	// a link bound to another case, a forged signature, an expired link, another township
	if code, body := get(t, srv.URL+"/form/"+f.byKey["head:"+f.p.F.ID].No+"?"+strings.SplitN(link, "?", 2)[1]); code != 403 || !strings.Contains(body, "无效") {
		t.Errorf("link reused for another case: %d", code)
	}
	if code, _ := get(t, strings.Replace(link, "u=zhangsan", "u=lisi", 1)); code != 403 {
		t.Errorf("link with another user: %d", code)
	}
	if code, body := get(t, srv.URL+f.links.Path(h1.No, "lisi")); code != 403 || !strings.Contains(body, "城关镇") {
		t.Errorf("cadre of another township: %d", code)
	}
	old := f.now
	f.now = f.now.Add(handlers.DefaultFormTTL + time.Hour)
	if code, body := get(t, link); code != 403 || !strings.Contains(body, "过期") {
		t.Errorf("expired link: %d", code)
	}
	f.now = old
	// a link that claims to live longer than 7 days was not made here, whoever signed it
	long := &handlers.FormLinks{Secret: f.links.Secret, BaseURL: f.links.BaseURL, TTL: 30 * 24 * time.Hour, Now: f.links.Now}
	if code, body := get(t, srv.URL+long.Path(h1.No, "zhangsan")); code != 403 || !strings.Contains(body, "无效") {
		t.Errorf("a link living 30 days: %d", code)
	}

	code, body = post(t, link, url.Values{"result": {"不纳入"}})
	if code != 422 || !strings.Contains(body, `id="err-reason"`) {
		t.Errorf("不纳入 without reason: %d\n%s", code, body)
	}
	code, body = post(t, link, url.Values{"result": {"不纳入"}, "reason": {"……无无无无无无"}})
	if code != 422 || !strings.Contains(body, `id="err-reason"`) || !strings.Contains(body, "不能只是标点或重复的字") {
		t.Errorf("不纳入 with an empty reason: %d\n%s", code, body)
	}
	code, body = post(t, link, url.Values{"result": {"纳入"}, "entered_on": {"2026/11/09"}})
	if code != 422 || !strings.Contains(body, `id="err-entered_on"`) {
		t.Errorf("bad date: %d", code)
	}
	// a result with an entry date in the future: nothing is saved, the case is shown again
	// with the error beside the date (it once saved the result and showed an empty case)
	code, body = post(t, link, url.Values{"result": {"纳入"}, "reason": {"因病支出大"}, "entered_on": {"2026-11-20"}})
	if code != 422 || !strings.Contains(body, `id="err-entered_on"`) || !strings.Contains(body, "还没到") ||
		!strings.Contains(body, "编号："+h1.No) || strings.Contains(body, "0000-00-00") || strings.Contains(body, "请发送") ||
		!strings.Contains(body, `value="纳入" checked`) || !strings.Contains(body, "因病支出大") {
		t.Errorf("future entry date: %d\n%s", code, body)
	}
	code, body = post(t, link, url.Values{"result": {"已在监测"}, "entered_on": {"2026-11-01"}})
	if code != 422 || !strings.Contains(body, "早于交办日期") || !strings.Contains(body, "编号："+h1.No) {
		t.Errorf("entry date before dispatch: %d\n%s", code, body)
	}
	if c, _ := f.db.CaseByNo(context.Background(), h1.No); c.Status != cases.StatusDispatched {
		t.Fatalf("refused submissions changed the case: %s", c.Status)
	}
	// a result alone is saved; the page says to come back with the date, not a chat command
	h2 := f.byKey["head:"+f.p.F.ID]
	code, body = post(t, srv.URL+f.links.Path(h2.No, "zhangsan"), url.Values{"result": {"纳入"}})
	if code != 200 || !strings.Contains(body, "本表单填写录入日期") || strings.Contains(body, "请发送") || !strings.Contains(body, "编号："+h2.No) {
		t.Errorf("result without date: %d\n%s", code, body)
	}
	code, body = post(t, link, url.Values{"result": {"纳入"}, "reason": {"因病支出大"}, "entered_on": {"2026-11-10"}})
	c, _ := f.db.CaseByNo(context.Background(), h1.No)
	if code != 200 || c.Status != cases.StatusClosed || c.EnteredOn == nil || !strings.Contains(body, "已办结") {
		t.Errorf("submit: %d %s\n%s", code, c.Status, body)
	}
}

func TestFormInBrowser(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t)
	f := newFixture(t)
	srv := f.form(t)
	g := f.byKey["head:"+f.p.G.ID]
	link := srv.URL + f.links.Path(g.No, "zhangsan")

	// the first Run starts the browser and must not carry a timeout; later steps do
	if err := chromedp.Do(ctx, chromedp.Navigate(link)); err != nil {
		t.Fatalf("browser: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err := chromedp.Do(tctx,
		chromedp.WaitVisible(css("#submit")),
		// 纳入 with an entry date still to come: nothing saved, the case shown again
		chromedp.Click(css(`input[value="纳入"]`)),
		chromedp.SetValue(css("#entered_on"), "2026-12-01"),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#err-entered_on")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	page, err := chromedp.Run(tctx, chromedp.Text(css("main")))
	if err != nil || !strings.Contains(page, "编号："+g.No) || strings.Contains(page, "0000-00-00") {
		t.Fatalf("the page after a refused date: %v\n%s", err, page)
	}
	if c, _ := f.db.CaseByNo(context.Background(), g.No); c.Status != cases.StatusDispatched {
		t.Fatalf("a refused date left the case %s", c.Status)
	}
	err = chromedp.Do(tctx,
		chromedp.SetValue(css("#entered_on"), ""),
		// 不纳入 without a reason first: the page says so next to the field
		chromedp.Click(css(`input[value="不纳入"]`)),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#err-reason")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	errText, err := chromedp.Run(tctx, chromedp.Text(css("#err-reason")))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(css(`input[value="不纳入"]`)),
		chromedp.SendKeys(css("#reason"), "房屋已由住建局鉴定安全，家庭收入稳定"),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#done")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	done, err := chromedp.Run(tctx, chromedp.Text(css("#done")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "理由") {
		t.Errorf("error next to the reason: %q", errText)
	}
	if !strings.Contains(done, "不纳入") || !strings.Contains(done, "已办结") {
		t.Errorf("confirmation: %q", done)
	}
	c, _ := f.db.CaseByNo(context.Background(), g.No)
	if c.Status != cases.StatusClosed || c.Result != cases.ResultExclude || !strings.Contains(c.Reason, "住建局") {
		t.Errorf("case after the form: %s %s %q", c.Status, c.Result, c.Reason)
	}
	evs, _ := f.db.Events(context.Background(), c.ID)
	if last := evs[len(evs)-1]; !strings.HasPrefix(last.Source, "form:zhangsan:") {
		t.Errorf("audit source %q", last.Source)
	}
}

// codes stands in for WeCom's auth/getuserinfo until the simulator is wired in.
type codes map[string]string

func (c codes) UserIDByCode(ctx context.Context, code string) (string, error) {
	if u, ok := c[code]; ok {
		return u, nil
	}
	return "", cases.Errorf(cases.EForbidden, "bad code")
}

func TestFormOAuthCodeBecomesSignedLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := httptest.NewServer(&handlers.Form{Ledger: f.db, Users: f.db, Links: f.links, OAuth: codes{"c0de": "zhangsan"},
		Now: func() time.Time { return f.now }})
	defer srv.Close()
	h1 := f.byKey["hh:H0001"]
	code, body := get(t, srv.URL+"/form/"+h1.No+"?code=c0de&state=x")
	if code != 200 || !strings.Contains(body, f.p.A.ID) {
		t.Errorf("OAuth code: %d", code)
	}
	if code, _ := get(t, srv.URL+"/form/"+h1.No+"?code=nope"); code != 403 {
		t.Errorf("bad OAuth code: %d", code)
	}
}
