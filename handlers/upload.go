package handlers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/sheet"
)

// UploadPage is the H5 upload page of department files (docs/files.md), mounted at
// /upload/: GET /upload/<userid>?e=…&s=… shows it (pick or drop a file, choose the category
// and period where there is a choice, see the upload's progress and then the result with
// the refused rows' workbook); a multipart POST to the same link (field file, optional
// category and period) imports and answers the import JSON, for scripts as for the page.
// The link is signed and bound to the liaison or office member, and lives 24 hours. The
// office may choose kind registry or org instead: the file is previewed as in chat and
// applied by a second POST (held, decide) through the chat's own confirmation.
type UploadPage struct {
	Pushes *FilePushes
	Links  *FormLinks
	Users  Directory
	// OAuth, when set, lets WeCom's in-app browser open /upload/?code=… (a menu link with
	// OAuth): the member it names is sent on to their own signed link.
	OAuth  CodeResolver
	Access AccessLog // refused links (the imports are recorded by Pushes)
	Log    *slog.Logger
}

func (u *UploadPage) log() *slog.Logger {
	if u.Log != nil {
		return u.Log
	}
	return slog.Default()
}

// UploadCommand is 上传: a signed link to the upload page, in private chat.
func (u *UploadPage) UploadCommand() *Command {
	return &Command{Name: "上传", Roles: []cases.Role{cases.RoleLiaison, cases.RoleOffice}, Usage: "上传",
		Summary: "获取上传数据文件的网页链接（24 小时内有效）；也可以直接把 Excel 或 CSV 文件私聊发给我",
		Run: func(ctx context.Context, req Request) (string, error) {
			if req.Msg.InGroup() {
				return "上传链接只发给本人：请私聊我发送“上传”。", nil
			}
			if u.Links == nil || len(u.Links.Secret) == 0 {
				return "上传页面暂未启用（未配置链接密钥）。请直接把 Excel 或 CSV 文件私聊发给我，我会马上导入。", nil
			}
			return fmt.Sprintf("请在 24 小时内打开下面的链接上传本部门的数据文件（Excel 或 CSV，不超过 %s）：\n%s\n也可以直接把文件私聊发给我，我会马上导入并回复结果。",
				sizeText(sheet.MaxFileBytes), u.Links.UploadURL(req.Actor.UserID)), nil
		}}
}

type uploadChoice struct {
	Key, Label string
}

type uploadView struct {
	Error   string
	Name    string
	Scope   string
	Choices []uploadChoice
	Period  string // the default period, as a hint
	Limit   string
	// Office may choose a registry or org file instead of a department push.
	Office bool
}

// Upload kinds besides a department push (the form's field kind).
const (
	uploadRegistry = "registry"
	uploadOrg      = "org"
)

// ServeHTTP implements http.Handler.
func (u *UploadPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	user, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/upload/"))
	q := r.URL.Query()
	if code := q.Get("code"); code != "" && u.OAuth != nil && q.Get("s") == "" && r.Method == http.MethodGet {
		who, err := u.OAuth.UserIDByCode(ctx, code)
		if err != nil {
			u.log().WarnContext(ctx, "upload page oauth", "err", err)
			u.refuse(w, r, http.StatusForbidden, "企业微信身份验证失败，请从企业微信里重新打开上传页面。")
			return
		}
		u.Links.RememberViewer(w, who)
		http.Redirect(w, r, u.Links.UploadPath(who), http.StatusSeeOther)
		return
	}
	if err == nil {
		if err = u.Links.VerifyUpload(user, q.Get("e"), q.Get("s")); err != nil {
			refuseLink(ctx, u.log(), u.Access, "上传页面", "", "", linkRefusal(u.Links, q.Get("e")))
		}
	}
	if err == nil {
		var viewer, reason string
		if viewer, reason, err = u.Links.CheckViewer(w, r, user, u.OAuth); err != nil {
			if err == errOAuthNeeded && r.Method == http.MethodGet {
				http.Redirect(w, r, u.Links.OAuthRedirect(r), http.StatusFound)
				return
			}
			refuseLink(ctx, u.log(), u.Access, "上传页面", "", viewer, reason)
		}
	}
	var a cases.Actor
	if err == nil {
		a, err = u.Users.Actor(ctx, user)
		if err == nil && !mayPush(a) {
			err = cases.Errorf(cases.EForbidden, "上传页面供各行业部门联络员和县扶贫办使用。")
		}
	}
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			u.log().ErrorContext(ctx, "upload page", "err", err)
		} else {
			u.log().WarnContext(ctx, "upload link refused", "path", r.URL.Path, "err", err)
		}
		u.refuse(w, r, statusOf(err), cases.ErrorMessage(err))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		u.page(ctx, w, a)
	case http.MethodPost:
		u.post(ctx, w, r, a)
	default:
		w.Header().Set("Allow", "GET, POST")
		u.refuse(w, r, http.StatusMethodNotAllowed, "请用网页上传，或用 POST 提交文件。")
	}
}

// refuse answers a browser with the page and a script with JSON.
func (u *UploadPage) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if r.Method == http.MethodPost {
		writeJSONError(w, status, codeOf(status), msg)
		return
	}
	writePage(w, status, uploadTemplate, uploadView{Error: msg})
}

func codeOf(status int) string {
	switch status {
	case http.StatusForbidden:
		return string(cases.EForbidden)
	case http.StatusNotFound:
		return string(cases.ENotFound)
	case http.StatusRequestEntityTooLarge:
		return string(cases.ETooLarge)
	case http.StatusInternalServerError:
		return "internal"
	}
	return string(cases.EInvalid)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(apiError{Error: msg, Code: code})
}

func (u *UploadPage) page(ctx context.Context, w http.ResponseWriter, a cases.Actor) {
	all, err := u.Pushes.choices(ctx, a)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			u.log().ErrorContext(ctx, "upload page", "err", err)
		}
		writePage(w, statusOf(err), uploadTemplate, uploadView{Error: cases.ErrorMessage(err)})
		return
	}
	v := uploadView{Name: a.Name, Scope: a.Department, Limit: sizeText(sheet.MaxFileBytes),
		Office: a.Role == cases.RoleOffice && u.Pushes.Registry != nil}
	if v.Scope == "" {
		v.Scope = a.Role.Label()
	}
	if len(all) > 1 {
		for _, c := range all {
			v.Choices = append(v.Choices, uploadChoice{Key: c.key(), Label: c.label()})
		}
	}
	// The default period, as the import takes it (last month for the monthly categories).
	cat := all[0].Cat
	for _, c := range all {
		if c.Cat.Monthly() {
			cat = c.Cat
			break
		}
	}
	v.Period = intake.DefaultPeriod(cat, u.Pushes.Store.Today())
	writePage(w, http.StatusOK, uploadTemplate, v)
}

// uploadForm is what a POST to the upload page carried: the spooled file (path, sum, name)
// and the form's fields.
type uploadForm struct {
	path, sum, name                 string
	category, period, columns, kind string
	held, decision                  string
	page                            bool // workbook=1: the page, which wants the summary too
}

func (u *UploadPage) post(ctx context.Context, w http.ResponseWriter, r *http.Request, a cases.Actor) {
	r.Body = http.MaxBytesReader(w, r.Body, sheet.MaxFileBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, string(cases.EInvalid), "请用 multipart/form-data 提交（字段 file，可选 category、period）。")
		return
	}
	var f uploadForm
	// The spooled file goes however the request ends, also when reading the form failed
	// after it was written.
	defer func() {
		if f.path != "" {
			os.Remove(f.path)
		}
	}()
	fail := func(err error) { u.writeUploadError(ctx, w, a, err) }
	if err := u.readUploadForm(mr, &f); err != nil {
		fail(err)
		return
	}
	if f.decision != "" || f.kind != "" {
		if a.Role != cases.RoleOffice || u.Pushes.Registry == nil {
			writeJSONError(w, http.StatusForbidden, string(cases.EForbidden), "监测对象名册和组织文件由县扶贫办导入，这里只能上传本部门的推送数据。")
			return
		}
	}
	if f.decision != "" {
		u.decideHeld(ctx, w, a, f.held, f.decision, fail)
		return
	}
	if f.path == "" {
		fail(cases.Errorf(cases.EInvalid, "请选择要上传的文件（字段 file）。"))
		return
	}
	if f.name == "" {
		f.name = nameByContent(f.path, time.Now())
	}
	if f.kind != "" {
		u.previewFile(ctx, w, a, f.kind, f.path, f.name, f.sum, fail)
		return
	}
	u.pushFile(ctx, w, a, f, fail)
}

// writeUploadError answers a failed upload: the size limit and a busy import have their
// own statuses, an internal failure is logged, a user's mistake is a 400 with its message.
func (u *UploadPage) writeUploadError(ctx context.Context, w http.ResponseWriter, a cases.Actor, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSONError(w, http.StatusRequestEntityTooLarge, string(cases.ETooLarge), fmt.Sprintf("文件超过 %s 的上限，请分成几个文件上传。", sizeText(sheet.MaxFileBytes)))
	case cases.ErrorCode(err) == cases.ETooLarge:
		writeJSONError(w, http.StatusRequestEntityTooLarge, string(cases.ETooLarge), cases.ErrorMessage(err))
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "60")
		writeJSONError(w, http.StatusServiceUnavailable, "busy", "正在导入其他部门的文件，请一分钟后重试。")
	case cases.ErrorCode(err) == cases.EInternal:
		if ctx.Err() == nil {
			u.log().ErrorContext(ctx, "upload", "user", a.UserID, "err", err)
		}
		writeJSONError(w, http.StatusInternalServerError, "internal", cases.ErrorMessage(err))
	default:
		writeJSONError(w, http.StatusBadRequest, string(cases.ErrorCode(err)), cases.ErrorMessage(err))
	}
}

// readUploadForm reads the multipart form into f, spooling the file to the temp dir. On an
// error f.path may already name a spooled file: the caller removes it.
func (u *UploadPage) readUploadForm(mr *multipart.Reader, f *uploadForm) error {
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return uploadErr(err)
		}
		switch part.FormName() {
		case "file":
			if f.path != "" {
				return cases.Errorf(cases.EInvalid, "一次只能上传一个文件。")
			}
			var n int64
			src := &clientReader{r: io.LimitReader(part, sheet.MaxFileBytes+1)}
			f.path, f.sum, err = spoolFile(u.Pushes.TempDir, func(w io.Writer) error {
				var err error
				n, err = io.Copy(w, src)
				return err
			})
			if src.err != nil {
				return uploadErr(src.err)
			}
			if err != nil {
				return err
			}
			if n > sheet.MaxFileBytes {
				return cases.Errorf(cases.ETooLarge, "文件超过 %s 的上限，请分成几个文件上传。", sizeText(sheet.MaxFileBytes))
			}
			f.name = part.FileName()
		case "category", "period", "workbook", "columns", "kind", "held", "decide":
			b, err := io.ReadAll(io.LimitReader(part, 16<<10))
			if err != nil {
				return uploadErr(err)
			}
			f.setField(part.FormName(), strings.TrimSpace(string(b)))
		}
		part.Close()
	}
}

// setField stores one of the form's text fields.
func (f *uploadForm) setField(name, v string) {
	switch name {
	case "category":
		f.category = v
	case "period":
		f.period = v
	case "columns":
		f.columns = v
	case "kind":
		f.kind = v
	case "held":
		f.held = v
	case "decide":
		f.decision = v
	default: // workbook
		f.page = v == "1"
	}
}

// decideHeld answers the registry's or org file's confirmation: the same rules as in chat.
func (u *UploadPage) decideHeld(ctx context.Context, w http.ResponseWriter, a cases.Actor, held, decision string, fail func(error)) {
	text, err := u.Pushes.Registry.decide(ctx, a, held, decision, cases.ChannelH5)
	if err != nil {
		if cases.ErrorCode(err) == cases.EInternal {
			fail(err)
			return
		}
		status := statusOf(err)
		if cases.ErrorCode(err) == cases.EConflict {
			status = http.StatusConflict
		}
		writeJSONError(w, status, string(cases.ErrorCode(err)), cases.ErrorMessage(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": text})
}

// pushFile imports a department's push file with the category and column mapping the form
// gave, and answers the import, or the question the import asks.
func (u *UploadPage) pushFile(ctx context.Context, w http.ResponseWriter, a cases.Actor, f uploadForm, fail func(error)) {
	var chosen *pushChoice
	if f.category != "" {
		c, err := u.chosenCategory(ctx, a, f.category)
		if err != nil {
			fail(err)
			return
		}
		chosen = &c
	}
	asked := map[string]bool{}
	if f.columns != "" {
		if err := u.storeFormColumns(ctx, chosen, f.columns); err != nil {
			fail(err)
			return
		}
		// Answered once on the form: a column still missing is not asked again, the import
		// names it.
		for _, c := range intake.RequiredColumnsOf(chosen.Cat) {
			asked[c] = true
		}
	}
	out, err := u.Pushes.run(ctx, a, f.path, f.name, f.sum, chosen, f.period, asked, nil)
	if err != nil {
		fail(err)
		return
	}
	switch {
	case out.AskColumns != nil:
		writeAskColumns(w, out.AskColumns)
	case out.Ask != nil:
		writeAskCategory(w, out.Ask)
	default:
		u.writeImported(ctx, w, f.name, out, f.page)
	}
}

// chosenCategory is the push choice the form's category names, among those the member may
// push.
func (u *UploadPage) chosenCategory(ctx context.Context, a cases.Actor, category string) (pushChoice, error) {
	all, err := u.Pushes.choices(ctx, a)
	if err != nil {
		return pushChoice{}, err
	}
	c, ok := pick(all, category)
	if !ok {
		var list []string
		for _, x := range all {
			code := string(x.Cat)
			if a.Role != cases.RoleLiaison {
				code = x.key() // the office names the department too
			}
			list = append(list, fmt.Sprintf("%s（%s）", x.label(), code))
		}
		return pushChoice{}, cases.Errorf(cases.EInvalid, "风险类别“%s”不是您可以推送的类别（或不止一个部门推送它），可选：%s", category, strings.Join(list, "、"))
	}
	return c, nil
}

// storeFormColumns stores the form's answer to need_columns: the file's header → the column
// it is, stored for the department like a card's answer before the file is read with it.
func (u *UploadPage) storeFormColumns(ctx context.Context, chosen *pushChoice, columns string) error {
	if chosen == nil {
		return cases.Errorf(cases.EInvalid, "提交对应的列（columns）时请同时选择风险类别（category）。")
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(columns), &m); err != nil {
		return cases.Errorf(cases.EInvalid, "columns 应是 JSON 对象：{\"文件中的列名\": \"系统的列名\"}。")
	}
	known := map[string]bool{}
	for _, c := range intake.ColumnsOf(chosen.Cat) {
		known[c] = true
	}
	for h, c := range m {
		if c == "" {
			delete(m, h)
		} else if !known[c] {
			return cases.Errorf(cases.EInvalid, "“%s”不是%s的列，可选：%s", c, chosen.Cat.Label(), strings.Join(intake.ColumnsOf(chosen.Cat), "、"))
		}
	}
	return u.Pushes.storeColumns(ctx, chosen.Dept, m)
}

// writeAskColumns asks for the file's missing required columns (need_columns).
func writeAskColumns(w http.ResponseWriter, ask *columnAsk) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusUnprocessableEntity)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"error": fmt.Sprintf("文件缺少“%s”必需的列：%s。请为每一列选择文件中对应的列后重新上传（选择会按%s保存，以后的文件不再询问）。",
		ask.Choice.label(), strings.Join(ask.Missing, "、"), ask.Choice.Dept),
		"code": "need_columns", "category": ask.Choice.key(), "missing": ask.Missing, "columns": ask.Offered})
}

// writeAskCategory asks for the file's category when its header does not tell
// (need_category).
func writeAskCategory(w http.ResponseWriter, ask []pushChoice) {
	var list []string
	choices := make([]map[string]string, 0, len(ask))
	for _, c := range ask {
		list = append(list, c.label())
		choices = append(choices, map[string]string{"key": c.key(), "label": c.label()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusUnprocessableEntity)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"error": "从表头无法确定这个文件是哪一类数据，请选择风险类别后重新上传：" + strings.Join(list, "、"),
		"code": "need_category", "choices": choices})
}

// writeImported answers the import's batch: 201, or 200 for a file imported before.
func (u *UploadPage) writeImported(ctx context.Context, w http.ResponseWriter, name string, out pushOutcome, page bool) {
	status := http.StatusCreated
	if out.Batch.DuplicateOf != nil {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if !page {
		enc.Encode(out.Batch)
		return
	}
	// The page also gets the summary as the chat gives it and the refused rows' workbook,
	// which it offers as a download: nothing of it is kept on the server.
	raw, _ := json.Marshal(out.Batch)
	var m map[string]any
	json.Unmarshal(raw, &m)
	m["summary"] = PushSummary(name, out.Batch, out.Refused.Len(), WorkbookOnPage)
	if out.Batch.DuplicateOf == nil && out.Refused.Len() > 0 {
		if data, err := out.Refused.Workbook(); err == nil {
			m["refused_workbook"] = base64.StdEncoding.EncodeToString(data)
			m["refused_filename"] = refusedName(name)
		} else {
			u.log().ErrorContext(ctx, "refused rows workbook", "err", err)
		}
	}
	enc.Encode(m)
}

// previewFile previews a registry or org file the office uploaded, held for confirmation
// as one sent in chat.
func (u *UploadPage) previewFile(ctx context.Context, w http.ResponseWriter, a cases.Actor, kind, path, name, sum string, fail func(error)) {
	g := u.Pushes.Registry
	id := heldID(fmt.Sprintf("upload:%s:%s:%d", a.UserID, sum, time.Now().UnixNano()))
	var p FilePreview
	var err error
	switch kind {
	case uploadRegistry:
		p, err = g.PreviewRegistry(ctx, a, id, name, path)
	case uploadOrg:
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			fail(fmt.Errorf("read org file: %w", rerr))
			return
		}
		o, isOrg, perr := IsOrgFile(name, data)
		if !isOrg {
			fail(cases.Errorf(cases.EInvalid, "“%s”不是组织文件：请上传 org.yaml，或按组织文件模板（乡镇、部门、人员三个工作表）填写的 .xlsx。", name))
			return
		}
		p, err = g.PreviewOrgFile(ctx, a, id, name, data, o, perr)
	default:
		fail(cases.Errorf(cases.EInvalid, "kind 只能是 registry（监测对象名册）或 org（组织架构）；部门推送数据不填 kind。"))
		return
	}
	if err != nil {
		fail(err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

var uploadTemplate = template.Must(template.New("upload").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>上传数据文件</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;padding:16px;background:#f5f6f7;color:#222;font-size:16px;line-height:1.5}
main{max-width:560px;margin:0 auto}
h1{font-size:20px;margin:0 0 12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:12px}
label.t{font-weight:600;display:block;margin:0 0 6px}
input[type=text],select{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ccc;border-radius:6px;margin-bottom:12px}
#drop{border:2px dashed #9bb;border-radius:8px;padding:24px 12px;text-align:center;color:#555;margin-bottom:12px}
#drop.over{background:#eef6ff;border-color:#1677ff}
#fname{font-weight:600;word-break:break-all}
progress{width:100%;height:14px}
.alert{color:#c00;font-weight:600;white-space:pre-wrap}
#summary{white-space:pre-wrap}
.hint{color:#666;font-size:14px}
button{width:100%;padding:12px;font-size:17px;background:#1677ff;color:#fff;border:0;border-radius:6px}
button:disabled{background:#9ab}
a.dl{display:block;text-align:center;padding:10px;border:1px solid #1677ff;border-radius:6px;color:#1677ff;text-decoration:none;margin-top:8px}
</style></head><body><main>
<h1>上传数据文件</h1>
{{if .Error}}<p class="card alert" id="error">{{.Error}}</p>{{else}}
<p class="card">{{.Name}}您好（{{.Scope}}）。请选择本部门导出的 Excel（.xlsx/.xls）或 CSV 文件，文件不超过 {{.Limit}}。</p>
<form class="card" id="form" method="post" enctype="multipart/form-data">
{{if .Office}}<label class="t" for="kind">文件种类</label>
<select id="kind" name="kind"><option value="">部门推送数据</option><option value="registry">名册（监测对象名册）</option><option value="org">组织架构</option></select>{{end}}
<div id="drop"><label for="file">点此选择文件，或把文件拖到这里</label><br><input type="file" id="file" name="file" accept=".xlsx,.xls,.csv,.txt"><div id="fname"></div></div>
{{if .Choices}}<label class="t" for="category">风险类别</label>
<select id="category" name="category"><option value="">按表头自动识别</option>{{range .Choices}}<option value="{{.Key}}">{{.Label}}</option>{{end}}</select>{{end}}
<label class="t" for="period">期间（不填则为 {{.Period}}；因学数据为学年）</label>
<input type="text" id="period" name="period" placeholder="{{.Period}}" maxlength="9" autocomplete="off">
<div id="mapping" hidden></div>
<button type="submit" id="submit">上传并导入</button>
<p class="hint" id="state"></p>
<progress id="progress" max="100" value="0" hidden></progress>
</form>
<div class="card" id="result" hidden><p id="summary"></p><p class="alert" id="problem"></p><div id="download"></div><div id="decide"></div></div>
<script>
(function(){
var form=document.getElementById("form"),file=document.getElementById("file"),drop=document.getElementById("drop"),
 bar=document.getElementById("progress"),state=document.getElementById("state"),btn=document.getElementById("submit"),
 result=document.getElementById("result"),summary=document.getElementById("summary"),problem=document.getElementById("problem"),
 dl=document.getElementById("download"),decide=document.getElementById("decide"),fname=document.getElementById("fname"),mapping=document.getElementById("mapping"),picked=null,askedCat="";
function askColumns(d){
 askedCat=d.category;mapping.textContent="";mapping.hidden=false;
 var h=document.createElement("p");h.className="alert";h.textContent=d.error;mapping.appendChild(h);
 d.missing.forEach(function(col,i){
  var l=document.createElement("label");l.className="t";l.htmlFor="map"+i;l.textContent=col+" 对应文件中的：";mapping.appendChild(l);
  var s=document.createElement("select");s.id="map"+i;s.className="map";s.setAttribute("data-column",col);
  var o=document.createElement("option");o.value="";o.textContent="文件里没有这一列";s.appendChild(o);
  d.columns.forEach(function(c){var o=document.createElement("option");o.value=c;o.textContent=c;s.appendChild(o);});
  mapping.appendChild(s);
 });
}
function pickFile(f){picked=f;fname.textContent=f?f.name:"";mapping.hidden=true;mapping.textContent="";askedCat="";}
file.addEventListener("change",function(){pickFile(file.files[0]);});
drop.addEventListener("dragover",function(e){e.preventDefault();drop.className="over";});
drop.addEventListener("dragleave",function(){drop.className="";});
drop.addEventListener("drop",function(e){e.preventDefault();drop.className="";if(e.dataTransfer.files.length)pickFile(e.dataTransfer.files[0]);});
form.addEventListener("submit",function(e){
 e.preventDefault();
 if(!picked){state.textContent="请先选择文件。";return;}
 var fd=new FormData();fd.append("workbook","1");
 var k=document.getElementById("kind"),kind=k?k.value:"";
 if(kind)fd.append("kind",kind);
 var c=kind?null:document.getElementById("category");
 if(askedCat){fd.append("category",askedCat);var m={};
  Array.prototype.forEach.call(mapping.querySelectorAll("select.map"),function(s){if(s.value)m[s.value]=s.getAttribute("data-column");});
  fd.append("columns",JSON.stringify(m));}
 else if(c&&c.value)fd.append("category",c.value);
 var p=document.getElementById("period").value.trim();if(p&&!kind)fd.append("period",p);
 fd.append("file",picked,picked.name);
 var x=new XMLHttpRequest();x.open("POST",location.href);
 bar.hidden=false;bar.value=0;btn.disabled=true;result.hidden=true;dl.textContent="";decide.textContent="";summary.textContent="";problem.textContent="";
 x.upload.onprogress=function(ev){if(ev.lengthComputable){bar.value=Math.round(ev.loaded*100/ev.total);state.textContent="正在上传："+bar.value+"%";}};
 x.upload.onload=function(){bar.value=100;state.textContent="上传完成，正在导入，请稍候……";};
 x.onerror=function(){btn.disabled=false;state.textContent="网络中断，上传没有完成，请重试。";};
 x.onload=function(){
  btn.disabled=false;result.hidden=false;state.textContent="";var d={};
  try{d=JSON.parse(x.responseText);}catch(err){problem.textContent="服务器没有正常应答（"+x.status+"），请稍后重试。";return;}
  if(x.status==422&&d.code=="need_columns"){result.hidden=true;askColumns(d);state.textContent="请选择对应的列后再点“上传并导入”。";return;}
  if(x.status>=400){problem.textContent=d.error||"导入失败。";return;}
  mapping.hidden=true;mapping.textContent="";askedCat="";
  summary.textContent=d.summary||"";
  if(d.held){[d.confirm,"取消"].forEach(function(word){
   var b=document.createElement("button");b.type="button";b.className="dl";b.textContent=word;b.setAttribute("data-decide",word);
   b.addEventListener("click",function(){
    var f=new FormData();f.append("held",d.held);f.append("decide",word);
    var y=new XMLHttpRequest();y.open("POST",location.href);
    Array.prototype.forEach.call(decide.querySelectorAll("button"),function(x){x.disabled=true;});
    y.onload=function(){var r={};try{r=JSON.parse(y.responseText);}catch(err){}
     decide.textContent="";if(y.status>=400){problem.textContent=r.error||"操作没有成功。";}else{summary.textContent=r.message||"";}};
    y.onerror=function(){problem.textContent="网络中断，请重试。";Array.prototype.forEach.call(decide.querySelectorAll("button"),function(x){x.disabled=false;});};
    y.send(f);
   });
   decide.appendChild(b);});}
  if(d.refused_workbook){
   var bin=atob(d.refused_workbook),buf=new Uint8Array(bin.length);for(var i=0;i<bin.length;i++)buf[i]=bin.charCodeAt(i);
   var a=document.createElement("a");a.className="dl";a.id="refused";a.download=d.refused_filename;
   a.href=URL.createObjectURL(new Blob([buf],{type:"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}));
   a.textContent="下载退回的行（"+d.refused_filename+"）";dl.appendChild(a);
  }
 };
 x.send(fd);
});
})();
</script>
{{end}}
</main></body></html>
`))
