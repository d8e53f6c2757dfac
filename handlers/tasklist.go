package handlers

import (
	"context"
	"github.com/fangpin/fangpin/announce"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// taskListScope is what a task-list link is signed for, in place of a case number (case
// numbers begin with YJ, so a task-list signature never opens a form and the reverse).
const taskListScope = "*tasks"

// TaskListPath is a user's H5 task list: /tasks/?u=…&e=…&s=…, signed like the form.
func (l *FormLinks) TaskListPath(user string) string {
	ttl := l.TTL
	if ttl == 0 {
		ttl = DefaultFormTTL
	}
	exp := l.now().Add(ttl).Unix()
	v := url.Values{"u": {user}, "e": {strconv.FormatInt(exp, 10)}, "s": {l.sign(taskListScope, user, exp)}}
	return "/tasks/?" + v.Encode()
}

// TaskListURL is the absolute task-list link for messages.
func (l *FormLinks) TaskListURL(user string) string {
	return strings.TrimRight(l.BaseURL, "/") + l.TaskListPath(user)
}

// TaskList is the H5 task list (GET /tasks/): the open cases a user handles — their own
// first (the cases they are responsible for), then the rest of their township — each
// opening the H5 form with the case's details. A signed link (TaskListPath) or a WeCom
// OAuth code says who is asking; ?township= narrows the office's view (the group's link).
type TaskList struct {
	Ledger Ledger
	Users  Directory
	Links  *FormLinks
	OAuth  CodeResolver    // optional
	Cal    *cases.Calendar // working days (nil: the official calendar)
	Access AccessLog       // the cases each opening shows, refused links
	Now    func() time.Time
	Log    *slog.Logger
}

func (h *TaskList) cal() *cases.Calendar {
	if h.Cal != nil {
		return h.Cal
	}
	return officialCalendar
}

func (h *TaskList) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *TaskList) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

type taskRow struct {
	Case    cases.Case
	Who     string
	Cats    string
	Status  string
	FormURL string
	Mine    bool
}

type taskPage struct {
	Title string
	Error string
	Intro string
	Mine  []taskRow
	Other []taskRow
}

// ServeHTTP implements http.Handler.
func (h *TaskList) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	if code := q.Get("code"); code != "" && h.OAuth != nil && q.Get("s") == "" {
		user, err := h.OAuth.UserIDByCode(ctx, code)
		if err != nil {
			h.log().WarnContext(ctx, "task list oauth", "err", err)
			h.render(w, http.StatusForbidden, taskPage{Title: "无法打开任务清单", Error: "企业微信身份验证失败，请从企业微信里重新打开。"})
			return
		}
		h.Links.RememberViewer(w, user)
		target := h.Links.TaskListPath(user)
		if t := q.Get("township"); t != "" {
			target += "&township=" + url.QueryEscape(t)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	user := q.Get("u")
	if user == "" && h.Links.OAuthCorpID != "" && h.OAuth != nil {
		http.Redirect(w, r, h.Links.OAuthRedirect(r), http.StatusFound)
		return
	}
	if user == "" {
		h.render(w, http.StatusForbidden, taskPage{Title: "无法打开任务清单", Error: "请在企业微信里打开这个链接，以便确认您的身份。"})
		return
	}
	if err := h.Links.Verify(taskListScope, user, q.Get("e"), q.Get("s")); err != nil {
		refuseLink(ctx, h.log(), h.Access, "任务清单", "", "", linkRefusal(h.Links, q.Get("e")))
		msg := "这个任务清单链接无效或已过期。请在企业微信里发送“待办”，或打开最近一次交办通知里的链接。"
		h.render(w, http.StatusForbidden, taskPage{Title: "无法打开任务清单", Error: msg})
		return
	}
	if viewer, reason, err := h.Links.CheckViewer(w, r, user, h.OAuth); err != nil {
		if err == errOAuthNeeded {
			http.Redirect(w, r, h.Links.OAuthRedirect(r), http.StatusFound)
			return
		}
		refuseLink(ctx, h.log(), h.Access, "任务清单", "", viewer, reason)
		h.render(w, http.StatusForbidden, taskPage{Title: "无法打开任务清单", Error: cases.ErrorMessage(err)})
		return
	}
	actor, err := h.Users.Actor(ctx, user)
	if err != nil {
		h.render(w, statusOf(err), taskPage{Title: "无法打开任务清单", Error: cases.ErrorMessage(err)})
		return
	}
	p, err := h.page(ctx, actor, q.Get("township"))
	if err == nil {
		var evs []cases.AccessEvent
		for _, rows := range [][]taskRow{p.Mine, p.Other} {
			for _, row := range rows {
				evs = append(evs, cases.AccessEvent{User: actor.UserID, Action: cases.AccessView, CaseNo: row.Case.No,
					Channel: cases.ChannelH5, Detail: "任务清单"})
			}
		}
		err = recordAccess(ctx, h.Access, evs...)
	}
	if err != nil {
		h.log().ErrorContext(ctx, "task list", "user", user, "err", err)
		h.render(w, http.StatusInternalServerError, taskPage{Title: "无法打开任务清单", Error: cases.ErrorMessage(err)})
		return
	}
	h.render(w, http.StatusOK, p)
}

// page lists the open cases the actor may see: a cadre's township, a liaison's
// department, the office's chosen township (or the county).
func (h *TaskList) page(ctx context.Context, a cases.Actor, township string) (taskPage, error) {
	f := cases.CaseFilter{OpenOnly: true}
	title := "防返贫预警任务清单"
	switch a.Role {
	case cases.RoleCadre:
		f.Township = a.Township
		title = a.Township + " 待办案件"
	case cases.RoleLiaison:
		f.Department = a.Department
		title = a.Department + " 待办案件"
	default:
		f.Township = township
		if township != "" {
			title = township + " 待办案件"
		} else {
			title = "全县待办案件"
		}
	}
	cs, err := h.Ledger.ListCases(ctx, f)
	if err != nil {
		return taskPage{}, err
	}
	today := cases.DateOf(h.now())
	p := taskPage{Title: title}
	for _, c := range cs {
		row := taskRow{Case: c, Who: c.HeadName, Cats: announce.CategoryNames(c.Categories), Status: statusLine(c, today, h.cal()),
			Mine: c.Responsible == a.UserID}
		if row.Who == "" {
			row.Who = "区域排查"
		}
		if a.Role == cases.RoleCadre || a.Role == cases.RoleLiaison {
			row.FormURL = h.Links.Path(c.No, a.UserID) // the form takes results from those who handle cases
		}
		if row.Mine {
			p.Mine = append(p.Mine, row)
		} else {
			p.Other = append(p.Other, row)
		}
	}
	p.Intro = a.Name + "您好：您负责的未办结案件 " + strconv.Itoa(len(p.Mine)) + " 件"
	if len(p.Other) > 0 {
		p.Intro += "，本范围其他未办结案件 " + strconv.Itoa(len(p.Other)) + " 件"
	}
	p.Intro += "。点开每件案件可查看详情并填写核查表单。"
	return p, nil
}

func (h *TaskList) render(w http.ResponseWriter, status int, p taskPage) {
	if err := writePage(w, status, taskTemplate, p); err != nil {
		h.log().Error("render task list", "err", err)
	}
}

var taskTemplate = template.Must(template.New("tasks").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;background:#f5f6f7;color:#222;font-size:16px;line-height:1.5}
main{max-width:640px;margin:0 auto}
h1{font-size:20px;margin:0 0 12px}
h2{font-size:17px;margin:16px 0 8px}
.card{background:#fff;border-radius:8px;padding:10px 14px;margin-bottom:8px;display:block;color:inherit;text-decoration:none}
.no{font-weight:600}
.meta{color:#555;font-size:14px}
.alert{color:#c00;font-weight:600}
.late{color:#c00}
</style></head><body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="card alert" id="error">{{.Error}}</p>{{else}}
<p class="card" id="intro">{{.Intro}}</p>
{{if .Mine}}<h2>我负责的案件（{{len .Mine}}）</h2><section id="mine">{{range .Mine}}{{template "row" .}}{{end}}</section>{{end}}
{{if .Other}}<h2>其他未办结案件（{{len .Other}}）</h2><section id="other">{{range .Other}}{{template "row" .}}{{end}}</section>{{end}}
{{if not (or .Mine .Other)}}<p class="card">没有未办结的案件。</p>{{end}}
{{end}}
</main></body></html>
` + `{{define "row"}}<a class="card case" href="{{if .FormURL}}{{.FormURL}}{{else}}#{{end}}" data-case="{{.Case.No}}">
<span class="no">{{.Case.No}}</span> {{.Who}}（{{.Case.Place}}）
<div class="meta">{{.Cats}}｜{{.Status}}｜办结时限 {{.Case.DueOn}}</div></a>{{end}}`))
