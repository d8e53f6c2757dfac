package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/handlers"
)

func batchServer(t *testing.T, api *handlers.BatchAPI) (*httptest.Server, *postgres.DB) {
	t.Helper()
	db := pgtest.New(t)
	b, err := os.ReadFile("../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	org, err := orgfile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	api.Store = db
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, db
}

func multipartBody(t *testing.T, fields map[string]string, file []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "medical.csv")
		fw.Write(file)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

type answer struct {
	status int
	batch  cases.Batch
	err    struct{ Error, Code string }
}

func pushBatch(t *testing.T, url, token, ctype string, body io.Reader) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/batches", body)
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(b, &a.batch); err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
	} else if err := json.Unmarshal(b, &a.err); err != nil || a.err.Error == "" {
		t.Fatalf("error answer is not JSON with a message: %s", b)
	}
	return a
}

func TestBatchAPIFile(t *testing.T) {
	srv, db := batchServer(t, &handlers.BatchAPI{})
	g := synth.New(3)
	file := []byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n甲," + g.IDNumber(1970) + ",城关镇,20000,0,0\n乙,123,城关镇,1,0,0\n")
	fields := map[string]string{"category": "medical", "period": "2026-10"}

	body, ct := multipartBody(t, fields, file)
	if a := pushBatch(t, srv.URL, "demo-token-wjw", ct, body); a.status != http.StatusForbidden || !strings.Contains(a.err.Error, "卫健委") {
		t.Fatalf("卫健委 pushing medical: %+v", a)
	}
	for _, token := range []string{"", "wrong-token", "c7ff228a18fa0f09a309632ad6a09705ce4f0ae03f8a91ba2069647328c1b572"} {
		body, ct = multipartBody(t, fields, file)
		if a := pushBatch(t, srv.URL, token, ct, body); a.status != http.StatusUnauthorized {
			t.Fatalf("token %q: %+v", token, a)
		}
	}
	body, ct = multipartBody(t, fields, file)
	a := pushBatch(t, srv.URL, "demo-token-ybj", ct, body)
	if a.status != http.StatusCreated || a.batch.Department != "医保局" || a.batch.Rows != 2 || a.batch.Accepted != 1 ||
		a.batch.Warnings != 1 || len(a.batch.Errors) != 1 || a.batch.Errors[0].Row != 3 || a.batch.Period != "2026-10" {
		t.Fatalf("push: %+v", a)
	}
	body, ct = multipartBody(t, fields, file)
	again := pushBatch(t, srv.URL, "demo-token-ybj", ct, body)
	if again.status != http.StatusOK || again.batch.DuplicateOf == nil || *again.batch.DuplicateOf != a.batch.ID {
		t.Fatalf("same file again: %+v", again)
	}
	body, ct = multipartBody(t, fields, []byte("姓名,身份证号,乡镇\n甲,1,城关镇\n"))
	if a := pushBatch(t, srv.URL, "demo-token-ybj", ct, body); a.status != http.StatusBadRequest || !strings.Contains(a.err.Error, "住院自付累计") {
		t.Fatalf("missing column: %+v", a)
	}
	body, ct = multipartBody(t, fields, nil)
	if a := pushBatch(t, srv.URL, "demo-token-ybj", ct, body); a.status != http.StatusBadRequest {
		t.Fatalf("no file: %+v", a)
	}
	var n int
	db.Get(&n, `SELECT count(*) FROM batches`)
	if n != 1 {
		t.Fatalf("%d batches, want 1", n)
	}
}

func TestBatchAPIJSON(t *testing.T) {
	srv, _ := batchServer(t, &handlers.BatchAPI{MaxJSONBytes: 4096, MaxBytes: 8192})
	g := synth.New(4)
	body := `{"category":"education","period":"2026-04","records":[
		{"姓名":"甲","身份证号":"` + g.IDNumber(2008) + `","乡镇":"河口","学校":"一中","学段":"公办高中","学年":"2025-2026",
		 "学费":8000,"住宿费":2000,"教科书费":"1000.01","补助救助":1000},
		{"姓名":"乙","身份证号":"` + g.IDNumber(2008) + `","乡镇":"河口乡","学校":"一中","学段":"公办高中","学年":"2025-2026",
		 "学费":-1,"住宿费":0,"教科书费":0,"补助救助":0}]}`
	if a := pushBatch(t, srv.URL, "demo-token-ybj", "application/json", strings.NewReader(body)); a.status != http.StatusForbidden {
		t.Fatalf("医保局 pushing education: %+v", a)
	}
	a := pushBatch(t, srv.URL, "demo-token-jtj", "application/json", strings.NewReader(body))
	if a.status != http.StatusCreated || a.batch.Accepted != 1 || a.batch.Warnings != 1 || len(a.batch.Errors) != 1 ||
		a.batch.Errors[0].Row != 2 || a.batch.Errors[0].Column != "学费" {
		t.Fatalf("json push: %+v", a)
	}
	for _, bad := range []string{`{`, `{"category":"education","records":[]}`, `{"category":"education","period":"2026/4","records":[{}]}`} {
		if a := pushBatch(t, srv.URL, "demo-token-jtj", "application/json", strings.NewReader(bad)); a.status != http.StatusBadRequest {
			t.Fatalf("body %s: %+v", bad, a)
		}
	}
	big := `{"category":"education","records":[{"x":"` + strings.Repeat("a", 5000) + `"}]}`
	if a := pushBatch(t, srv.URL, "demo-token-jtj", "application/json", strings.NewReader(big)); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body: %+v", a)
	}
	mp, ct := multipartBody(t, map[string]string{"category": "education"}, bytes.Repeat([]byte("a,b\n"), 4000))
	if a := pushBatch(t, srv.URL, "demo-token-jtj", ct, mp); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("large file: %+v", a)
	}
	if a := pushBatch(t, srv.URL, "demo-token-jtj", "text/plain", strings.NewReader("x")); a.status != http.StatusUnsupportedMediaType {
		t.Fatalf("text body: %+v", a)
	}
}
