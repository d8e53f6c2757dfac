package handlers

import (
	"bytes"
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

	"github.com/go-playground/validator/v10"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
)

// BatchStore is what the department push API needs from the ledger (*postgres.DB).
type BatchStore interface {
	intake.Store
	Today() cases.Date
}

// BatchAPI is POST /api/v1/batches (spec §11): a department pushes its screening data as a
// multipart file (field `file`, plus `category` and `period`) or as JSON
// {"category","period","records":[{column: value}]}, authenticated by its bearer token, of
// which only the SHA-256 is stored. It answers the import JSON of `fangpin import`.
type BatchAPI struct {
	Store BatchStore
	Rules cases.Rules // nil: the defaults
	// MaxBytes limits a request body (default 64 MiB); JSON bodies are held in memory and
	// limited to MaxJSONBytes (default 16 MiB).
	MaxBytes     int64
	MaxJSONBytes int64
	TempDir      string // for uploaded files; default os.TempDir()
	Log          *slog.Logger
}

var _ http.Handler = (*BatchAPI)(nil)

var batchValidate = validator.New()

// batchJSON is the JSON form of a push.
type batchJSON struct {
	Category string           `json:"category" validate:"required"`
	Period   string           `json:"period" validate:"omitempty,datetime=2006-01|len=9"` // YYYY-MM, or an education 学年 2026-2027
	Records  []map[string]any `json:"records" validate:"required,min=1,max=200000"`
}

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
		max = 64 << 20
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
	case errors.As(err, &tooBig):
		a.fail(w, http.StatusRequestEntityTooLarge, "too_large", "数据太大（上限 %d MB），请分成几个文件推送", tooBig.Limit>>20)
		return
	case err != nil:
		switch cases.ErrorCode(err) {
		case cases.EInvalid:
			a.fail(w, http.StatusBadRequest, string(cases.EInvalid), "%s", cases.ErrorMessage(err))
		case cases.EForbidden:
			a.fail(w, http.StatusForbidden, string(cases.EForbidden), "%s", cases.ErrorMessage(err))
		case cases.ENotFound:
			a.fail(w, http.StatusNotFound, string(cases.ENotFound), "%s", cases.ErrorMessage(err))
		default:
			a.log().Error("batch api: import", "department", dept.Name, "err", err)
			a.fail(w, http.StatusInternalServerError, "internal", "%s", cases.ErrorMessage(err))
		}
		return
	}
	status := http.StatusCreated
	if batch.DuplicateOf != nil {
		status = http.StatusOK
	}
	a.log().Info("batch pushed", "department", dept.Name, "category", batch.Category, "batch", batch.ID,
		"rows", batch.Rows, "rejected", batch.Rejected, "warnings", batch.Warnings, "duplicate", batch.DuplicateOf != nil)
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
			_, err = io.Copy(io.MultiWriter(f, h), part)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return cases.Batch{}, err
				}
				return cases.Batch{}, fmt.Errorf("spool upload: %w", err)
			}
			req.SHA256 = hex.EncodeToString(h.Sum(nil))
			req.Filename = part.FileName()
		case "category", "period":
			b, err := io.ReadAll(io.LimitReader(part, 256))
			if err != nil {
				return cases.Batch{}, err
			}
			if part.FormName() == "category" {
				category = string(b)
			} else {
				period = strings.TrimSpace(string(b))
			}
		}
		part.Close()
	}
	if path == "" {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "缺少文件：请在字段 file 中上传 CSV 或 XLSX")
	}
	if req.Category, err = checkCategory(dept, category); err != nil {
		return cases.Batch{}, err
	}
	req.Period = period
	return intake.ImportFile(ctx, a.Store, req, path)
}

func (a *BatchAPI) pushJSON(ctx context.Context, r *http.Request, dept *cases.OrgDepartment, req intake.Request) (cases.Batch, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return cases.Batch{}, err
	}
	var in batchJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "JSON 格式不对：%v", err)
	}
	if err := batchValidate.Struct(in); err != nil {
		var ve validator.ValidationErrors
		if errors.As(err, &ve) && len(ve) > 0 {
			switch ve[0].Field() {
			case "Category":
				return cases.Batch{}, cases.Errorf(cases.EInvalid, "缺少 category（风险类别代码，例如 medical）")
			case "Period":
				return cases.Batch{}, cases.Errorf(cases.EInvalid, "period 应写成 YYYY-MM，例如 2026-10（因学数据也可写学年，例如 2026-2027）")
			case "Records":
				return cases.Batch{}, cases.Errorf(cases.EInvalid, "records 应为 1 到 200000 条记录")
			}
		}
		return cases.Batch{}, cases.Errorf(cases.EInvalid, "请求内容不完整：%v", err)
	}
	if req.Category, err = checkCategory(dept, in.Category); err != nil {
		return cases.Batch{}, err
	}
	sum := sha256.Sum256(body)
	req.SHA256 = hex.EncodeToString(sum[:])
	req.Period = in.Period
	return intake.Import(ctx, a.Store, req, intake.Records(in.Records))
}
