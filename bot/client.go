package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/message"
)

// DefaultAPIBase is WeCom's own API host; WECOM_API_BASE replaces it (the simulator).
const DefaultAPIBase = "https://qyapi.weixin.qq.com"

// WeCom error codes the bot acts on [90455].
const (
	CodeBusy          = -1
	CodeInvalidToken  = 40014
	CodeExpiredToken  = 42001
	CodeFrequency     = 45009
	CodeConcurrent    = 45033
	CodeTooLarge      = 45002
	CodeNoPrivilege   = 60011
	CodeInvalidUserID = 40003
)

// APIError is a WeCom answer with errcode ≠ 0, or an HTTP status other than 200.
type APIError struct {
	API    string
	Code   int64
	Msg    string
	Status int // HTTP status when not 200
}

func (e *APIError) Error() string {
	if e.Status != 0 && e.Status != http.StatusOK {
		return fmt.Sprintf("wecom %s: HTTP %d", e.API, e.Status)
	}
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// Retryable reports whether err is worth another try later: WeCom busy (−1), frequency
// or concurrency limits (45009, 45033), a 5xx, or a network failure.
func Retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status >= 500 {
			return true
		}
		switch ae.Code {
		case CodeBusy, CodeFrequency, CodeConcurrent, CodeInvalidToken, CodeExpiredToken:
			return true
		}
		return false
	}
	var fe *ForeignURLError
	if errors.As(err, &fe) {
		return false
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// CallError is a call to WeCom that got no answer: the connection could not be made, or
// broke or timed out after the request may have been written.
type CallError struct {
	API string
	Err error
}

func (e *CallError) Error() string { return fmt.Sprintf("wecom %s: %v", e.API, e.Err) }
func (e *CallError) Unwrap() error { return e.Err }

// sendAPIs are the calls that deliver a message: a lost answer may hide a delivery.
var sendAPIs = map[string]bool{"message/send": true, "appchat/send": true, "webhook/send": true,
	"aibot/response": true, "message/update_template_card": true}

// AnswerLost reports whether err leaves it unknown whether WeCom took a message: the
// connection broke or timed out once the request could have been written, or a 5xx came
// back (a gateway may answer so after WeCom took it). A refused connection, a failed DNS
// look-up or an errcode is a definite "not taken".
func AnswerLost(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return sendAPIs[ae.API] && ae.Status >= 500
	}
	var ce *CallError
	if errors.As(err, &ce) && sendAPIs[ce.API] {
		var oe *net.OpError
		if errors.As(ce.Err, &oe) && oe.Op == "dial" {
			return false
		}
		var de *net.DNSError
		return !errors.As(ce.Err, &de)
	}
	return false
}

// ForeignURLError is a URL the bot was asked to call back (an AI bot's response_url) that
// is not on WeCom's host. URL is the address without its query (which may hold secrets).
type ForeignURLError struct {
	URL string
}

func (e *ForeignURLError) Error() string {
	return fmt.Sprintf("refused to call %s: not WeCom's host (WECOM_API_BASE or WECOM_AIBOT_HOST)", e.URL)
}

// Client calls WeCom's server API for one app. It uses the SDK's request and response
// types and cache.Cache, but does its own HTTP so that every call carries a context, the
// base URL is per client (the SDK's URI modifier is process-wide) and a 5xx or errcode is
// visible to the retry logic.
type Client struct {
	Base    string // DefaultAPIBase or the simulator's URL
	CorpID  string
	AgentID int64
	Secret  string
	HTTP    *http.Client
	// Tokens caches the access token (a RedisCache in production, shared by instances).
	Tokens cache.Cache
	// ResponseHosts are the hosts (host or host:port) an AI bot's response_url may name
	// besides Base's own (WECOM_AIBOT_HOST); any other URL is refused (docs/limits.md).
	ResponseHosts []string

	mu sync.Mutex // one token fetch at a time in this process
}

// NewClient returns a client with a 15-second HTTP timeout.
func NewClient(base, corpID string, agentID int64, secret string, tokens cache.Cache) *Client {
	if base == "" {
		base = DefaultAPIBase
	}
	return &Client{Base: strings.TrimRight(base, "/"), CorpID: corpID, AgentID: agentID, Secret: secret,
		HTTP: &http.Client{Timeout: 15 * time.Second}, Tokens: tokens}
}

func (c *Client) tokenKey() string {
	return fmt.Sprintf("wecom:access_token:%s:%d", c.CorpID, c.AgentID)
}

// Token returns the cached access token, fetching a new one on a miss.
func (c *Client) Token(ctx context.Context) (string, error) {
	if v, ok := cache.GetContext(ctx, c.Tokens, c.tokenKey()).(string); ok && v != "" {
		return v, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := cache.GetContext(ctx, c.Tokens, c.tokenKey()).(string); ok && v != "" {
		return v, nil
	}
	q := url.Values{"corpid": {c.CorpID}, "corpsecret": {c.Secret}}
	var res struct {
		util.CommonError
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.do(ctx, "gettoken", http.MethodGet, c.Base+"/cgi-bin/gettoken?"+q.Encode(), nil, "", &res); err != nil {
		return "", err
	}
	if res.AccessToken == "" {
		return "", &APIError{API: "gettoken", Code: -1, Msg: "empty access_token"}
	}
	// Keep the token a little shorter than WeCom does, and never without expiry.
	ttl := time.Duration(res.ExpiresIn)*time.Second - 5*time.Minute
	if ttl < time.Minute {
		ttl = time.Minute
	}
	if err := cache.SetContext(ctx, c.Tokens, c.tokenKey(), res.AccessToken, ttl); err != nil {
		return "", fmt.Errorf("cache access token: %w", err)
	}
	return res.AccessToken, nil
}

// DropToken forgets the cached token (after 40014/42001; the SDK does not).
func (c *Client) DropToken(ctx context.Context) error {
	return cache.DeleteContext(ctx, c.Tokens, c.tokenKey())
}

// do performs one HTTP call and decodes the answer into out, which must embed
// util.CommonError (or be nil).
func (c *Client) do(ctx context.Context, api, method, u string, body []byte, contentType string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", api, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &CallError{API: api, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wecom %s: read answer: %w", api, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{API: api, Status: resp.StatusCode}
	}
	var ce util.CommonError
	if err := json.Unmarshal(data, &ce); err != nil {
		return fmt.Errorf("wecom %s: answer is not JSON: %w", api, err)
	}
	if ce.ErrCode != 0 {
		return &APIError{API: api, Code: ce.ErrCode, Msg: ce.ErrMsg, Status: http.StatusOK}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("wecom %s: decode answer: %w", api, err)
		}
	}
	return nil
}

// redactURLError keeps access tokens and webhook keys out of errors and logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// withToken runs call with the access token; on 40014/42001 it drops the token and
// tries once more with a fresh one.
func (c *Client) withToken(ctx context.Context, call func(token string) error) error {
	for try := 0; ; try++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		err = call(tok)
		var ae *APIError
		if try == 0 && errors.As(err, &ae) && (ae.Code == CodeInvalidToken || ae.Code == CodeExpiredToken) {
			if derr := c.DropToken(ctx); derr != nil {
				return fmt.Errorf("%w (and dropping the token failed: %v)", err, derr)
			}
			continue
		}
		return err
	}
}

// PostJSON posts in to /cgi-bin/<path>?access_token=… and decodes the answer into out.
func (c *Client) PostJSON(ctx context.Context, path string, in, out any) error {
	body, err := marshalJSON(in)
	if err != nil {
		return fmt.Errorf("wecom %s: %w", path, err)
	}
	return c.withToken(ctx, func(tok string) error {
		return c.do(ctx, path, http.MethodPost, c.Base+"/cgi-bin/"+path+"?access_token="+url.QueryEscape(tok), body, "application/json", out)
	})
}

// Get calls GET /cgi-bin/<path>?access_token=…&query and decodes the answer into out.
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	return c.withToken(ctx, func(tok string) error {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		return c.do(ctx, path, http.MethodGet, c.Base+"/cgi-bin/"+path+"?"+q.Encode(), nil, "", out)
	})
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // WeCom shows &lt; literally
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SendResponse is message/send's answer (the SDK's type).
type SendResponse = message.SendResponse

// SendMessage calls message/send with req, a message.SendRequestCommon-shaped object
// whose agentid the client fills when it is a map.
func (c *Client) SendMessage(ctx context.Context, req any) (*SendResponse, error) {
	var res SendResponse
	if err := c.PostJSON(ctx, "message/send", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// AppChatSend calls appchat/send.
func (c *Client) AppChatSend(ctx context.Context, req any) error {
	return c.PostJSON(ctx, "appchat/send", req, nil)
}

// AppChat is appchat/create's request [90245]: name ≤ 50 characters, 2–2000 members,
// chatid ≤ 32 of [0-9a-zA-Z] (WeCom makes one up when empty).
type AppChat struct {
	Name     string   `json:"name"`
	Owner    string   `json:"owner,omitempty"`
	UserList []string `json:"userlist"`
	ChatID   string   `json:"chatid,omitempty"`
}

// CreateAppChat calls appchat/create (missing from the SDK) and returns the chat id.
func (c *Client) CreateAppChat(ctx context.Context, chat AppChat) (string, error) {
	var res struct {
		util.CommonError
		ChatID string `json:"chatid"`
	}
	if err := c.PostJSON(ctx, "appchat/create", chat, &res); err != nil {
		return "", err
	}
	return res.ChatID, nil
}

// UpdateTemplateCard calls message/update_template_card (missing from the SDK). body
// holds response_code and button{replace_name} or template_card; userids and agentid
// are filled in.
func (c *Client) UpdateTemplateCard(ctx context.Context, userids []string, body map[string]any) error {
	req := map[string]any{}
	for k, v := range body {
		req[k] = v
	}
	req["userids"] = userids
	req["agentid"] = c.AgentID
	return c.PostJSON(ctx, "message/update_template_card", req, nil)
}

// UploadMedia uploads a temporary file (media/upload, type file/image/voice/video) and
// returns its media_id, valid three days.
func (c *Client) UploadMedia(ctx context.Context, typ, filename string, content []byte) (string, error) {
	body, ctype, err := multipartFile(filename, content)
	if err != nil {
		return "", err
	}
	var res struct {
		util.CommonError
		MediaID string `json:"media_id"`
	}
	err = c.withToken(ctx, func(tok string) error {
		q := url.Values{"access_token": {tok}, "type": {typ}}
		return c.do(ctx, "media/upload", http.MethodPost, c.Base+"/cgi-bin/media/upload?"+q.Encode(), body, ctype, &res)
	})
	if err != nil {
		return "", err
	}
	return res.MediaID, nil
}

// WebhookSend posts to a group robot (webhook/send?key=). Unlike the SDK's
// RobotBroadcast, an errcode ≠ 0 is an error.
func (c *Client) WebhookSend(ctx context.Context, key string, req any) error {
	body, err := marshalJSON(req)
	if err != nil {
		return fmt.Errorf("wecom webhook/send: %w", err)
	}
	return c.do(ctx, "webhook/send", http.MethodPost, c.Base+"/cgi-bin/webhook/send?key="+url.QueryEscape(key), body, "application/json", nil)
}

// WebhookUploadMedia uploads a file for a group robot and returns its media_id.
func (c *Client) WebhookUploadMedia(ctx context.Context, key, filename string, content []byte) (string, error) {
	body, ctype, err := multipartFile(filename, content)
	if err != nil {
		return "", err
	}
	var res struct {
		util.CommonError
		MediaID string `json:"media_id"`
	}
	q := url.Values{"key": {key}, "type": {"file"}}
	if err := c.do(ctx, "webhook/upload_media", http.MethodPost, c.Base+"/cgi-bin/webhook/upload_media?"+q.Encode(), body, ctype, &res); err != nil {
		return "", err
	}
	return res.MediaID, nil
}

// CheckResponseURL refuses a response_url that is not on WeCom's host: Base's host, or
// one of ResponseHosts, over https (or Base's own scheme, for the simulator), without
// user information. The error names the URL without its query.
func (c *Client) CheckResponseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &ForeignURLError{URL: "(unparsable URL)"}
	}
	bare := *u
	bare.RawQuery, bare.Fragment, bare.User = "", "", nil
	refuse := &ForeignURLError{URL: bare.String()}
	base, err := url.Parse(c.Base)
	if err != nil || u.User != nil || u.Opaque != "" {
		return refuse
	}
	if u.Scheme != "https" && u.Scheme != base.Scheme {
		return refuse
	}
	host := strings.ToLower(u.Host)
	if host == strings.ToLower(base.Host) {
		return nil
	}
	for _, h := range c.ResponseHosts {
		// the host exactly, port and all: "aibot.example.com:" with its empty port is not it
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" && host == h {
			return nil
		}
	}
	return refuse
}

// PostResponseURL answers an AI bot message through its single-use response_url, which
// must be on WeCom's host (CheckResponseURL).
func (c *Client) PostResponseURL(ctx context.Context, responseURL string, req any) error {
	if err := c.CheckResponseURL(responseURL); err != nil {
		return err
	}
	body, err := marshalJSON(req)
	if err != nil {
		return fmt.Errorf("wecom response_url: %w", err)
	}
	return c.do(ctx, "aibot/response", http.MethodPost, responseURL, body, "application/json", nil)
}

func multipartFile(filename string, content []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("media", filename)
	if err != nil {
		return nil, "", fmt.Errorf("media upload: %w", err)
	}
	fw.Write(content)
	if err := w.Close(); err != nil {
		return nil, "", fmt.Errorf("media upload: %w", err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// RedirectSDK points every API call the SDK's own clients make (for example its OAuth
// client, if a handler uses it) at base instead of WeCom, process-wide through
// util.SetURIModifier. bot.Client does not need it; `fangpin serve` calls it with
// WECOM_API_BASE so the whole process talks to the simulator.
func RedirectSDK(base string) {
	base = strings.TrimRight(base, "/")
	if base == "" || base == DefaultAPIBase {
		util.SetURIModifier(nil)
		return
	}
	util.SetURIModifier(func(uri string) string {
		if rest, ok := strings.CutPrefix(uri, DefaultAPIBase); ok {
			return base + rest
		}
		return uri
	})
}

// UserIDByCode resolves a WeCom OAuth code (from a link opened inside WeCom) to the userid
// through auth/getuserinfo; a code works once.
func (c *Client) UserIDByCode(ctx context.Context, code string) (string, error) {
	var out struct {
		UserID  string `json:"userid"`
		UserId2 string `json:"UserId"` // older answers spell it so
	}
	if err := c.Get(ctx, "auth/getuserinfo", url.Values{"code": {code}}, &out); err != nil {
		return "", err
	}
	if out.UserID == "" {
		out.UserID = out.UserId2
	}
	if out.UserID == "" {
		return "", fmt.Errorf("wecom auth/getuserinfo: not a member of the company")
	}
	return out.UserID, nil
}
