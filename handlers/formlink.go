package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
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
}

// DefaultFormTTL outlives a case's 20 working days with room to spare.
const DefaultFormTTL = 45 * 24 * time.Hour

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
	return nil
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
