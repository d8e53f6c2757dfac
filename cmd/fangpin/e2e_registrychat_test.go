package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/handlers"
)

// The registry re-import confirmed in chat (docs/office.md): the office's file is previewed,
// nothing changes until its sender confirms, another person's or a second confirmation is
// refused, a file above the removal guard needs the distinct word, and a file with row
// errors cannot be confirmed at all.
func TestEndToEndRegistryConfirmedInChat(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	_, _, s := startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	file, err := os.ReadFile("../../examples/registry.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(file), "\n")
	first := strings.Split(lines[1], ",") // 户编号,户主身份证号,成员姓名,成员身份证号,…
	say := func(user, text, marker string) string {
		t.Helper()
		n := len(sim.SentTo(user))
		if _, err := sim.SayPrivately(ctx, user, text); err != nil {
			t.Fatal(err)
		}
		return replyWith(t, ctx, sim, user, n, marker)
	}
	// send sends a file and returns the reply and, when wantCard, the confirmation card.
	send := func(user, name string, data []byte, wantCard bool) (reply string, card map[string]any) {
		t.Helper()
		n := len(sim.SentTo(user))
		if _, err := sim.SendFile(ctx, user, name, data); err != nil {
			t.Fatal(err)
		}
		reply = replyWith(t, ctx, sim, user, n, "试算")
		if !wantCard {
			return reply, nil
		}
		waitFor(t, ctx, sim, "the confirmation card", func() bool {
			for _, m := range sim.SentTo(user)[n:] {
				if tc, ok := m.Body["template_card"].(map[string]any); ok && strings.HasPrefix(fmt.Sprint(tc["task_id"]), handlers.FileCardPrefix) {
					card = tc
				}
			}
			return card != nil
		})
		return reply, card
	}
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

	preview, card := send("zhaoliu", "名册.csv", file, true)
	wantIn(t, "the preview", preview, "【名册试算】", "新增 320", "户 "+first[0])
	if strings.Contains(preview, first[3]) || strings.Contains(preview, first[2]) {
		t.Errorf("the preview repeats a full ID number or a name:\n%s", preview)
	}
	if member(first[3]) != "" {
		t.Fatal("the registry changed before the confirmation")
	}
	wantIn(t, "another person's 确认导入", say("office2", "确认导入", "名册"), "赵六", "本人确认")
	if member(first[3]) != "" {
		t.Fatal("another person's 确认导入 applied the registry")
	}
	n := len(sim.SentTo("zhaoliu"))
	if err := sim.ClickCard(ctx, "zhaoliu", bot.CardEvent{TaskID: fmt.Sprint(card["task_id"]), EventKey: handlers.WordConfirm, CardType: "button_interaction"}); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "the confirmation", replyWith(t, ctx, sim, "zhaoliu", n, "名册已导入"), "新增")
	if got := member(first[3]); got != "active" {
		t.Fatalf("after 确认导入 the member is %q, want active", got)
	}
	wantIn(t, "a second 确认导入", say("zhaoliu", "确认导入", "名册"), "没有待确认的名册")
	entries, err := s.DB.Audit(ctx, cases.AuditFilter{User: "zhaoliu"})
	if err != nil {
		t.Fatal(err)
	}
	var logged bool
	for _, e := range entries {
		logged = logged || (e.Action == cases.AccessImport && strings.Contains(e.Detail, "SHA-256"))
	}
	if !logged {
		t.Errorf("the confirmed import with the file's SHA-256 is not in the audit trail: %+v", entries)
	}

	// Half the registry: above the removal guard.
	half := []byte(strings.Join(lines[:len(lines)/2], ""))
	preview, card = send("zhaoliu", "半份名册.csv", half, true)
	wantIn(t, "the guard's preview", preview, "退出", "超过现有户数的 20%")
	if card == nil || !strings.Contains(fmt.Sprint(card["button_list"]), handlers.WordConfirmRemovals) {
		t.Errorf("the guard's card does not offer %s: %v", handlers.WordConfirmRemovals, card)
	}
	wantIn(t, "plain 确认导入 above the guard", say("zhaoliu", "确认导入", "名册"), handlers.WordConfirmRemovals)
	wantIn(t, "取消", say("zhaoliu", "取消", "名册"), "已取消")
	last := strings.Split(lines[len(lines)-2], ",")
	if got := member(last[3]); got != "active" {
		t.Errorf("after 取消 the last member is %q, want active", got)
	}

	// A row error: previewed with its row and column, no card, nothing to confirm.
	bad := strings.Replace(string(file), first[3], "123", 1)
	preview, _ = send("zhaoliu", "错误名册.csv", []byte(bad), false)
	wantIn(t, "the errors' preview", preview, "第 2 行", "户主身份证号", "不能确认导入")
	wantIn(t, "确认导入 of a file with errors", say("zhaoliu", "确认导入", "名册"), "没有待确认的名册")

	// An org file the same way: the preview names who would be deactivated, and nothing
	// changes until it is confirmed.
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
	preview, _ = send("zhaoliu", "org.yaml", []byte(strings.Join(kept, "")), true)
	wantIn(t, "the org preview", preview, "【组织文件试算】", "将停用的账号 1：公小安（liaison_gaj）")
	if a, err := s.DB.Actor(ctx, "liaison_gaj"); err != nil || a.Role != cases.RoleLiaison {
		t.Fatalf("the org changed before its confirmation: %+v %v", a, err)
	}
	wantIn(t, "the org confirmation", say("zhaoliu", "确认导入", "组织文件"), "已应用")
	if _, err := s.DB.Actor(ctx, "liaison_gaj"); cases.ErrorCode(err) != cases.EForbidden {
		t.Errorf("after the confirmation 公小安 should be deactivated: %v", err)
	}
}
