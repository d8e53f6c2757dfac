package handlers_test

import (
	"context"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/handlers"
)

func TestSweepCommandClosesTheAreaTaskAndKeepsTheNoteOutOfTheGroup(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.router.Register((&handlers.Sweeps{Store: f.db, Now: func() time.Time { return f.now }}).Commands()...)
	sweep := f.byKey["area:河口乡:disaster:2026年10月河口洪涝"]
	if sweep.Kind != cases.KindSweep {
		t.Fatalf("the township-wide disaster is a %q case, want 区域排查", sweep.Kind)
	}
	got := f.say("lisi", "核查 "+sweep.No+" 纳入 已核实", false)
	wants(t, "核查 on a 区域排查", got, "排查 "+sweep.No+" 完成")
	got = f.say("lisi", "排查 "+sweep.No+" 完成 两户", false)
	wants(t, "a count that is not a number", got, "发现户数", "应是一个数字")

	note := "西村王某某522601199001011234家房屋倒塌，损失3万元"
	f.out.got = nil
	f.router.HandleMessage(ctx, bot.Message{ID: "s1", UserID: "lisi", ChatType: "group", ChatID: "hekou", ResponseURL: "http://resp/s1",
		Text: "@防返贫助手 排查 " + sweep.No + " 完成 1 " + note})
	if len(f.out.got) < 1 {
		t.Fatalf("no reply queued")
	}
	group := string(f.out.got[0].Body)
	wants(t, "group reply", group, sweep.No, "完成", "1")
	refuses(t, "group reply", group, "522601", "王某某", "3万", "倒塌")
	c, err := f.db.CaseByNo(ctx, sweep.No)
	if err != nil || c.Status != cases.StatusClosed || c.Result != "" || c.Reason != note {
		t.Errorf("after 排查 … 完成 the task is %+v (%v), want closed with the note, no result", c, err)
	}
	// 统计 counts the task apart from households.
	f.router.Register((&handlers.Reports{Store: f.db, Out: f.out}).Commands()...)
	stats := f.say("zhaoliu", "统计 2026-11", false)
	wants(t, "统计", stats, "区域排查", "1 项，已完成 1 项", "排查发现 1 户")
	// The round sent no 核查 card for the task.
	var cards int
	pgtest.OpenOutbox(t, f.db) // bodies are sealed (docs/encryption.md)
	if err := f.db.Get(&cards, `SELECT count(*) FROM outbox WHERE payload::text LIKE '%' || $1 || ' 入户核查%'`, sweep.No); err != nil || cards != 0 {
		t.Errorf("%d 核查 cards were queued for the 区域排查 %s (%v)", cards, sweep.No, err)
	}
}

// A user who left the org file is kept, deactivated, and refused politely.
func TestDeactivatedUserIsRefusedPolitely(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	org := strings.Replace(dispatchtest.Org, "  - {userid: lisi, name: 李四, role: cadre, township: 河口乡}\n",
		"  - {userid: wangwu, name: 王五, role: cadre, township: 河口乡}\n", 1)
	o, err := orgfile.Parse([]byte(org))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ApplyOrg(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	got := f.say("lisi", "待办", false)
	wants(t, "a deactivated user", got, "李四", "不在当前的组织名单中", "县扶贫办")
}
