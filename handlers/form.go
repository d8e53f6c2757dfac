package handlers

import (
	"context"
	"errors"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/fangpin/fangpin/cases"
)

// CodeResolver turns a WeCom OAuth code into a userid (auth/getuserinfo).
type CodeResolver interface {
	UserIDByCode(ctx context.Context, code string) (string, error)
}

// Form is the H5 mini-form: GET /form/{case} shows the case and the form, POST records the
// result, the reason and the entry date. A request is allowed by a signed, expiring link
// bound to user and case (FormLinks), or by a WeCom OAuth code, which is exchanged for
// such a link. Mount it at /form/.
type Form struct {
	Ledger Ledger
	Users  Directory
	Links  *FormLinks
	OAuth  CodeResolver // optional
	Access AccessLog    // views of the case page, refused links
	Now    func() time.Time
	Log    *slog.Logger

	once     sync.Once
	mux      *http.ServeMux
	validate *validator.Validate
}

// formInput is what the page posts; the lifecycle checks the rest (reason length, dates).
type formInput struct {
	Result    string `validate:"required,oneof=纳入 已在监测 不纳入"`
	Reason    string `validate:"required_if=Result 不纳入,max=500"`
	EnteredOn string `validate:"omitempty,datetime=2006-01-02"`
}

var fieldMessages = map[string]string{
	"Result.required":    "请选择核查结论。",
	"Result.oneof":       "核查结论只能是“纳入”“已在监测”或“不纳入”。",
	"Reason.required_if": "选择“不纳入”时必须逐户写明理由。",
	"Reason.max":         "理由请控制在 500 字以内。",
	"EnteredOn.datetime": "日期格式不对，请按 2026-11-20 的格式填写。",
}

func (f *Form) init() {
	f.once.Do(func() {
		f.validate = validator.New(validator.WithRequiredStructEnabled())
		f.mux = http.NewServeMux()
		f.mux.HandleFunc("GET /form/{case}", f.show)
		f.mux.HandleFunc("POST /form/{case}", f.submit)
	})
}

// ServeHTTP implements http.Handler.
func (f *Form) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.init()
	f.mux.ServeHTTP(w, r)
}

func (f *Form) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Form) log() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.Default()
}

// formPage is what the template renders.
type formPage struct {
	Title       string
	Case        cases.Case
	Details     []string
	Action      string
	Open        bool
	NeedsResult bool
	Input       formInput
	Errors      map[string]string
	Error       string
	Done        string
}

// authorize checks the link (or OAuth code) and loads the actor and the case.
func (f *Form) authorize(w http.ResponseWriter, r *http.Request) (cases.Actor, cases.Case, bool) {
	no := cases.NormalizeCaseNo(r.PathValue("case"))
	q := r.URL.Query()
	if code := q.Get("code"); code != "" && f.OAuth != nil && q.Get("s") == "" {
		user, err := f.OAuth.UserIDByCode(r.Context(), code)
		if err != nil {
			f.log().WarnContext(r.Context(), "form oauth", "err", err)
			f.fail(w, http.StatusForbidden, "企业微信身份验证失败，请从企业微信里重新打开表单。")
			return cases.Actor{}, cases.Case{}, false
		}
		f.Links.RememberViewer(w, user)
		http.Redirect(w, r, f.Links.Path(no, user), http.StatusSeeOther)
		return cases.Actor{}, cases.Case{}, false
	}
	user := q.Get("u")
	if err := f.Links.Verify(no, user, q.Get("e"), q.Get("s")); err != nil {
		refuseLink(r.Context(), f.log(), f.Access, "表单", no, "", linkRefusal(f.Links, q.Get("e")))
		f.fail(w, http.StatusForbidden, cases.ErrorMessage(err))
		return cases.Actor{}, cases.Case{}, false
	}
	if viewer, reason, err := f.Links.CheckViewer(w, r, user, f.OAuth); err != nil {
		if err == errOAuthNeeded && r.Method == http.MethodGet {
			http.Redirect(w, r, f.Links.OAuthRedirect(r), http.StatusFound)
			return cases.Actor{}, cases.Case{}, false
		}
		refuseLink(r.Context(), f.log(), f.Access, "表单", no, viewer, reason)
		f.fail(w, http.StatusForbidden, cases.ErrorMessage(err))
		return cases.Actor{}, cases.Case{}, false
	}
	actor, err := f.Users.Actor(r.Context(), user)
	if err != nil {
		f.fail(w, statusOf(err), cases.ErrorMessage(err))
		return cases.Actor{}, cases.Case{}, false
	}
	c, err := f.Ledger.CaseByNo(r.Context(), no)
	if err == nil && !cases.CanView(c, actor) {
		err = cases.Errorf(cases.EForbidden, "案件 %s 属于%s，您无权办理。", c.No, c.Township)
	}
	if err != nil {
		f.fail(w, statusOf(err), cases.ErrorMessage(err))
		return cases.Actor{}, cases.Case{}, false
	}
	return actor, c, true
}

func statusOf(err error) int {
	switch cases.ErrorCode(err) {
	case cases.ENotFound:
		return http.StatusNotFound
	case cases.EForbidden:
		return http.StatusForbidden
	case cases.EInvalid, cases.EIllegal:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

func (f *Form) fail(w http.ResponseWriter, status int, msg string) {
	f.render(w, status, formPage{Title: "无法打开表单", Error: msg})
}

func (f *Form) page(ctx context.Context, r *http.Request, c cases.Case) (formPage, error) {
	ws, err := f.Ledger.CaseWarnings(ctx, c.ID)
	if err != nil {
		return formPage{}, err
	}
	p := formPage{Title: c.No + " 入户核查", Case: c, Details: strings.Split(announce.CaseDetails(c, ws), "\n"),
		Action: actionURI(r), Open: c.Status.Open(),
		NeedsResult: c.Status == cases.StatusDispatched || c.Status == cases.StatusReturned,
		Errors:      map[string]string{}}
	p.Input.Result = c.Result.Label() // nothing chosen until the cadre chooses: never 纳入 by default
	return p, nil
}

func (f *Form) show(w http.ResponseWriter, r *http.Request) {
	actor, c, ok := f.authorize(w, r)
	if !ok {
		return
	}
	p, err := f.page(r.Context(), r, c)
	if err == nil {
		err = recordAccess(r.Context(), f.Access, cases.AccessEvent{User: actor.UserID, Action: cases.AccessView,
			CaseNo: c.No, Channel: cases.ChannelH5, Detail: "核查表单"})
	}
	if err != nil {
		f.log().ErrorContext(r.Context(), "form page", "case", c.No, "err", err)
		f.fail(w, http.StatusInternalServerError, cases.ErrorMessage(err))
		return
	}
	f.render(w, http.StatusOK, p)
}

func (f *Form) submit(w http.ResponseWriter, r *http.Request) {
	actor, c, ok := f.authorize(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	in := formInput{Result: strings.TrimSpace(r.PostFormValue("result")), Reason: strings.TrimSpace(r.PostFormValue("reason")),
		EnteredOn: strings.TrimSpace(r.PostFormValue("entered_on"))}
	if c.Status == cases.StatusVerified {
		in.Result = c.Result.Label() // the result is recorded; only the entry date is left
	}
	p, err := f.page(ctx, r, c)
	if err != nil {
		f.fail(w, http.StatusInternalServerError, cases.ErrorMessage(err))
		return
	}
	p.Input = in
	if err := f.validate.Struct(in); err != nil {
		var ves validator.ValidationErrors
		if errors.As(err, &ves) {
			for _, fe := range ves {
				p.Errors[fe.Field()] = fieldMessages[fe.Field()+"."+fe.Tag()]
			}
			f.render(w, http.StatusUnprocessableEntity, p)
			return
		}
		f.fail(w, http.StatusInternalServerError, cases.ErrorMessage(err))
		return
	}
	// Every field is checked against the lifecycle before anything is saved, so a wrong
	// date never leaves a result recorded behind the user's back.
	result, _ := cases.ParseResult(in.Result)
	verify := cases.Command{Action: cases.ActVerify, Result: result, Reason: in.Reason, Now: f.now()}
	var enter *cases.Command
	planned := c
	if p.NeedsResult {
		after, err := cases.Apply(c, actor, verify, nil)
		if err != nil {
			f.refuse(w, r, p, "Reason", err)
			return
		}
		planned = after
	}
	if planned.Status == cases.StatusVerified && in.EnteredOn != "" {
		d, _ := cases.ParseDate(in.EnteredOn)
		enter = &cases.Command{Action: cases.ActEnter, Date: d, Now: f.now()}
		if _, err := cases.Apply(planned, actor, *enter, nil); err != nil {
			f.refuse(w, r, p, "EnteredOn", err)
			return
		}
	} else if planned.Status == cases.StatusVerified && !p.NeedsResult {
		p.Errors["EnteredOn"] = "核查结论已登记，请填写录入全国系统的日期。"
		f.render(w, http.StatusUnprocessableEntity, p)
		return
	}
	src := cases.Source(fmt.Sprintf("form:%s:%s:%d", actor.UserID, c.No, f.now().UnixNano()))
	no := c.No
	var done []string
	if p.NeedsResult {
		after, err := f.Ledger.Transition(ctx, no, actor, verify, src)
		if err != nil {
			f.refuse(w, r, p, "Reason", err)
			return
		}
		c = after
		done = append(done, formVerifiedNote(c, enter != nil))
	}
	if enter != nil {
		after, err := f.Ledger.Transition(ctx, no, actor, *enter, src)
		if err != nil {
			// changed meanwhile by someone else: show the case as it now is
			np, perr := f.page(ctx, r, mustCase(ctx, f.Ledger, no, c))
			if perr != nil {
				f.fail(w, http.StatusInternalServerError, cases.ErrorMessage(perr))
				return
			}
			np.Input = in
			np.Done = strings.Join(done, "\n")
			f.refuse(w, r, np, "EnteredOn", err)
			return
		}
		c = after
		done = append(done, fmt.Sprintf("已登记于 %s 录入全国系统，案件已办结。", c.EnteredOn))
	}
	np, err := f.page(ctx, r, c)
	if err != nil {
		f.fail(w, http.StatusInternalServerError, cases.ErrorMessage(err))
		return
	}
	np.Done = strings.Join(done, "\n")
	f.render(w, http.StatusOK, np)
}

// formVerifiedNote confirms a result on the form page: what to do next is said in the
// form's own terms, not as a chat command.
func formVerifiedNote(c cases.Case, entering bool) string {
	s := fmt.Sprintf("已登记：案件 %s 核查结论“%s”", c.No, c.Result) + reasonClause(c.Reason)
	switch {
	case c.Status == cases.StatusClosed:
		return s + "。案件已办结。"
	case entering:
		return s + "。"
	}
	return s + "。录入全国系统后，请再打开本表单填写录入日期并提交，案件即办结。"
}

func mustCase(ctx context.Context, l Ledger, no string, fallback cases.Case) cases.Case {
	c, err := l.CaseByNo(ctx, no)
	if err != nil {
		return fallback
	}
	return c
}

// refuse shows a domain refusal next to the field it concerns, or above the form.
func (f *Form) refuse(w http.ResponseWriter, r *http.Request, p formPage, field string, err error) {
	code := cases.ErrorCode(err)
	if code == cases.EInternal {
		f.log().ErrorContext(r.Context(), "form submit", "case", p.Case.No, "err", err)
		p.Error = cases.ErrorMessage(err)
	} else if code == cases.EInvalid {
		p.Errors[field] = cases.ErrorMessage(err)
	} else {
		p.Error = cases.ErrorMessage(err)
	}
	f.render(w, statusOf(err), p)
}

func (f *Form) render(w http.ResponseWriter, status int, p formPage) {
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	if err := writePage(w, status, formTemplate, p); err != nil {
		f.log().Error("render form", "err", err)
	}
}

var formTemplate = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;background:#f5f6f7;color:#222;font-size:16px;line-height:1.5}
main{max-width:560px;margin:0 auto}
h1{font-size:20px;margin:0 0 12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:12px}
.details p{margin:2px 0;word-break:break-all}
fieldset{border:0;padding:0;margin:0 0 12px}
legend,label.t{font-weight:600;display:block;margin-bottom:6px}
.opt{display:block;padding:10px;border:1px solid #ddd;border-radius:6px;margin-bottom:6px}
textarea,input[type=date]{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ccc;border-radius:6px}
.err{color:#c00;margin:4px 0 0}
.done{color:#076b2c;font-weight:600;white-space:pre-line}
.alert{color:#c00;font-weight:600}
button{width:100%;padding:12px;font-size:17px;background:#1677ff;color:#fff;border:0;border-radius:6px}
</style></head><body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="card alert" id="error">{{.Error}}</p>{{end}}
{{if .Done}}<p class="card done" id="done">{{.Done}}</p>{{end}}
{{if .Details}}<section class="card details">{{range .Details}}<p>{{.}}</p>{{end}}</section>{{end}}
{{if .Open}}
<form class="card" method="post" action="{{.Action}}">
{{if .NeedsResult}}
<fieldset><legend>核查结论</legend>
<label class="opt"><input type="radio" name="result" value="纳入" {{if eq .Input.Result "纳入"}}checked{{end}}> 纳入（纳入监测）</label>
<label class="opt"><input type="radio" name="result" value="已在监测" {{if eq .Input.Result "已在监测"}}checked{{end}}> 已在监测（调整帮扶措施）</label>
<label class="opt"><input type="radio" name="result" value="不纳入" {{if eq .Input.Result "不纳入"}}checked{{end}}> 不纳入（须写明理由）</label>
{{with index .Errors "Result"}}<p class="err" id="err-result">{{.}}</p>{{end}}
</fieldset>
<fieldset><label class="t" for="reason">说明 / 不纳入理由</label>
<textarea id="reason" name="reason" rows="4" placeholder="例如：家庭年人均收入高于监测标准，无返贫风险">{{.Input.Reason}}</textarea>
{{with index .Errors "Reason"}}<p class="err" id="err-reason">{{.}}</p>{{end}}
</fieldset>
{{end}}
<fieldset><label class="t" for="entered_on">录入全国系统日期（纳入、已在监测时填写；未录入可留空）</label>
<input type="date" id="entered_on" name="entered_on" value="{{.Input.EnteredOn}}">
{{with index .Errors "EnteredOn"}}<p class="err" id="err-entered_on">{{.}}</p>{{end}}
</fieldset>
<button type="submit" id="submit">提交</button>
</form>
{{else if .Case.No}}<p class="card">案件已办结，无需再填写。</p>{{end}}
</main></body></html>
`))
