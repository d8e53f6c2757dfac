package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fangpin/fangpin/cases"
)

// FormLinks signs and checks links to the H5 form: a link is bound to one user and one
// case and expires, so a forwarded link is useless to anyone else after a while and can
// never open another case. The secret comes from FANGPIN_FORM_SECRET.
type FormLinks struct {
	Secret  []byte
	BaseURL string        // e.g. https://fangpin.example.gov.cn (no trailing slash)
	TTL     time.Duration // default DefaultFormTTL
	Now     func() time.Time
	// OAuthCorpID, when set (FANGPIN_H5_OAUTH in production), makes a page opened from a
	// signed link ask WeCom's OAuth who is opening it: the viewer must be the link's user.
	// Unset (tests, the simulator), the link's user is taken as the viewer, unless the
	// request carries an OAuth code anyway.
	OAuthCorpID  string
	OAuthAgentID string
}

// DefaultFormTTL is how long a signed link lives (docs/privacy.md: at most 7 days; the
// task list and the 查看/表单 commands hand out fresh ones).
const DefaultFormTTL = 7 * 24 * time.Hour

// Enabled is false for nil links (announce.Links): a service without a public address.
func (l *FormLinks) Enabled() bool { return l != nil }

// Base is the public address links start with (announce.Links).
func (l *FormLinks) Base() string { return l.BaseURL }

func (l *FormLinks) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *FormLinks) sign(caseNo, user string, exp int64) string {
	m := hmac.New(sha256.New, l.Secret)
	fmt.Fprintf(m, "form\x00%s\x00%s\x00%d", caseNo, user, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// Path is the form's path for a case: /form/YJ202611-0001?u=…&e=…&s=…
func (l *FormLinks) Path(caseNo, user string) string {
	ttl := l.TTL
	if ttl == 0 {
		ttl = DefaultFormTTL
	}
	exp := l.now().Add(ttl).Unix()
	v := url.Values{"u": {user}, "e": {strconv.FormatInt(exp, 10)}, "s": {l.sign(caseNo, user, exp)}}
	return "/form/" + url.PathEscape(caseNo) + "?" + v.Encode()
}

// URL is the absolute link for messages.
func (l *FormLinks) URL(caseNo, user string) string {
	return strings.TrimRight(l.BaseURL, "/") + l.Path(caseNo, user)
}

// Verify checks a link's user, expiry and signature for the case it names.
func (l *FormLinks) Verify(caseNo, user, exp, sig string) error {
	if len(l.Secret) == 0 {
		return cases.Errorf(cases.EForbidden, "表单链接未启用，请联系县扶贫办。")
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || user == "" || !hmac.Equal([]byte(sig), []byte(l.sign(caseNo, user, e))) {
		return cases.Errorf(cases.EForbidden, "这个表单链接无效。请在企业微信里发送“表单 %s”重新获取。", caseNo)
	}
	if l.now().Unix() > e {
		return cases.Errorf(cases.EForbidden, "这个表单链接已过期。请在企业微信里发送“表单 %s”重新获取。", caseNo)
	}
	// A link lives at most its kind's lifetime (docs/privacy.md): one that claims longer was
	// not made here, whoever holds the secret.
	if time.Unix(e, 0).After(l.now().Add(l.maxTTL(caseNo) + time.Minute)) {
		return cases.Errorf(cases.EForbidden, "这个表单链接无效。请在企业微信里发送“表单 %s”重新获取。", caseNo)
	}
	return nil
}

// maxTTL is the longest a link of this kind (key) may live: 24 hours for the upload page, 7
// days (or the configured TTL, if longer in a test) for the others.
func (l *FormLinks) maxTTL(key string) time.Duration {
	if key == uploadLinkKey {
		return UploadTTL
	}
	return max(l.TTL, DefaultFormTTL, OverviewTTL)
}

// reportLinkKey stands in for the case number in the signature of a 申报/走访 form link: no
// case number can equal it, so a report link opens no case and a case link no report form.
const reportLinkKey = "report"

// ReportPath is the 申报/走访 form's path for a cadre: /report?u=…&e=…&s=…
func (l *FormLinks) ReportPath(user string) string {
	return "/report?" + strings.SplitN(l.Path(reportLinkKey, user), "?", 2)[1]
}

// ReportURL is the absolute link to the 申报/走访 form.
func (l *FormLinks) ReportURL(user string) string {
	return strings.TrimRight(l.BaseURL, "/") + l.ReportPath(user)
}

// VerifyReport checks a 申报/走访 form link.
func (l *FormLinks) VerifyReport(user, exp, sig string) error {
	if err := l.Verify(reportLinkKey, user, exp, sig); err != nil {
		if cases.ErrorCode(err) == cases.EForbidden && len(l.Secret) > 0 {
			return cases.Errorf(cases.EForbidden, "这个表单链接无效或已过期。请在企业微信里私聊发送“申报”或“走访”重新获取。")
		}
		return err
	}
	return nil
}

// writePage answers with an HTML page that holds a household's details: never cached, never
// named to another site in a Referer.
func writePage(w http.ResponseWriter, status int, t *template.Template, data any) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	return t.Execute(w, data)
}

// viewerCookie remembers for a few hours who WeCom's OAuth said is opening the pages, so that
// the form's submission (whose OAuth code is spent) need not ask again.
const (
	viewerCookie    = "fangpin_viewer"
	viewerCookieTTL = 8 * time.Hour
)

// Reasons a signed link is refused (the access log's detail; no personal data).
const (
	refusedForwarded = "他人打开"
	refusedInvalid   = "链接无效或被改动"
	refusedExpired   = "链接已过期"
	refusedOAuth     = "身份验证失败"
	refusedNoOAuth   = "未经企业微信身份验证"
)

// errForwarded: a link opened by someone else than the person it was made for. It names
// every command that gives a link of one's own: the page may be a form, the task list, the
// upload page or the overview.
var errForwarded = cases.Errorf(cases.EForbidden, "这个链接是发给其他同事的，您不能用它打开。"+
	"请在企业微信里向助手发送相应的命令获取您自己的链接：“待办”（任务清单）、“表单 <编号>”、“上传”（部门联络员）或“概览”（县扶贫办、县领导）。")

// errOAuthNeeded: the page must first ask WeCom's OAuth who is opening it.
var errOAuthNeeded = cases.Errorf(cases.EForbidden, "请在企业微信里打开这个链接，以便确认您的身份。")

func (l *FormLinks) viewerSig(user string, exp int64) string {
	m := hmac.New(sha256.New, l.Secret)
	fmt.Fprintf(m, "viewer\x00%s\x00%d", user, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// CheckViewer checks that whoever opens a page from user's signed link is user: by the
// request's OAuth code (then remembered in a cookie), by that cookie, or — without OAuth
// configured — by the link alone. It returns the refusal's reason for the access log with
// an error whose message the page shows; errOAuthNeeded asks the caller to redirect to
// OAuthRedirect.
func (l *FormLinks) CheckViewer(w http.ResponseWriter, r *http.Request, user string, oauth CodeResolver) (viewer, reason string, err error) {
	if code := r.URL.Query().Get("code"); code != "" && oauth != nil {
		v, err := oauth.UserIDByCode(r.Context(), code)
		if err != nil {
			return "", refusedOAuth, cases.Errorf(cases.EForbidden, "企业微信身份验证失败，请从企业微信里重新打开这个链接。")
		}
		if v != user {
			return v, refusedForwarded, errForwarded
		}
		l.RememberViewer(w, v)
		return v, "", nil
	}
	if c, err := r.Cookie(viewerCookie); err == nil {
		parts := strings.Split(c.Value, ".")
		if len(parts) == 3 {
			v, _ := url.QueryUnescape(parts[0])
			exp, _ := strconv.ParseInt(parts[1], 10, 64)
			if hmac.Equal([]byte(parts[2]), []byte(l.viewerSig(v, exp))) && l.now().Unix() <= exp {
				if v != user {
					return v, refusedForwarded, errForwarded
				}
				return v, "", nil
			}
		}
	}
	if l.OAuthCorpID != "" {
		return "", refusedNoOAuth, errOAuthNeeded
	}
	return user, "", nil
}

// RememberViewer sets the cookie that says, for a few hours, that OAuth found the viewer
// to be user.
func (l *FormLinks) RememberViewer(w http.ResponseWriter, user string) {
	exp := l.now().Add(viewerCookieTTL).Unix()
	http.SetCookie(w, &http.Cookie{Name: viewerCookie, Value: fmt.Sprintf("%s.%d.%s", url.QueryEscape(user), exp, l.viewerSig(user, exp)),
		Path: "/", MaxAge: int(viewerCookieTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: strings.HasPrefix(l.BaseURL, "https://")})
}

// OAuthRedirect is WeCom's OAuth address that brings the viewer back to r's page with a
// code (snsapi_base: the userid only, no consent page).
func (l *FormLinks) OAuthRedirect(r *http.Request) string {
	back := strings.TrimRight(l.BaseURL, "/") + r.URL.RequestURI()
	v := url.Values{"appid": {l.OAuthCorpID}, "redirect_uri": {back}, "response_type": {"code"},
		"scope": {"snsapi_base"}, "state": {"fangpin"}}
	if l.OAuthAgentID != "" {
		v.Set("agentid", l.OAuthAgentID)
	}
	return "https://open.weixin.qq.com/connect/oauth2/authorize?" + v.Encode() + "#wechat_redirect"
}

// linkRefusal is the access log's reason for a link Verify refused.
func linkRefusal(l *FormLinks, exp string) string {
	if e, err := strconv.ParseInt(exp, 10, 64); err == nil && l.now().Unix() > e {
		return refusedExpired
	}
	return refusedInvalid
}

// refuseLink records a refused link: a log line (the page and the reason, no personal
// data) and the access log (who, when known, and which case).
func refuseLink(ctx context.Context, log *slog.Logger, access AccessLog, page, caseNo, viewer, reason string) {
	log.WarnContext(ctx, "signed link refused", "page", page, "reason", reason)
	if viewer == "" {
		viewer = "unknown"
	}
	if err := recordAccess(ctx, access, cases.AccessEvent{User: viewer, Action: cases.AccessRefused, CaseNo: caseNo,
		Channel: cases.ChannelH5, Detail: page + "：" + reason}); err != nil {
		log.ErrorContext(ctx, "record refused link", "page", page, "err", err)
	}
}

// actionURI is the address a page posts back to: its own, without the OAuth code (spent once
// read; the viewer cookie stands for it).
func actionURI(r *http.Request) string {
	q := r.URL.Query()
	if q.Get("code") == "" {
		return r.URL.RequestURI()
	}
	q.Del("code")
	q.Del("state")
	u := *r.URL
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// uploadLinkKey stands in for the case number in the signature of an upload page link:
// no case number can equal it, so an upload link opens no case and no form.
const uploadLinkKey = "upload"

// UploadTTL is how long an upload page link works (docs/files.md: 24 hours).
const UploadTTL = 24 * time.Hour

// UploadPath is the upload page's path for a liaison or the office: /upload/<user>?e=…&s=…
func (l *FormLinks) UploadPath(user string) string {
	exp := l.now().Add(UploadTTL).Unix()
	v := url.Values{"e": {strconv.FormatInt(exp, 10)}, "s": {l.sign(uploadLinkKey, user, exp)}}
	return "/upload/" + url.PathEscape(user) + "?" + v.Encode()
}

// UploadURL is the absolute link to the upload page.
func (l *FormLinks) UploadURL(user string) string {
	return strings.TrimRight(l.BaseURL, "/") + l.UploadPath(user)
}

// VerifyUpload checks an upload page link.
func (l *FormLinks) VerifyUpload(user, exp, sig string) error {
	if err := l.Verify(uploadLinkKey, user, exp, sig); err != nil {
		if cases.ErrorCode(err) == cases.EForbidden && len(l.Secret) > 0 {
			if e, perr := strconv.ParseInt(exp, 10, 64); perr == nil && user != "" && hmac.Equal([]byte(sig), []byte(l.sign(uploadLinkKey, user, e))) {
				return cases.Errorf(cases.EForbidden, "这个上传链接已过期（有效期 24 小时）。请在企业微信里私聊发送“上传”重新获取。")
			}
			return cases.Errorf(cases.EForbidden, "这个上传链接无效（可能被改动过，或不是发给您的）。请在企业微信里私聊发送“上传”重新获取。")
		}
		return err
	}
	return nil
}

// overviewLinkKey stands in for the case number in the signature of an overview page link.
const overviewLinkKey = "overview"

// OverviewTTL is how long an overview page link works.
const OverviewTTL = 7 * 24 * time.Hour

// OverviewPath is the overview page's path for an office member or a leader:
// /overview/<user>?e=…&s=…
func (l *FormLinks) OverviewPath(user string) string {
	exp := l.now().Add(OverviewTTL).Unix()
	v := url.Values{"e": {strconv.FormatInt(exp, 10)}, "s": {l.sign(overviewLinkKey, user, exp)}}
	return "/overview/" + url.PathEscape(user) + "?" + v.Encode()
}

// OverviewURL is the absolute link to the overview page.
func (l *FormLinks) OverviewURL(user string) string {
	return strings.TrimRight(l.BaseURL, "/") + l.OverviewPath(user)
}

// VerifyOverview checks an overview page link.
func (l *FormLinks) VerifyOverview(user, exp, sig string) error {
	if err := l.Verify(overviewLinkKey, user, exp, sig); err != nil {
		if cases.ErrorCode(err) == cases.EForbidden && len(l.Secret) > 0 {
			if e, perr := strconv.ParseInt(exp, 10, 64); perr == nil && user != "" && hmac.Equal([]byte(sig), []byte(l.sign(overviewLinkKey, user, e))) {
				return cases.Errorf(cases.EForbidden, "这个概览链接已过期（有效期 7 天）。请在企业微信里发送“概览”重新获取。")
			}
			return cases.Errorf(cases.EForbidden, "这个概览链接无效（可能被改动过，或不是发给您的）。请在企业微信里发送“概览”重新获取。")
		}
		return err
	}
	return nil
}
