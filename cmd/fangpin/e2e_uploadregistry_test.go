package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/templatexlsx"
	"github.com/fangpin/fangpin/handlers"
)

// formPost posts form fields (no file) to an upload link.
func formPost(t *testing.T, link string, fields map[string]string) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	resp, err := http.Post(link, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// The office uploads the registry and the org template on the upload page: previewed as in
// chat, applied only when the same person confirms, once; a liaison cannot choose them.
func TestUploadPageRegistryAndOrgConfirmed(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "upload-secret")
	s, _, base, _ := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	links := &handlers.FormLinks{Secret: []byte("upload-secret"), BaseURL: base}
	office, office2, liaison := links.UploadURL("zhaoliu"), links.UploadURL("office2"), links.UploadURL("wangwu")

	if a := httpDo(t, http.MethodGet, office, nil); a.status != http.StatusOK || !strings.Contains(a.body, `<option value="registry">名册（监测对象名册）</option>`) ||
		!strings.Contains(a.body, `<option value="org">组织架构</option>`) {
		t.Fatalf("the office's page offers no registry choice (%d):\n%s", a.status, a.body)
	}
	if a := httpDo(t, http.MethodGet, liaison, nil); a.status != http.StatusOK || strings.Contains(a.body, `value="registry"`) {
		t.Fatalf("a liaison's page offers the registry (%d)", a.status)
	}

	file, err := os.ReadFile("../../examples/registry.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(file), "\n")
	first := strings.Split(lines[1], ",") // 户编号,户主身份证号,成员姓名,成员身份证号,…
	member := func(id string) string {
		t.Helper()
		m, err := s.DB.RegistryMember(ctx, id)
		if cases.ErrorCode(err) == cases.ENotFound {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.Status
	}

	if status, out := uploadPost(t, liaison, map[string]string{"kind": "registry"}, "名册.csv", file); status != http.StatusForbidden ||
		!strings.Contains(fmt.Sprint(out["error"]), "县扶贫办") {
		t.Fatalf("a liaison's registry upload: %d %v", status, out)
	}

	status, out := uploadPost(t, office, map[string]string{"kind": "registry", "workbook": "1"}, "名册.csv", file)
	sum := fmt.Sprint(out["summary"])
	if status != http.StatusOK || out["added"] != 320.0 || out["confirm"] != "确认导入" || out["held"] == nil ||
		!strings.Contains(sum, "【名册试算】") || !strings.Contains(sum, "新增（前 10 项）") {
		t.Fatalf("the registry's preview: %d %v", status, out)
	}
	if strings.Contains(sum, first[3]) || strings.Contains(sum, first[2]) {
		t.Errorf("the preview shows a full ID number or a name:\n%s", sum)
	}
	if got := member(first[3]); got != "" {
		t.Fatalf("the registry changed before its confirmation: %q", got)
	}
	held := fmt.Sprint(out["held"])
	if status, out := formPost(t, liaison, map[string]string{"held": held, "decide": "确认导入"}); status != http.StatusForbidden {
		t.Errorf("a liaison's confirmation: %d %v", status, out)
	}
	if status, out := formPost(t, office2, map[string]string{"held": held, "decide": "确认导入"}); status != http.StatusForbidden ||
		!strings.Contains(fmt.Sprint(out["error"]), "赵六本人") {
		t.Errorf("another office member's confirmation: %d %v", status, out)
	}
	if status, out := formPost(t, office, map[string]string{"held": held, "decide": "确认导入"}); status != http.StatusOK ||
		!strings.Contains(fmt.Sprint(out["message"]), "名册已导入") || !strings.Contains(fmt.Sprint(out["message"]), "新增 320") {
		t.Fatalf("the confirmation: %d %v", status, out)
	}
	if got := member(first[3]); got != "active" {
		t.Errorf("after the confirmation the first member is %q", got)
	}
	if status, out := formPost(t, office, map[string]string{"held": held, "decide": "确认导入"}); status != http.StatusNotFound {
		t.Errorf("a second confirmation: %d %v", status, out)
	}

	// Above the 20 % guard only 确认（含大量退出） applies it.
	status, out = uploadPost(t, office, map[string]string{"kind": "registry"}, "半份名册.csv", []byte(strings.Join(lines[:40], "")))
	if status != http.StatusOK || out["confirm"] != "确认（含大量退出）" || !strings.Contains(fmt.Sprint(out["summary"]), "确认时需选") {
		t.Fatalf("a partial registry's preview: %d %v", status, out)
	}
	held = fmt.Sprint(out["held"])
	if status, out := formPost(t, office, map[string]string{"held": held, "decide": "确认导入"}); status != http.StatusConflict ||
		!strings.Contains(fmt.Sprint(out["error"]), "确认（含大量退出）") {
		t.Errorf("确认导入 above the guard: %d %v", status, out)
	}
	last := strings.Split(lines[len(lines)-2], ",")
	if got := member(last[3]); got != "active" {
		t.Fatalf("the guard let a removal through: %q", got)
	}
	if status, out := formPost(t, office, map[string]string{"held": held, "decide": "取消"}); status != http.StatusOK ||
		!strings.Contains(fmt.Sprint(out["message"]), "已取消") {
		t.Errorf("取消: %d %v", status, out)
	}

	// A row error: previewed with its row and column, nothing to confirm.
	bad := strings.Replace(string(file), first[3], "123", 1)
	status, out = uploadPost(t, office, map[string]string{"kind": "registry"}, "错误名册.csv", []byte(bad))
	if status != http.StatusOK || out["held"] != nil || !strings.Contains(fmt.Sprint(out["summary"]), "第 2 行") || out["errors"] == nil {
		t.Errorf("a registry with a bad row: %d %v", status, out)
	}

	// The org template, filled without 公小安.
	dir := t.TempDir()
	orgYAML, _ := os.ReadFile("../../examples/org.yaml")
	var kept []string
	for _, l := range strings.SplitAfter(string(orgYAML), "\n") {
		if !strings.Contains(l, "userid: liaison_gaj,") {
			kept = append(kept, l)
		}
	}
	o, err := orgfile.Parse([]byte(strings.Join(kept, "")))
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	if err := templatexlsx.Org(&tb); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(dir, "模板.xlsx")
	os.WriteFile(tmpl, tb.Bytes(), 0o600)
	status, out = uploadPost(t, office, map[string]string{"kind": "org"}, "组织架构.xlsx", fillOrgTemplate(t, tmpl, o))
	if status != http.StatusOK || !strings.Contains(fmt.Sprint(out["summary"]), "将停用的账号 1：公小安（liaison_gaj）") || out["held"] == nil {
		t.Fatalf("the org's preview: %d %v", status, out)
	}
	if status, out := formPost(t, office, map[string]string{"held": fmt.Sprint(out["held"]), "decide": "确认导入"}); status != http.StatusOK ||
		!strings.Contains(fmt.Sprint(out["message"]), "已应用") {
		t.Fatalf("the org's confirmation: %d %v", status, out)
	}
	if _, err := s.DB.Actor(ctx, "liaison_gaj"); cases.ErrorCode(err) != cases.EForbidden {
		t.Errorf("after the confirmation 公小安 should be deactivated: %v", err)
	}
	// A push template is not an org file.
	status, out = uploadPost(t, office, map[string]string{"kind": "org"}, "医保.xlsx", medicalXLSX(t, "522631198001010021"))
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "不是组织文件") {
		t.Errorf("a push file as org: %d %v", status, out)
	}
}
