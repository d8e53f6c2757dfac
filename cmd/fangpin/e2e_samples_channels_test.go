package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/simtest"
)

// Department files as departments make them import alike by CLI, push API, the upload page
// and chat: the same rows, accepted, refused and skipped counts and the same sheet read
// (each channel files its push under its own period, so none is a repeat of another).
func TestSampleFilesImportAlikeInEveryChannel(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "samples-secret")
	dbURL := pgtest.MigratedURL(t)
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	base, _, _ := startServeOn(t, sim, dbURL, bot.NewLogger(io.Discard, slog.LevelError), nil)
	t.Setenv("DATABASE_URL", dbURL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	links := map[string]string{}
	linkOf := func(user string) string {
		if l, ok := links[user]; ok {
			return l
		}
		n := len(sim.SentTo(user))
		if _, err := sim.SayPrivately(ctx, user, "上传"); err != nil {
			t.Fatal(err)
		}
		l := regexp.MustCompile(`http://\S+/upload/\S+`).FindString(replyWith(t, ctx, sim, user, n, "/upload/"))
		if l == "" {
			t.Fatalf("no upload link for %s", user)
		}
		links[user] = l
		return l
	}
	dir := "../../cases/intake/testdata/department-files"
	for _, tc := range []struct {
		prefix, user, dept, token string
		cat                       cases.Category
	}{
		{"a1_", "wangwu", "医保局", "demo-token-ybj", cases.CatMedical},         // a title row above the header
		{"c2_", "wangwu", "医保局", "demo-token-ybj", cases.CatMedical},         // an old .xls with a title
		{"d1_", "wangwu", "医保局", "demo-token-ybj", cases.CatMedical},         // 说明 first, data on sheet 2
		{"f3_", "wangwu", "医保局", "demo-token-ybj", cases.CatMedical},         // GBK CSV, a bad row after blank lines
		{"h2_", "wangwu", "医保局", "demo-token-ybj", cases.CatMedical},         // formulas without their values
		{"t1_", "wangwu", "医保局", "demo-token-ybj", cases.CatMedical},         // WPS tab-separated .txt
		{"g1_", "liaison_mzj", "民政局", "demo-token-mzj", cases.CatAssistance}, // 民政's own words
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			paths, _ := filepath.Glob(filepath.Join(dir, tc.prefix+"*"))
			if len(paths) != 1 {
				t.Fatalf("sample %s*: %v", tc.prefix, paths)
			}
			path, name := paths[0], filepath.Base(paths[0])
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			type counts struct {
				Rows, Accepted, Rejected, Skipped int
				Sheet                             string
			}
			of := func(b cases.Batch) counts { return counts{b.Rows, b.Accepted, b.Rejected, b.Skipped, b.Sheet} }

			code, out := run(t, "import", "--dept", tc.dept, "--category", string(tc.cat), "--period", "2026-08", "--json", path)
			var cli cases.Batch
			if code != 0 || json.Unmarshal([]byte(out), &cli) != nil {
				t.Fatalf("fangpin import: exit %d, %s", code, out)
			}
			if cli.Rows == 0 {
				t.Fatalf("the CLI read no rows: %s", out)
			}
			want := of(cli)

			api, err := simtest.PushFile(ctx, base, tc.token, tc.cat, "2026-09", name, data)
			if err != nil {
				t.Fatal(err)
			}
			if got := of(api.Batch); got != want {
				t.Errorf("push API %+v, CLI %+v", got, want)
			}

			status, page := uploadPost(t, linkOf(tc.user), map[string]string{"period": "2026-10"}, name, data)
			raw, _ := json.Marshal(page)
			var up cases.Batch
			if status != 201 || json.Unmarshal(raw, &up) != nil {
				t.Fatalf("upload page %d: %s", status, raw)
			}
			if got := of(up); got != want {
				t.Errorf("upload page %+v, CLI %+v", got, want)
			}

			n := len(sim.SentTo(tc.user))
			if _, err := sim.SendFile(ctx, tc.user, name, data); err != nil {
				t.Fatal(err)
			}
			reply := replyWith(t, ctx, sim, tc.user, n, name)
			line := fmt.Sprintf("共 %d 行：接收 %d 行，退回 %d 行，跳过 %d 行", want.Rows, want.Accepted, want.Rejected, want.Skipped)
			if !strings.Contains(reply, line) {
				t.Errorf("chat reply lacks %q:\n%s", line, reply)
			}
			if want.Sheet != "" && !strings.Contains(reply, "读取的工作表：“"+want.Sheet+"”") {
				t.Errorf("chat reply does not name sheet %s:\n%s", want.Sheet, reply)
			}
		})
	}
}
