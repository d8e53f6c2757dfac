package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// fillOrgTemplate fills the template written by `fangpin template --org` with o, over its
// example rows, as a clerk would, and returns the workbook.
func fillOrgTemplate(t *testing.T, path string, o *cases.Org) []byte {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	join := func(xs []string) string { return strings.Join(xs, "、") }
	var rows = map[string][]map[string]string{}
	for _, tw := range o.Townships {
		rows[orgfile.SheetTownships] = append(rows[orgfile.SheetTownships], map[string]string{"name": tw.Name, "aliases": join(tw.Aliases),
			"formerly": join(tw.Formerly), "chat.appchat": tw.Chat.AppChat, "chat.webhook_key": tw.Chat.WebhookKey})
	}
	for _, d := range o.Departments {
		var cats []string
		for _, c := range d.Categories {
			cats = append(cats, string(c))
		}
		rows[orgfile.SheetDepartments] = append(rows[orgfile.SheetDepartments], map[string]string{"name": d.Name, "categories": strings.Join(cats, ","), "token_sha256": d.TokenSHA256})
	}
	for _, u := range o.Users {
		rows[orgfile.SheetUsers] = append(rows[orgfile.SheetUsers], map[string]string{"userid": u.UserID, "name": u.Name, "role": string(u.Role),
			"township": u.Township, "department": u.Department, "villages": join(u.Villages)})
	}
	for _, s := range orgfile.Sheets {
		head, err := f.GetRows(s.Name)
		if err != nil || len(head) == 0 {
			t.Fatalf("the org template lacks sheet %s: %v", s.Name, err)
		}
		for c, col := range s.Columns {
			if head[0][c] != col.Header() {
				t.Fatalf("sheet %s column %d: header %q, want %q", s.Name, c+1, head[0][c], col.Header())
			}
		}
		for r, row := range rows[s.Name] {
			for c, col := range s.Columns {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+2) // row 2 is the example: overwritten
				f.SetCellStr(s.Name, cell, row[col.Key])
			}
		}
	}
	b, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The org template, filled in, gives the org its YAML gives: by `fangpin org apply` and
// when the office sends it in chat (previewed, then confirmed).
func TestOrgTemplateFilledAppliesLikeYAML(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "模板.xlsx")
	if code, _ := run(t, "template", "--org", "-o", tmpl); code != 0 {
		t.Fatalf("template --org: exit %d", code)
	}
	orgYAML, err := os.ReadFile("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(orgYAML), "\n") {
		if !strings.Contains(l, "userid: liaison_gaj,") {
			kept = append(kept, l)
		}
	}
	yamlPath := filepath.Join(dir, "org.yaml")
	if err := os.WriteFile(yamlPath, []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := orgfile.Load(yamlPath)
	if err != nil {
		t.Fatal(err)
	}
	xlsx := fillOrgTemplate(t, tmpl, want)
	xlsxPath := filepath.Join(dir, "组织.xlsx")
	if err := os.WriteFile(xlsxPath, xlsx, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := orgfile.Load(xlsxPath)
	if err != nil {
		t.Fatal(err)
	}
	want.County = "" // the template has no county; applying it keeps the county's name
	for _, x := range []*cases.Org{want, got} {
		for i := range x.Townships {
			if len(x.Townships[i].Aliases) == 0 {
				x.Townships[i].Aliases = nil
			}
			if len(x.Townships[i].Formerly) == 0 {
				x.Townships[i].Formerly = nil
			}
		}
		for i := range x.Users {
			if len(x.Users[i].Villages) == 0 {
				x.Users[i].Villages = nil
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the filled template reads as\n%+v\nthe YAML as\n%+v", got, want)
	}

	// By the CLI: the same summary as the YAML's, on two databases.
	var outs []string
	for _, path := range []string{yamlPath, xlsxPath} {
		t.Setenv("DATABASE_URL", pgtest.NewURL(t))
		if code, _ := run(t, "migrate"); code != 0 {
			t.Fatal("migrate failed")
		}
		code, out := run(t, "org", "apply", "--json", path)
		if code != 0 {
			t.Fatalf("org apply %s: exit %d, %s", path, code, out)
		}
		outs = append(outs, strings.TrimSpace(out))
	}
	if outs[0] != outs[1] || !strings.Contains(outs[1], `"users":25`) {
		t.Errorf("org apply: YAML gives %s, the template %s", outs[0], outs[1])
	}

	// In chat: the office sends the filled template; previewed like the YAML, applied once confirmed.
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	_, _, s := startServeOn(t, sim, pgtest.NewURL(t), bot.NewLogger(io.Discard, slog.LevelError), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	send := func(user, name string, data []byte) string {
		t.Helper()
		n := len(sim.SentTo(user))
		if _, err := sim.SendFile(ctx, user, name, data); err != nil {
			t.Fatal(err)
		}
		return replyWith(t, ctx, sim, user, n, "组织文件")
	}
	say := func(user, text, marker string) string {
		t.Helper()
		n := len(sim.SentTo(user))
		if _, err := sim.SayPrivately(ctx, user, text); err != nil {
			t.Fatal(err)
		}
		return replyWith(t, ctx, sim, user, n, marker)
	}

	// A bad row is named by sheet, row and column; nothing is held to confirm.
	bad := *want
	bad.Users = append([]cases.OrgUser{}, want.Users...)
	bad.Users[2].Role = "boss"
	badPath := filepath.Join(dir, "bad.xlsx")
	os.WriteFile(badPath, fillOrgTemplate(t, tmpl, &bad), 0o600)
	b, _ := os.ReadFile(badPath)
	wantIn(t, "the bad template's preview", send("zhaoliu", "组织架构.xlsx", b), "有错误", "工作表“人员”第 4 行", "角色“boss”")
	wantIn(t, "确认导入 of a bad template", say("zhaoliu", "确认导入", "名册"), "没有待确认的名册")

	preview := send("zhaoliu", "组织架构.xlsx", xlsx)
	wantIn(t, "the template's preview", preview, "【组织文件试算】", "将停用的账号 1：公小安（liaison_gaj）")
	if a, err := s.DB.Actor(ctx, "liaison_gaj"); err != nil || a.Role != cases.RoleLiaison {
		t.Fatalf("the org changed before its confirmation: %+v %v", a, err)
	}
	wantIn(t, "the template's confirmation", say("zhaoliu", "确认导入", "组织文件"), "已应用", fmt.Sprintf("人员 %d 人", len(want.Users)))
	if _, err := s.DB.Actor(ctx, "liaison_gaj"); cases.ErrorCode(err) != cases.EForbidden {
		t.Errorf("after the confirmation 公小安 should be deactivated: %v", err)
	}
	wantIn(t, "a second 确认导入", say("zhaoliu", "确认导入", "名册"), "没有待确认的名册")
}
