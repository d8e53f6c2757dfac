package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	t.Parallel()
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
	n = pgtest.Count(t, db, `SELECT count(*) FROM batches`)
	if n != 1 {
		t.Fatalf("%d batches, want 1", n)
	}
}

func TestBatchAPIJSON(t *testing.T) {
	t.Parallel()
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
	// The push may name its 学年 (docs/rules.md): 2025-2026 is the push of April 2026, and the answer
	// names it so too.
	sy := strings.Replace(strings.Replace(body, `"period":"2026-04"`, `"period":"2025-2026"`, 1), "1000.01", "1000.02", 1)
	if a := pushBatch(t, srv.URL, "demo-token-jtj", "application/json", strings.NewReader(sy)); a.status != http.StatusCreated || a.batch.Period != "2025-2026" || a.batch.Accepted != 1 {
		t.Fatalf("json push naming its 学年: %+v", a)
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

// rawPost sends a request whose body stops short of its Content-Length, as a client that
// dies mid-upload does, and reads the answer on the half-closed connection.
func rawPost(t *testing.T, srvURL, token, ctype string, body []byte, contentLength int) answer {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		token, ctype, contentLength)
	conn.Write(body)
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if err := json.Unmarshal(b, &a.err); err != nil || a.err.Error == "" {
		t.Fatalf("answer %d is not JSON with a message: %s", resp.StatusCode, b)
	}
	return a
}

// Bad client input is a 4xx with a reason, never a 500 (docs/limits.md).
func TestBatchAPIMalformedRequestsAre4xx(t *testing.T) {
	t.Parallel()
	srv, db := batchServer(t, &handlers.BatchAPI{})
	file := []byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n" + strings.Repeat("甲,110105194912310021,城关镇,20000,0,0\n", 2000))
	whole, ct := multipartBody(t, map[string]string{"category": "medical", "period": "2026-10"}, file)
	wb, _ := io.ReadAll(whole)
	fileAt := bytes.Index(wb, []byte("甲,"))
	catAt := bytes.Index(wb, []byte("medical"))

	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"cut in the file", wb[:fileAt+1000], "请求内容不完整"},
		{"cut in a field", wb[:catAt+3], "请求内容不完整"},
		{"cut in a part's headers", wb[:bytes.Index(wb, []byte("Content-Disposition"))+10], "multipart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := rawPost(t, srv.URL, "demo-token-ybj", ct, tc.body, len(wb))
			if a.status != http.StatusBadRequest || !strings.Contains(a.err.Error, tc.want) {
				t.Fatalf("%+v; want 400 naming %q", a, tc.want)
			}
		})
	}
	t.Run("JSON cut short", func(t *testing.T) {
		body := []byte(`{"category":"medical","records":[{"姓名":"甲"}]}`)
		if a := rawPost(t, srv.URL, "demo-token-ybj", "application/json", body[:20], len(body)); a.status != http.StatusBadRequest {
			t.Fatalf("%+v", a)
		}
	})

	jsonBody := func(s string) func() (io.Reader, string) {
		return func() (io.Reader, string) { return strings.NewReader(s), "application/json" }
	}
	manyColumns := `{"category":"medical","records":[{`
	for i := 0; i < 300; i++ {
		manyColumns += fmt.Sprintf(`"c%d":1,`, i)
	}
	manyColumns += `"姓名":"甲"}]}`
	for _, tc := range []struct {
		name   string
		body   func() (io.Reader, string)
		status int
		want   string
	}{
		{"no category", func() (io.Reader, string) {
			return multipartBody(t, map[string]string{"period": "2026-10"}, file)
		}, http.StatusBadRequest, "缺少字段 category"},
		{"no boundary", func() (io.Reader, string) { return strings.NewReader("x"), "multipart/form-data" },
			http.StatusBadRequest, "multipart"},
		{"not an object", jsonBody(`[1,2]`), http.StatusBadRequest, "应为一个对象"},
		{"category a number", jsonBody(`{"category":5,"records":[{}]}`), http.StatusBadRequest, "category 应为字符串"},
		{"records not an array", jsonBody(`{"category":"medical","records":"x"}`), http.StatusBadRequest, "records 应为记录的数组"},
		{"record not an object", jsonBody(`{"category":"medical","records":[1]}`), http.StatusBadRequest, "records 第 1 条不是 JSON 对象"},
		{"unclosed", jsonBody(`{"category":"medical","records":[{}]`), http.StatusBadRequest, "JSON 格式不对"},
		{"too many columns", jsonBody(manyColumns), http.StatusRequestEntityTooLarge, "256 列"},
		{"cell too long", jsonBody(`{"category":"medical","records":[{"姓名":"` + strings.Repeat("长", 40000) + `"}]}`),
			http.StatusRequestEntityTooLarge, "32767 个字符"},
		{"file over 50 MB", func() (io.Reader, string) {
			return multipartBody(t, map[string]string{"category": "medical"}, bytes.Repeat([]byte("a,b\n"), (50<<20)/4+1))
		}, http.StatusRequestEntityTooLarge, "文件超过 50 MB 的上限"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ctype := tc.body()
			a := pushBatch(t, srv.URL, "demo-token-ybj", ctype, body)
			if a.status != tc.status || !strings.Contains(a.err.Error, tc.want) {
				t.Fatalf("%+v; want %d naming %q", a, tc.status, tc.want)
			}
		})
	}
	var n int
	n = pgtest.Count(t, db, `SELECT count(*) FROM batches`)
	if n != 0 {
		t.Fatalf("%d batches stored from bad requests", n)
	}
}

// Pushes are read and imported one at a time, so memory stays bounded however many
// arrive together; one that waits too long is told to come back.
func TestBatchAPIOnePushAtATime(t *testing.T) {
	t.Parallel()
	srv, _ := batchServer(t, &handlers.BatchAPI{QueueWait: 200 * time.Millisecond})
	pr, pw := io.Pipe()
	first := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/batches", pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer demo-token-ybj")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- answer{}
			return
		}
		resp.Body.Close()
		first <- answer{status: resp.StatusCode}
	}()
	pw.Write([]byte(`{"category":"medical",`)) // the first push holds its turn while its body trickles in
	time.Sleep(100 * time.Millisecond)
	a := pushBatch(t, srv.URL, "demo-token-ybj", "application/json", strings.NewReader(`{"category":"medical","records":[{}]}`))
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.err.Error, "请一分钟后重试") {
		t.Fatalf("second push while the first is read: %+v", a)
	}
	pw.Write([]byte(`"records":[{"姓名":"甲"}]}`))
	pw.Close()
	if a := <-first; a.status != http.StatusBadRequest { // missing columns: read and answered
		t.Fatalf("first push: %+v", a)
	}
	a = pushBatch(t, srv.URL, "demo-token-ybj", "application/json", strings.NewReader(`{"category":"medical","records":[{}]}`))
	if a.status != http.StatusBadRequest {
		t.Fatalf("a push after the first: %+v", a)
	}
}

// The push API reads files as departments make them, with the same reader as the CLI: an
// old .xls with a title row, a workbook whose first sheet is 说明, and refuses a WPS .et by
// its name.
func TestBatchAPIFilesAsDepartmentsMakeThem(t *testing.T) {
	t.Parallel()
	srv, _ := batchServer(t, &handlers.BatchAPI{})
	named := func(name string) (io.Reader, string) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("category", "medical")
		mw.WriteField("period", "2026-10")
		fw, _ := mw.CreateFormFile("file", filepath.Base(name))
		fw.Write(b)
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	for _, c := range []struct{ glob, sheet string }{{"c2_*.xls", "Sheet1"}, {"d1_*.xlsx", "住院明细"}} {
		m, _ := filepath.Glob("../cases/intake/testdata/department-files/" + c.glob)
		if len(m) != 1 {
			t.Fatalf("sample %s: %v", c.glob, m)
		}
		body, ct := named(m[0])
		a := pushBatch(t, srv.URL, "demo-token-ybj", ct, body)
		if a.status != http.StatusCreated || a.batch.Rows != 7 || a.batch.Accepted != 7 || a.batch.Sheet != c.sheet {
			t.Errorf("%s: %+v; want 7 rows taken from sheet %s", c.glob, a, c.sheet)
		}
	}
	et := filepath.Join(t.TempDir(), "医保.et")
	os.WriteFile(et, []byte("姓名,身份证号,乡镇,住院自付累计,门诊统筹费用,门特费用\n"), 0o600)
	body, ct := named(et)
	if a := pushBatch(t, srv.URL, "demo-token-ybj", ct, body); a.status != http.StatusBadRequest || !strings.Contains(a.err.Error, "另存为 .xlsx") {
		t.Errorf(".et: %+v; want 400 saying 另存为 .xlsx", a)
	}
}
