package handlers_test

import (
	"github.com/fangpin/fangpin/announce"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

// The 申报/走访 form: opened by a signed link for a cadre (sent by “申报” without arguments),
// refused to anyone else; a wrong check digit is shown at its field and stores nothing; a good
// report makes the case.
func TestReportForm(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	form := &handlers.ReportForm{Ledger: f.db, Users: f.db, Links: f.links, Access: f.db, Announce: &announce.Announcer{Links: f.links},
		Now: func() time.Time { return f.now }}
	do := func(method, target string, vals url.Values) (int, string) {
		var r *http.Request
		if vals != nil {
			r = httptest.NewRequest(method, target, strings.NewReader(vals.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(method, target, nil)
		}
		w := httptest.NewRecorder()
		form.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	reply := f.say("zhangsan", "申报", false)
	wants(t, "申报 without arguments", reply, "申报 <身份证号> <姓名> <类别> <情况>", "https://fp.example/report?")
	link := reply[strings.Index(reply, "https://fp.example")+len("https://fp.example"):]

	refusedBefore := pgtest.Count(t, f.db, `SELECT count(*) FROM access_log WHERE action = 'refused'`)
	if code, body := do("GET", "/report?u=zhangsan&e=1&s=x", nil); code != http.StatusForbidden || !strings.Contains(body, "无效") {
		t.Errorf("forged link: %d %s", code, body)
	}
	// refused, and in the access log like every page's (it was only a log line)
	if n := pgtest.Count(t, f.db, `SELECT count(*) FROM access_log WHERE action = 'refused'`); n != refusedBefore+1 {
		t.Errorf("the refused 申报 link made %d access log entries, want 1", n-refusedBefore)
	}
	if code, _ := do("GET", f.links.ReportPath("zjj"), nil); code != http.StatusForbidden {
		t.Errorf("a liaison's report form: %d", code)
	}
	if code, body := do("GET", link, nil); code != 200 || !strings.Contains(body, "登记并建案") {
		t.Fatalf("report form: %d %s", code, body)
	}
	id := synth.New(5).IDNumber(1980)
	bad := id[:17] + string("0123456789"[(strings.IndexByte("0123456789X", id[17])+1)%10])
	var before int
	before = pgtest.Count(t, f.db, `SELECT count(*) FROM warnings`)
	vals := url.Values{"source": {"农户申报"}, "id_number": {bad}, "name": {"孟繁星"}, "category": {"饮水"}, "situation": {"自来水经常停水，水质浑浊"}}
	if code, body := do("POST", link, vals); code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-id_number"`) || strings.Contains(body, "已记录") {
		t.Errorf("wrong check digit: %d %s", code, body)
	}
	var after int
	after = pgtest.Count(t, f.db, `SELECT count(*) FROM warnings`)
	if after != before {
		t.Fatalf("a refused report stored %d warnings", after-before)
	}
	vals.Set("id_number", id)
	// a person the registry does not know: the form asks for the village
	if code, body := do("POST", link, vals); code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="err-village"`) || strings.Contains(body, "已记录") {
		t.Errorf("no village for a person not in the registry: %d %s", code, body)
	}
	vals.Set("village", "南村")
	code, body := do("POST", link, vals)
	if code != 200 || !strings.Contains(body, "已记录：已新建案件") || !strings.Contains(body, "农户申报") {
		t.Fatalf("report: %d %s", code, body)
	}
	cs, _ := f.db.ListCases(t.Context(), postgresFilterTownship("城关镇"))
	var c cases.Case
	for _, x := range cs {
		if x.HeadIDNumber == id {
			c = x
		}
	}
	if c.Source != cases.SourceApplied || len(c.TaskDepartments) != 0 || c.Village != "南村" {
		// 饮水安全 is 水利局's, which this county's org file does not have: no task
		t.Errorf("case from the form: %+v", c)
	}
}
