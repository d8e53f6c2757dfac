package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/sheet"
)

// BatchStore is what the department push API needs from the ledger the store.
type BatchStore interface {
	intake.Store
	Today() cases.Date
}

// BatchAPI is POST /api/v1/batches (docs/intake.md): a department pushes its screening data as a
// multipart file (field `file`, plus `category` and `period`) or as JSON
// {"category","period","records":[{column: value}]}, authenticated by its bearer token, of
// which only the SHA-256 is stored. It answers the import JSON of `fangpin import`.
type BatchAPI struct {
	Store  BatchStore
	Rules  cases.Rules // nil: the defaults
	Access AccessLog   // each push imported
	// MaxBytes limits a multipart request body (default: sheet.MaxFileBytes plus 1 MiB for
	// the form's other fields); the file in it is at most sheet.MaxFileBytes whatever
	// MaxBytes says. JSON bodies are held in memory and limited to MaxJSONBytes (default
	// 16 MiB); their records are decoded one at a time.
	MaxBytes     int64
	MaxJSONBytes int64
	TempDir      string // for uploaded files; default os.TempDir()
	Log          *slog.Logger
	// Parallel is how many pushes are read and imported at once (default 1). Each may
	// hold the readers' bounded share of memory (cases/sheet), so one at a time keeps the
	// process within docs/limits.md's 256 MB however many arrive together; the others wait up
	// to QueueWait (default 2 minutes), then get 503 with Retry-After. Uploads are
	// spooled to disk before they wait.
	Parallel  int
	QueueWait time.Duration

	semOnce sync.Once
	sem     chan struct{}
}

// errBusy is a push that waited QueueWait for its turn.
var errBusy = errors.New("batch api: busy")

// Turn waits for a push's turn to be read and imported; release gives it back. Files
// delivered in chat and on the upload page take their turn here too (FilePushes.Turn).
func (a *BatchAPI) Turn(ctx context.Context) (release func(), err error) { return a.turn(ctx) }

// turn waits for the push's turn to read and import; release gives it back.
func (a *BatchAPI) turn(ctx context.Context) (release func(), err error) {
	a.semOnce.Do(func() { a.sem = make(chan struct{}, max(1, a.Parallel)) })
	wait := a.QueueWait
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case a.sem <- struct{}{}:
		return func() { <-a.sem }, nil
	case <-timer.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var _ http.Handler = (*BatchAPI)(nil)

type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func (a *BatchAPI) fail(w http.ResponseWriter, status int, code, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(apiError{Error: fmt.Sprintf(format, args...), Code: code})
}

func (a *BatchAPI) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// department finds whose token this is; it compares hashes in constant time and looks at
// every department whatever matches, so timing says nothing about the tokens.
func (a *BatchAPI) department(ctx context.Context, r *http.Request) (*cases.OrgDepartment, error) {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	hash := []byte(hex.EncodeToString(sum[:]))
	depts, err := a.Store.PushDepartments(ctx)
	if err != nil {
		return nil, err
	}
	var found *cases.OrgDepartment
	for i := range depts {
		want := []byte(depts[i].TokenSHA256)
		if len(want) == len(hash) && subtle.ConstantTimeCompare(want, hash) == 1 {
			found = &depts[i]
		}
	}
	return found, nil
}

func (a *BatchAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		a.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", "请用 POST 推送数据")
		return
	}
	dept, err := a.department(ctx, r)
	if err != nil {
		a.log().Error("batch api: departments", "err", err)
		a.fail(w, http.StatusInternalServerError, "internal", "%s", cases.ErrorMessage(err))
		return
	}
	if dept == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fangpin"`)
		a.fail(w, http.StatusUnauthorized, "unauthorized", "令牌无效：请在请求头写 Authorization: Bearer <本部门的推送令牌>；令牌请向县扶贫办索取")
		return
	}
	max := a.MaxBytes
	if max <= 0 {
		max = sheet.MaxFileBytes + 1<<20
	}
	maxJSON := a.MaxJSONBytes
	if maxJSON <= 0 {
		maxJSON = 16 << 20
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	req := intake.Request{Department: dept.Name, Source: "api", Rules: a.Rules, Today: a.Store.Today()}
	var batch cases.Batch
	switch mt {
	case "multipart/form-data":
		r.Body = http.MaxBytesReader(w, r.Body, max)
		batch, err = a.pushFile(ctx, r, dept, req)
	case "application/json":
		r.Body = http.MaxBytesReader(w, r.Body, maxJSON)
		batch, err = a.pushJSON(ctx, r, dept, req)
	default:
		a.fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"请用 multipart/form-data（字段 file、category、period）或 application/json（category、period、records）推送")
		return
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "60")
		a.fail(w, http.StatusServiceUnavailable, "busy", "正在处理其他部门的推送，请一分钟后重试")
		return
	case errors.As(err, &tooBig):
		a.fail(w, http.StatusRequestEntityTooLarge, "too_large", "数据太大（上限 %s），请分成几个文件推送", sizeText(tooBig.Limit))
		return
	case err != nil:
		switch cases.ErrorCode(err) {
		case cases.ETooLarge:
			a.fail(w, http.StatusRequestEntityTooLarge, string(cases.ETooLarge), "%s", cases.ErrorMessage(err))
		case cases.EInvalid:
			a.fail(w, http.StatusBadRequest, string(cases.EInvalid), "%s", cases.ErrorMessage(err))
		case cases.EForbidden:
			a.fail(w, http.StatusForbidden, string(cases.EForbidden), "%s", cases.ErrorMessage(err))
		case cases.ENotFound:
			a.fail(w, http.StatusNotFound, string(cases.ENotFound), "%s", cases.ErrorMessage(err))
		default:
			if ctx.Err() != nil {
				// The client went away (or the server is stopping): nobody waits for an answer.
				a.log().Info("batch api: push abandoned", "department", dept.Name, "err", err)
				return
			}
			a.log().Error("batch api: import", "department", dept.Name, "err", err)
			a.fail(w, http.StatusInternalServerError, "internal", "%s", cases.ErrorMessage(err))
		}
		return
	}
	status := http.StatusCreated
	if batch.DuplicateOf != nil {
		status = http.StatusOK
	} else if err := recordAccess(ctx, a.Access, cases.AccessEvent{User: "api:" + dept.Name, Action: cases.AccessImport,
		BatchID: batch.ID, Channel: cases.ChannelAPI,
		Detail: fmt.Sprintf("%s %s %s 期，%d 行", batch.Department, batch.Category, batch.Period, batch.Rows)}); err != nil {
		// The push is stored; only its record failed: said in the log, the department is answered.
		a.log().Error("batch api: record import in the access log", "batch", batch.ID, "err", err)
	}
	a.log().Info("batch pushed", "department", dept.Name, "category", batch.Category, "batch", batch.ID,
		"rows", batch.Rows, "rejected", batch.Rejected, "warnings", batch.Warnings, "replaced", batch.Replaced, "duplicate", batch.DuplicateOf != nil)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(batch)
}

// checkCategory refuses a category the department does not push.
func checkCategory(dept *cases.OrgDepartment, s string) (cases.Category, error) {
	cat, ok := cases.ParseCategory(strings.TrimSpace(s))
	if !ok {
		return "", cases.Errorf(cases.EInvalid, "不认识的风险类别“%s”", s)
	}
	for _, c := range dept.Categories {
		if c == cat {
			return cat, nil
		}
	}
	return "", cases.Errorf(cases.EForbidden, "%s不负责推送“%s”（%s）类预警", dept.Name, cat.Label(), cat)
}

// pushFile streams the multipart body: the file goes to a temporary file (XLSX needs
// random access) while it is hashed; the small fields are read in any order.
func (a *BatchAPI) pushFile(ctx context.Context, r *http.Request, dept *cases.OrgDepartment, req intake.Request) (cases.Batch, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "multipart 请求格式不对：%v", err)
	}
	var path, category, period string
	defer func() {
		if path != "" {
			os.Remove(path)
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return cases.Batch{}, err
			}
			return cases.Batch{}, cases.Errorf(cases.EInvalid, "multipart 请求格式不对：%v", err)
		}
		switch part.FormName() {
		case "file":
			if path != "" {
				return cases.Batch{}, cases.Errorf(cases.EInvalid, "一次只能推送一个文件")
			}
			f, err := os.CreateTemp(a.TempDir, "fangpin-push-*")
			if err != nil {
				return cases.Batch{}, fmt.Errorf("spool upload: %w", err)
			}
			path = f.Name()
			h := sha256.New()
			src := &clientReader{r: io.LimitReader(part, sheet.MaxFileBytes+1)}
			n, err := io.Copy(io.MultiWriter(f, h), src)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if src.err != nil {
				return cases.Batch{}, uploadErr(src.err)
			}
			if err != nil {
				return cases.Batch{}, fmt.Errorf("spool upload: %w", err)
			}
			if n > sheet.MaxFileBytes {
				return cases.Batch{}, cases.Errorf(cases.ETooLarge, "%s", sheet.ErrFileTooLarge.Error())
			}
			req.SHA256 = hex.EncodeToString(h.Sum(nil))
			req.Filename = part.FileName()
		case "category", "period":
			b, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return cases.Batch{}, uploadErr(err)
			}
			if part.FormName() == "category" {
				category = string(b)
			} else {
				period = strings.TrimSpace(string(b))
			}
		}
		if err := part.Close(); err != nil {
			return cases.Batch{}, uploadErr(err)
		}
	}
	if path == "" {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "缺少文件：请在字段 file 中上传 Excel（.xlsx 或 .xls）、CSV 或制表符分隔的文本文件")
	}
	if strings.TrimSpace(category) == "" {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "缺少字段 category（风险类别代码，例如 medical）")
	}
	if req.Category, err = checkCategory(dept, category); err != nil {
		return cases.Batch{}, err
	}
	req.Period = period
	release, err := a.turn(ctx)
	if err != nil {
		return cases.Batch{}, err
	}
	defer release()
	return intake.ImportFile(ctx, a.Store, req, path)
}

func (a *BatchAPI) pushJSON(ctx context.Context, r *http.Request, dept *cases.OrgDepartment, req intake.Request) (cases.Batch, error) {
	release, err := a.turn(ctx)
	if err != nil {
		return cases.Batch{}, err
	}
	defer release()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return cases.Batch{}, uploadErr(err)
	}
	push, err := intake.ReadJSONPush(body)
	if err != nil {
		return cases.Batch{}, err
	}
	if req.Category, err = checkCategory(dept, push.Category); err != nil {
		return cases.Batch{}, err
	}
	sum := sha256.Sum256(body)
	req.SHA256 = hex.EncodeToString(sum[:])
	req.Period = push.Period
	return intake.Import(ctx, a.Store, req, push)
}

// clientReader remembers an error of reading the request, to tell it from the server's
// own (writing the temporary file).
type clientReader struct {
	r   io.Reader
	err error
}

func (c *clientReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// uploadErr is the answer to a request body that could not be read: too large (413,
// passed on as *http.MaxBytesError) or cut short or malformed (400; the Go error stays
// out of the Chinese message).
func uploadErr(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return cases.Errorf(cases.EInvalid, "请求内容不完整或格式不对（可能在上传中途断开了），请重新推送")
}

// sizeText writes a byte limit for people: "50 MB", or "4 KB" for small test limits.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", max(1, n>>10))
}
