package handlers

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/charts"
)

// OverviewStore is what the overview page reads: the one assessment and the townships.
type OverviewStore interface {
	Assess(ctx context.Context, month string) (cases.Assessment, error)
	TownshipNames(ctx context.Context) (map[string]string, error)
	Today() cases.Date
}

// Overview is the overview page for the office and leaders (docs/charts.md): the 进度 and
// 统计 pictures, filters by month and township, the departments' pushes and tasks, and
// lists of cases behind each bar with masked names only. It is opened by a signed link bound
// to the user (概览) or a WeCom OAuth code. Mount it at /overview/.
type Overview struct {
	Store OverviewStore
	Users Directory
	Links *FormLinks
	OAuth CodeResolver // optional
	// Access records refused links and the cases a drill-down lists (docs/privacy.md).
	Access AccessLog
	Log    *slog.Logger
}

func (o *Overview) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.Default()
}

type overviewTown struct {
	cases.TownshipScore
	Bars charts.Bars
	Rate string
}

type overviewDept struct {
	Name                  string
	Pushes, Tasks, Points string
}

type overviewMonth struct{ Value, Label string }

type overviewCase struct {
	No, Township, Village, Name, Status, DueOn string
}

type overviewPage struct {
	Error       string
	Title       string
	Query       template.URL // e, s, m and t, for the page's own links
	E, S        string       // the link's expiry and signature, kept by the filter form
	Base        string       // /overview/<user>
	Month       string
	MonthTitle  string
	Town        string
	Months      []overviewMonth
	Towns       []string
	Provisional bool
	Open        int
	AsOf        string
	Total       charts.Bars
	TotalRate   string
	Townships   []overviewTown
	Departments []overviewDept
	Part        string // a drill-down: the part's label
	Cases       []overviewCase
}

// ServeHTTP implements http.Handler.
func (o *Overview) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		o.render(w, http.StatusMethodNotAllowed, overviewPage{Error: "概览页面只能查看。"})
		return
	}
	user, sub, actor, ok := o.admit(w, r)
	if !ok {
		return
	}
	month, town, ok := o.filters(w, r, sub)
	if !ok {
		return
	}
	a, err := o.Store.Assess(r.Context(), month)
	if err != nil {
		o.internal(w, r, sub, err)
		return
	}
	switch sub {
	case "progress.png", "stats.png":
		o.serveChart(w, r, sub, a, town)
	case "cases":
		o.serveCases(w, r, o.page(r, user, month, town, a), a, town, actor)
	case "":
		p := o.page(r, user, month, town, a)
		addFigures(&p, a, town)
		o.render(w, http.StatusOK, p)
	default:
		o.fail(w, sub, http.StatusNotFound, "没有这个页面。")
	}
}

// admit decides who is looking. A WeCom OAuth code (without a signed link) is exchanged for
// the user and redirected to the user's own link; otherwise the signed link, the viewer
// behind it and the user's role must all pass. When ok is false the request has been
// answered and the caller stops.
func (o *Overview) admit(w http.ResponseWriter, r *http.Request) (user, sub string, actor cases.Actor, ok bool) {
	q := r.URL.Query()
	ctx := r.Context()
	rest := strings.TrimPrefix(r.URL.Path, "/overview/")
	if code := q.Get("code"); code != "" && o.OAuth != nil && q.Get("s") == "" {
		viewer, err := o.OAuth.UserIDByCode(ctx, code)
		if err != nil {
			o.log().WarnContext(ctx, "overview oauth", "err", err)
			o.render(w, http.StatusForbidden, overviewPage{Error: "企业微信身份验证失败，请从企业微信里重新打开概览。"})
			return "", "", cases.Actor{}, false
		}
		o.Links.RememberViewer(w, viewer)
		http.Redirect(w, r, o.Links.OverviewPath(viewer), http.StatusSeeOther)
		return "", "", cases.Actor{}, false
	}
	user, sub, _ = strings.Cut(rest, "/")
	if err := o.Links.VerifyOverview(user, q.Get("e"), q.Get("s")); err != nil {
		refuseLink(ctx, o.log(), o.Access, "概览", "", "", linkRefusal(o.Links, q.Get("e")))
		o.fail(w, sub, http.StatusForbidden, cases.ErrorMessage(err))
		return "", "", cases.Actor{}, false
	}
	if viewer, reason, err := o.Links.CheckViewer(w, r, user, o.OAuth); err != nil {
		if err == errOAuthNeeded {
			http.Redirect(w, r, o.Links.OAuthRedirect(r), http.StatusFound)
			return "", "", cases.Actor{}, false
		}
		refuseLink(ctx, o.log(), o.Access, "概览", "", viewer, reason)
		o.fail(w, sub, http.StatusForbidden, cases.ErrorMessage(err))
		return "", "", cases.Actor{}, false
	}
	actor, err := o.Users.Actor(ctx, user)
	if err == nil && actor.Role != cases.RoleOffice && actor.Role != cases.RoleLeader {
		err = cases.Errorf(cases.EForbidden, "概览页面只对县扶贫办和县领导开放。")
	}
	if err != nil {
		o.fail(w, sub, statusOf(err), cases.ErrorMessage(err))
		return "", "", cases.Actor{}, false
	}
	return user, sub, actor, true
}

// filters reads the month (this month unless m names one) and the township (t must be one of
// the county's; none means the whole county) the page is narrowed to. When ok is false the
// request has been answered.
func (o *Overview) filters(w http.ResponseWriter, r *http.Request, sub string) (month, town string, ok bool) {
	q := r.URL.Query()
	month = o.Store.Today().MonthKey()
	if m := q.Get("m"); m != "" {
		d, err := cases.ParseMonth(m)
		if err != nil {
			o.fail(w, sub, http.StatusBadRequest, "月份应写作 YYYY-MM，例如 2026-11。")
			return "", "", false
		}
		month = d.MonthKey()
	}
	names, err := o.Store.TownshipNames(r.Context())
	if err != nil {
		o.internal(w, r, sub, err)
		return "", "", false
	}
	if t := q.Get("t"); t != "" {
		var found bool
		if town, found = names[t]; !found {
			o.fail(w, sub, http.StatusBadRequest, "没有名为“"+clip(t, 10)+"”的乡镇，请从列表中选择。")
			return "", "", false
		}
	}
	return month, town, true
}

// serveChart answers with the 进度 or the 统计 picture of the assessment.
func (o *Overview) serveChart(w http.ResponseWriter, r *http.Request, sub string, a cases.Assessment, town string) {
	var png []byte
	var err error
	if sub == "progress.png" {
		png, err = progressChart(r.Context(), o.Store, a, town)
	} else {
		png, err = statsChart(a)
	}
	if err != nil {
		o.internal(w, r, sub, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(png)
}

// page fills what the overview and its case lists share: the links, the filter form's
// choices and when the figures were taken.
func (o *Overview) page(r *http.Request, user, month, town string, a cases.Assessment) overviewPage {
	q := r.URL.Query()
	v := url.Values{"e": {q.Get("e")}, "s": {q.Get("s")}, "m": {month}}
	if town != "" {
		v.Set("t", town)
	}
	p := overviewPage{E: q.Get("e"), S: q.Get("s"), Title: "防返贫监测进度概览", Query: template.URL(v.Encode()), Base: "/overview/" + url.PathEscape(user),
		Month: month, MonthTitle: monthTitle(month), Town: town, Provisional: a.Provisional, AsOf: a.AsOf.In(cases.Shanghai).Format("2006-01-02 15:04")}
	today := o.Store.Today()
	for i := range 12 {
		m := time.Date(today.Year, today.Month-time.Month(i), 1, 0, 0, 0, 0, cases.Shanghai).Format("2006-01")
		p.Months = append(p.Months, overviewMonth{m, monthTitle(m)})
	}
	if month > p.Months[0].Value || month < p.Months[len(p.Months)-1].Value {
		p.Months = append(p.Months, overviewMonth{month, monthTitle(month)}) // a month asked for by hand stays selectable
	}
	for _, t := range a.Townships {
		p.Towns = append(p.Towns, t.Name)
	}
	return p
}

// serveCases answers with the cases behind one bar (p names the part; none means all cases),
// recording every listed case as viewed before the list is shown (docs/privacy.md).
func (o *Overview) serveCases(w http.ResponseWriter, r *http.Request, p overviewPage, a cases.Assessment, town string, actor cases.Actor) {
	const sub = "cases"
	part := r.URL.Query().Get("p")
	label, ok := charts.PartLabels[part]
	if part != "" && !ok {
		o.fail(w, sub, http.StatusBadRequest, "不认识的案件类别。")
		return
	}
	p.Part = label
	if part == "" {
		p.Part = "全部案件"
	}
	for _, f := range a.Cases {
		if (town != "" && f.Township != town) || (part != "" && charts.PartOf(f) != part) {
			continue
		}
		// names masked: the page may be shown on a screen in a meeting
		p.Cases = append(p.Cases, overviewCase{No: f.No, Township: f.Township, Village: f.Village,
			Name: cases.MaskName(f.HeadName), Status: charts.PartLabels[charts.PartOf(f)], DueOn: f.DueOn.String()})
	}
	evs := make([]cases.AccessEvent, len(p.Cases))
	for i, c := range p.Cases {
		evs[i] = cases.AccessEvent{User: actor.UserID, Action: cases.AccessView, CaseNo: c.No, Channel: cases.ChannelH5, Detail: "概览案件清单"}
	}
	if err := recordAccess(r.Context(), o.Access, evs...); err != nil {
		o.internal(w, r, sub, err)
		return
	}
	o.render(w, http.StatusOK, p)
}

// addFigures puts the township bars, the county's totals and the departments' pushes and
// tasks on the overview page.
func addFigures(p *overviewPage, a cases.Assessment, town string) {
	bars := charts.TownshipBars(a, town)
	for _, t := range a.Townships {
		if town != "" && t.Name != town {
			continue
		}
		b := bars[len(p.Townships)]
		p.Townships = append(p.Townships, overviewTown{TownshipScore: t, Bars: b, Rate: percent(t.OnTimeRate, "暂无到期")})
		p.Total.Pending += b.Pending
		p.Total.Verified += b.Verified
		p.Total.Closed += b.Closed
		p.Total.Overdue += b.Overdue
		if t.Open > 0 {
			p.Open += t.Open
		}
	}
	p.TotalRate = percent(cases.SumTownships(a.Townships).OnTimeRate, "暂无到期")
	for _, d := range a.Departments {
		od := overviewDept{Name: d.Name, Points: points(d.Score), Pushes: "—", Tasks: "—"}
		if d.PushesDue > 0 {
			od.Pushes = fmtRatio(d.PushesOnTime, d.PushesDue)
		}
		if d.TasksDue > 0 {
			od.Tasks = fmtRatio(d.TasksOnTime, d.TasksDue)
		}
		p.Departments = append(p.Departments, od)
	}
}

func fmtRatio(a, b int) string { return fmt.Sprintf("%d/%d", a, b) }

// fail answers a page request with the page and its message, an image request with the
// status only.
func (o *Overview) fail(w http.ResponseWriter, sub string, status int, msg string) {
	if strings.HasSuffix(sub, ".png") {
		http.Error(w, msg, status)
		return
	}
	o.render(w, status, overviewPage{Error: msg})
}

func (o *Overview) internal(w http.ResponseWriter, r *http.Request, sub string, err error) {
	o.log().ErrorContext(r.Context(), "overview", "page", sub, "err", err)
	o.fail(w, sub, http.StatusInternalServerError, "系统暂时出了点问题，请稍后再试。")
}

func (o *Overview) render(w http.ResponseWriter, status int, p overviewPage) {
	if err := writePage(w, status, overviewTemplate, p); err != nil {
		o.log().Error("render overview", "err", err)
	}
}

var overviewTemplate = template.Must(template.New("overview").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>防返贫监测进度概览</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:0;padding:12px;background:#f5f6f7;color:#222;font-size:15px;line-height:1.5}
main{max-width:1100px;margin:0 auto}
h1{font-size:20px;margin:0 0 10px}
h2{font-size:17px;margin:0 0 8px}
.card{background:#fff;border-radius:8px;padding:12px;margin-bottom:12px;overflow-x:auto}
.alert{color:#c00;font-weight:600}
.note{color:#8a5a00;font-weight:600}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
select,button{font-size:16px;padding:8px;border:1px solid #ccc;border-radius:6px;background:#fff}
button{background:#1677ff;color:#fff;border:0}
img.chart{width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;min-width:520px}
th,td{border-bottom:1px solid #eee;padding:6px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
a{color:#1677ff;text-decoration:none}
.muted{color:#888}
</style></head><body><main>
<h1>{{if .Title}}{{.Title}}{{else}}防返贫监测进度概览{{end}}</h1>
{{if .Error}}<p class="card alert" id="error">{{.Error}}</p>{{else}}
<form class="card filters" method="get" action="{{.Base}}">
<input type="hidden" name="e" value="{{.E}}"><input type="hidden" name="s" value="{{.S}}">
<label>月份 <select name="m" id="month">{{range .Months}}<option value="{{.Value}}" {{if eq .Value $.Month}}selected{{end}}>{{.Label}}</option>{{end}}</select></label>
<label>乡镇 <select name="t" id="town"><option value="">全县</option>{{range .Towns}}<option value="{{.}}" {{if eq . $.Town}}selected{{end}}>{{.}}</option>{{end}}</select></label>
<button type="submit">查看</button>
</form>
<p class="card" id="asof">{{.MonthTitle}}{{if .Town}} {{.Town}}{{end}}，数据截至 {{.AsOf}}。{{if .Provisional}}<span class="note" id="in-progress">截至今日：本月尚未结束，尚未办结 {{.Open}} 件，得分为临时结果。</span>{{end}}</p>
{{if .Part}}
<section class="card" id="cases"><h2>{{.Part}}（{{len .Cases}} 件）</h2>
<p><a href="{{.Base}}?{{.Query}}">← 返回概览</a></p>
{{if .Cases}}<table><tr><th>编号</th><th>乡镇</th><th>村</th><th>户主</th><th>状态</th><th>办结时限</th></tr>
{{range .Cases}}<tr><td>{{.No}}</td><td>{{.Township}}</td><td>{{.Village}}</td><td>{{.Name}}</td><td>{{.Status}}</td><td>{{.DueOn}}</td></tr>{{end}}
</table>{{else}}<p class="muted">没有这类案件。</p>{{end}}
</section>
{{else}}
<section class="card"><h2>办理进度</h2><a href="{{.Base}}/progress.png?{{.Query}}"><img class="chart" id="progress-chart" alt="各乡镇办理进度和全县按时办结率图表" src="{{.Base}}/progress.png?{{.Query}}"></a><p class="muted">点图片可查看大图。</p></section>
<section class="card" id="townships"><h2>各乡镇（点数字查看案件清单）</h2>
<table><tr><th>乡镇</th><th>交办</th><th>待核查</th><th>已核查待录入</th><th>已办结</th><th>逾期</th><th>按时办结率</th></tr>
{{range .Townships}}<tr><td>{{.Name}}</td><td><a href="{{$.Base}}/cases?{{$.Query}}&amp;t={{.Name}}">{{.Dispatched}}</a></td>
<td><a href="{{$.Base}}/cases?{{$.Query}}&amp;t={{.Name}}&amp;p=pending">{{.Bars.Pending}}</a></td>
<td><a href="{{$.Base}}/cases?{{$.Query}}&amp;t={{.Name}}&amp;p=verified">{{.Bars.Verified}}</a></td>
<td><a href="{{$.Base}}/cases?{{$.Query}}&amp;t={{.Name}}&amp;p=closed">{{.Bars.Closed}}</a></td>
<td><a href="{{$.Base}}/cases?{{$.Query}}&amp;t={{.Name}}&amp;p=overdue">{{.Bars.Overdue}}</a></td><td>{{.Rate}}</td></tr>{{end}}
{{if not .Town}}<tr><th>全县</th><td></td><td>{{.Total.Pending}}</td><td>{{.Total.Verified}}</td><td>{{.Total.Closed}}</td><td>{{.Total.Overdue}}</td><td>{{.TotalRate}}</td></tr>{{end}}
</table></section>
<section class="card"><h2>按风险类别和核查结论</h2><a href="{{.Base}}/stats.png?{{.Query}}"><img class="chart" id="stats-chart" alt="按风险类别和核查结论统计图表" src="{{.Base}}/stats.png?{{.Query}}"></a></section>
<section class="card" id="departments"><h2>行业部门推送和办理</h2>
{{if .Departments}}<table><tr><th>部门</th><th>按时推送</th><th>按时办理</th><th>考核得分</th></tr>
{{range .Departments}}<tr><td>{{.Name}}</td><td>{{.Pushes}}</td><td>{{.Tasks}}</td><td>{{.Points}}</td></tr>{{end}}
</table>{{else}}<p class="muted">本月没有部门推送记录。</p>{{end}}
</section>
{{end}}
{{end}}
</main>
</body></html>`))
