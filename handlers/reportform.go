package handlers

import (
	"errors"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// ReportForm is the H5 form of 申报/走访 (docs/held-and-tasks.md): GET /report shows it, POST makes the case.
// It is opened by a signed link bound to the cadre (FormLinks.ReportURL, sent by “申报” or
// “走访” without arguments in private chat) or by a WeCom OAuth code. Mount it at /report.
type ReportForm struct {
	Ledger   Ledger
	Users    Directory
	Links    *FormLinks
	OAuth    CodeResolver        // optional
	Access   AccessLog           // refused links are recorded (docs/privacy.md); optional
	Announce *announce.Announcer // the masked group notice and the cadres' private details
	Now      func() time.Time
	Log      *slog.Logger
}

type reportPage struct {
	Action string
	Words  []string
	Input  map[string]string
	Errors map[string]string
	Error  string
	Done   string
}

func (f *ReportForm) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler.
func (f *ReportForm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		f.render(w, http.StatusMethodNotAllowed, reportPage{Error: "请用企业微信打开表单后提交。"})
		return
	}
	q := r.URL.Query()
	if code := q.Get("code"); code != "" && f.OAuth != nil && q.Get("s") == "" {
		user, err := f.OAuth.UserIDByCode(r.Context(), code)
		if err != nil {
			f.log().WarnContext(r.Context(), "report form oauth", "err", err)
			f.render(w, http.StatusForbidden, reportPage{Error: "企业微信身份验证失败，请从企业微信里重新打开表单。"})
			return
		}
		f.Links.RememberViewer(w, user)
		http.Redirect(w, r, f.Links.ReportPath(user), http.StatusSeeOther)
		return
	}
	user := q.Get("u")
	if err := f.Links.VerifyReport(user, q.Get("e"), q.Get("s")); err != nil {
		refuseLink(r.Context(), f.log(), f.Access, "申报走访表单", "", "", linkRefusal(f.Links, q.Get("e")))
		f.render(w, http.StatusForbidden, reportPage{Error: cases.ErrorMessage(err)})
		return
	}
	if viewer, reason, err := f.Links.CheckViewer(w, r, user, f.OAuth); err != nil {
		if err == errOAuthNeeded && r.Method == http.MethodGet {
			http.Redirect(w, r, f.Links.OAuthRedirect(r), http.StatusFound)
			return
		}
		refuseLink(r.Context(), f.log(), f.Access, "申报走访表单", "", viewer, reason)
		f.render(w, http.StatusForbidden, reportPage{Error: cases.ErrorMessage(err)})
		return
	}
	actor, err := f.Users.Actor(r.Context(), user)
	if err == nil && actor.Role != cases.RoleCadre {
		err = cases.Errorf(cases.EForbidden, "申报和走访由乡镇干部登记。")
	}
	if err != nil {
		f.render(w, statusOf(err), reportPage{Error: cases.ErrorMessage(err)})
		return
	}
	p := reportPage{Action: actionURI(r), Input: map[string]string{"source": cases.SourceVisit.Label()}, Errors: map[string]string{}}
	if r.Method == http.MethodGet {
		f.render(w, http.StatusOK, p)
		return
	}
	for _, k := range []string{"source", "id_number", "name", "category", "situation", "village"} {
		p.Input[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	src, _ := cases.ParseCaseSource(p.Input["source"])
	if src != cases.SourceApplied && src != cases.SourceVisit {
		p.Errors["source"] = "请选择“农户申报”或“干部走访”。"
		f.render(w, http.StatusUnprocessableEntity, p)
		return
	}
	in, field, err := SelfFoundInput(src, p.Input["id_number"], p.Input["name"], p.Input["category"], p.Input["situation"])
	if err != nil {
		p.Errors[field] = cases.ErrorMessage(err)
		f.render(w, http.StatusUnprocessableEntity, p)
		return
	}
	in.Actor, in.Village, in.AskVillage = actor, p.Input["village"], true
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	in.Src = cases.Source(fmt.Sprintf("form:%s:report:%d", actor.UserID, now.UnixNano()))
	if f.Announce != nil {
		in.Announce = f.Announce.Announce
	}
	res, err := f.Ledger.ReportSelfFound(r.Context(), in)
	if errors.Is(err, cases.ErrVillageNeeded) {
		p.Errors["village"] = cases.ErrorMessage(err)
		f.render(w, http.StatusUnprocessableEntity, p)
		return
	}
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			f.log().ErrorContext(r.Context(), "report form", "user", actor.UserID, "err", err)
		}
		p.Error = cases.ErrorMessage(err)
		f.render(w, statusOf(err), p)
		return
	}
	if res.Merged {
		p.Done = fmt.Sprintf("已记录：该户已有在办案件 %s，本次%s已作为补充预警加入，办结时限 %s。", res.Case.No, src, res.Case.DueOn)
	} else {
		p.Done = fmt.Sprintf("已记录：已新建案件 %s（%s，%s），办结时限 %s。", res.Case.No, src, res.Case.Kind, res.Case.DueOn)
	}
	p.Input = map[string]string{"source": string(src)}
	f.render(w, http.StatusOK, p)
}

func (f *ReportForm) render(w http.ResponseWriter, status int, p reportPage) {
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if p.Input == nil {
		p.Input = map[string]string{}
	}
	p.Words = cases.ReportWords
	if err := writePage(w, status, reportTemplate, p); err != nil {
		f.log().Error("render report form", "err", err)
	}
}

var reportTemplate = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>农户申报 / 干部走访</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;background:#f5f6f7;color:#222;font-size:16px;line-height:1.5}
main{max-width:560px;margin:0 auto}
h1{font-size:20px;margin:0 0 12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:12px}
fieldset{border:0;padding:0;margin:0 0 12px}
legend,label.t{font-weight:600;display:block;margin-bottom:6px}
.opt{display:inline-block;padding:8px 10px;border:1px solid #ddd;border-radius:6px;margin:0 6px 6px 0}
textarea,input[type=text],select{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ccc;border-radius:6px}
.err{color:#c00;margin:4px 0 0}
.done{color:#076b2c;font-weight:600}
.alert{color:#c00;font-weight:600}
button{width:100%;padding:12px;font-size:17px;background:#1677ff;color:#fff;border:0;border-radius:6px}
</style></head><body><main>
<h1>农户申报 / 干部走访</h1>
{{if .Error}}<p class="card alert" id="error">{{.Error}}</p>{{end}}
{{if .Done}}<p class="card done" id="done">{{.Done}}</p>{{end}}
{{if .Action}}
<form class="card" method="post" action="{{.Action}}">
<fieldset><legend>来源</legend>
<label class="opt"><input type="radio" name="source" value="农户申报" {{if eq (index .Input "source") "农户申报"}}checked{{end}}> 农户申报</label>
<label class="opt"><input type="radio" name="source" value="干部走访" {{if eq (index .Input "source") "干部走访"}}checked{{end}}> 干部走访</label>
{{with index .Errors "source"}}<p class="err" id="err-source">{{.}}</p>{{end}}
</fieldset>
<fieldset><label class="t" for="id_number">身份证号</label>
<input type="text" id="id_number" name="id_number" maxlength="20" autocomplete="off" value="{{index .Input "id_number"}}">
{{with index .Errors "id_number"}}<p class="err" id="err-id_number">{{.}}</p>{{end}}
</fieldset>
<fieldset><label class="t" for="name">姓名</label>
<input type="text" id="name" name="name" maxlength="20" value="{{index .Input "name"}}">
{{with index .Errors "name"}}<p class="err" id="err-name">{{.}}</p>{{end}}
</fieldset>
<fieldset><label class="t" for="village">村（监测台账中有此人时自动取台账的村，可不填）</label>
<input type="text" id="village" name="village" maxlength="30" value="{{index .Input "village"}}">
{{with index .Errors "village"}}<p class="err" id="err-village">{{.}}</p>{{end}}
</fieldset>
<fieldset><label class="t" for="category">类别</label>
<select id="category" name="category">{{$c := index .Input "category"}}{{range .Words}}<option {{if eq . $c}}selected{{end}}>{{.}}</option>{{end}}</select>
{{with index .Errors "category"}}<p class="err" id="err-category">{{.}}</p>{{end}}
</fieldset>
<fieldset><label class="t" for="situation">情况</label>
<textarea id="situation" name="situation" rows="4" placeholder="例如：房屋墙体开裂，雨季漏雨，家中无力修缮">{{index .Input "situation"}}</textarea>
{{with index .Errors "situation"}}<p class="err" id="err-situation">{{.}}</p>{{end}}
</fieldset>
<button type="submit" id="submit">登记并建案</button>
</form>
{{end}}
</main></body></html>
`))
