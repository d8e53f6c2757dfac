package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// leakyVillage is a department's 村 cell as it once reached a township group verbatim.
const leakyVillage = "王大明 997777197001010016 肺癌晚期 自付5.2万元"

// groupSent is every message the simulator recorded as read in a group chat.
func groupSent(sim *wecomtest.Server) []wecomtest.Sent {
	var out []wecomtest.Sent
	for _, m := range sim.Sent() {
		if m.API == "appchat/send" || m.API == "webhook/send" || (m.API == "aibot/response" && m.ChatID != "") {
			out = append(out, m)
		}
	}
	return out
}

// A department's free-text 村 cell holding a name, an ID number, a diagnosis and an amount
// reaches no township group: neither a round's 按村统计 (many cases), nor its per-case lines
// (few), nor a 待办 answered in the group.
func TestDepartmentVillageCellNeverReachesAGroup(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	base, _, s := startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []struct{ town, owner string }{{"城关镇", "zhangsan"}, {"青山镇", "wusan"}} {
		if _, err := s.API.CreateAppChat(ctx, bot.AppChat{Name: c.town + "防返贫工作群", Owner: c.owner,
			UserList: []string{"zhaoliu", c.owner}, ChatID: e2eAppChats[c.town]}); err != nil {
			t.Fatal(err)
		}
	}
	g := synth.New(20261207)
	var recs []map[string]string
	var names []string
	row := func(town, village string) {
		digits := []rune("甲乙丙丁戊己庚辛壬癸")
		name := "欧阳" + string(digits[len(recs)/10]) + string(digits[len(recs)%10])
		names = append(names, name)
		recs = append(recs, map[string]string{intake.ColName: name, intake.ColID: g.IDNumber(1960 + len(recs)),
			intake.ColTownship: town, intake.ColVillage: village, "住院自付累计": "25000.00", "门诊统筹费用": "0", "门特费用": "0"})
	}
	for i := 0; i < 30; i++ { // 城关镇: more than a cadre gets one by one, so the group gets 按村统计
		v := leakyVillage
		if i%2 == 1 {
			v = "东关村"
		}
		row("城关镇", v)
	}
	row("青山镇", leakyVillage) // 青山镇: one case, so the group gets its line
	js, _ := json.Marshal(map[string]any{"category": "medical", "period": "2026-10", "records": recs})
	if a := pushRequest(t, base, "demo-token-ybj", "application/json", bytes.NewReader(js)); a.Warnings != len(recs) {
		t.Fatalf("push: %+v", a)
	}
	if _, err := sim.SayPrivately(ctx, "zhaoliu", "交办 2026-11"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, sim, "both groups told of the round", func() bool {
		return len(sim.SentInChat(e2eAppChats["城关镇"])) > 0 && len(sim.SentInChat(e2eAppChats["青山镇"])) > 0
	})
	n := len(groupSent(sim))
	if _, err := sim.SayInGroup(ctx, e2eAppChats["城关镇"], "zhangsan", "待办"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, sim, "待办 answered in the group", func() bool { return len(groupSent(sim)) > n })

	var town, qs string
	for _, m := range groupSent(sim) {
		text := textOf(m)
		switch m.ChatID {
		case e2eAppChats["城关镇"]:
			town += text
		case e2eAppChats["青山镇"]:
			qs += text
		}
		for _, bad := range []string{"997777197001010016", "王大明", "肺癌", "5.2万元", "5.2万", "晚期"} {
			if strings.Contains(text, bad) {
				t.Errorf("%q in a group message (%s): %s", bad, m.API, text)
			}
		}
		for _, name := range names {
			if strings.Contains(text, name) {
				t.Errorf("full name %s in a group message: %s", name, text)
			}
		}
	}
	wantIn(t, "城关镇's 按村统计", town, "按村统计", "东关村 15 户", cases.VillagePending+" 15 户")
	wantIn(t, "青山镇's line (the township for a village not shown)", qs, "（青山镇）")

	// A group answers only for its own township (docs/privacy.md).
	ask := func(chat, user, text string) string {
		t.Helper()
		before := len(sim.SentInChat(chat))
		if _, err := sim.SayInGroup(ctx, chat, user, text); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, sim, user+" answered in "+chat, func() bool { return len(sim.SentInChat(chat)) > before })
		return textOf(sim.SentInChat(chat)[before])
	}
	noData := func(what, got string) {
		t.Helper()
		if strings.Contains(got, "YJ2026") || strings.Contains(got, "欧阳") {
			t.Errorf("%s: refused, yet the answer holds case data: %s", what, got)
		}
	}
	got := ask(e2eAppChats["城关镇"], "wusan", "待办")
	wantIn(t, "青山镇's cadre in 城关镇's group", got, "这是城关镇的工作群")
	noData("青山镇's cadre in 城关镇's group", got)
	got = ask(e2eAppChats["城关镇"], "wangwu", "待办")
	wantIn(t, "a liaison in a township group", got, "请私聊我")
	noData("a liaison in a township group", got)
	got = ask("aiUnknown01", "zhangsan", "待办") // 城关镇 has its app chat: an unknown group is no one's
	wantIn(t, "城关镇's cadre in an unknown group", got, "不是登记过的乡镇工作群")
	noData("城关镇's cadre in an unknown group", got)
	// 河口乡 has a group robot only: the first group its cadre uses the bot in becomes its group.
	wantIn(t, "河口乡's cadre binds its group", ask("aiHekou01", "qianyi", "待办"), "河口乡")
	got = ask("aiHekou01", "wusan", "待办")
	wantIn(t, "青山镇's cadre in 河口乡's group", got, "这是河口乡的工作群")
	noData("青山镇's cadre in 河口乡's group", got)
	got = ask("aiHekou02", "zhouer", "待办")
	wantIn(t, "河口乡's second group", got, "不是登记过的乡镇工作群")
	// The township's own cadre in its group still gets the township's list.
	wantIn(t, "城关镇's cadre in its group", ask(e2eAppChats["城关镇"], "lisi", "待办"), "城关镇未办结案件 30 件")

	// Two quick 待办 in private: the long answer comes in parts, and both answers arrive
	// whole through WeCom's duplicate check (docs/sends.md).
	before := len(sim.SentTo("zhangsan"))
	for i := 0; i < 2; i++ {
		if _, err := sim.SayPrivately(ctx, "zhangsan", "待办"); err != nil {
			t.Fatal(err)
		}
	}
	var parts []string
	firsts := func(ms []wecomtest.Sent) (n int) {
		for _, m := range ms {
			if strings.HasPrefix(m.Content, "（1/") {
				n++
			}
		}
		return n
	}
	// Done when both answers' first parts were sent or dropped and the outbox is empty.
	waitFor(t, ctx, sim, "both 待办 answered", func() bool {
		pending, err := pgqueue.Pending(ctx, s.DB.DB)
		return err == nil && pending == 0 && firsts(sim.SentTo("zhangsan")[before:])+firsts(sim.Duplicates()) >= 2
	})
	for _, m := range sim.SentTo("zhangsan")[before:] {
		parts = append(parts, m.Content)
	}
	total := strings.Split(strings.TrimPrefix(parts[0], "（1/"), "）")[0]
	if !strings.HasPrefix(parts[0], "（1/") || total == "1" {
		t.Fatalf("the 待办 answer was not split: %q", parts[0])
	}
	if want, _ := strconv.Atoi(total); len(parts) != 2*want {
		t.Errorf("%d parts arrived, want %d (two answers of %s parts)", len(parts), 2*want, total)
	}
	if d := sim.Duplicates(); len(d) > 0 {
		t.Errorf("WeCom's duplicate check dropped %d parts", len(d))
	}
}
