package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// Three rounds against the real server and the simulator (docs/dispatch.md and docs/held-and-tasks.md): a household verified
// 不纳入 comes back with a cumulative medical figure 40 % higher and is held (比对已核), then
// released at +50 %; two 问题类型 of one person are two department tasks closed by two
// liaisons by chat; a merged warning adds a department; a cadre's 走访 is a case at once, and
// its group hears of it masked.
func TestEndToEndHeldWarningsDepartmentTasksAndVisits(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "e2e-form-secret")
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	url := pgtest.MigratedURL(t)
	base, _, s := startServeOn(t, sim, url, bot.NewLogger(io.Discard, slog.LevelError), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.API.CreateAppChat(ctx, bot.AppChat{Name: "城关镇防返贫工作群", Owner: "zhangsan",
		UserList: []string{"zhaoliu", "zhangsan", "lisi"}, ChatID: e2eAppChats["城关镇"]}); err != nil {
		t.Fatal(err)
	}
	g := synth.New(20261212)
	sick := struct{ name, id string }{"欧阳明", g.IDNumber(1966)}
	house := struct{ name, id string }{"司马兰", g.IDNumber(1950)}
	found := struct{ name, id string }{"孟繁星", g.IDNumber(1972)}
	// The house's owner is of a 脱贫户: 人社局 watches 建档立卡 households' labour (docs/rules.md).
	err := s.DB.UpsertRegistry(ctx, []cases.RegistryMember{{HouseholdNo: "E2E-H1", HeadIDNumber: house.id, Name: house.name,
		IDNumber: house.id, Relation: "户主", Township: "城关镇", Village: "西关村", Kind: cases.HouseholdLifted, RiskStatus: cases.RiskOpen}})
	if err != nil {
		t.Fatal(err)
	}
	push := func(token, cat, period string, recs ...map[string]string) {
		t.Helper()
		js, _ := json.Marshal(map[string]any{"category": cat, "period": period, "records": recs})
		if a := pushRequest(t, base, token, "application/json", bytes.NewReader(js)); a.Warnings != len(recs) {
			t.Fatalf("%s push: %+v", cat, a)
		}
	}
	medical := func(period, amount string) {
		push("demo-token-ybj", "medical", period, map[string]string{intake.ColName: sick.name, intake.ColID: sick.id,
			intake.ColTownship: "城关镇", intake.ColVillage: "东关村", "住院自付累计": amount, "门诊统筹费用": "0", "门特费用": "0"})
	}
	say := func(user, text, marker string) string {
		t.Helper()
		n := len(sim.SentTo(user))
		if _, err := sim.SayPrivately(ctx, user, text); err != nil {
			t.Fatal(err)
		}
		return replyWith(t, ctx, sim, user, n, marker)
	}
	caseOf := func(id string) cases.Case {
		t.Helper()
		cs, err := s.DB.ListCases(ctx, cases.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var c cases.Case
		for _, x := range cs {
			if x.HeadIDNumber == id && x.ID > c.ID {
				c = x
			}
		}
		if c.No == "" {
			t.Fatalf("no case of %s", cases.MaskIDNumber(id))
		}
		return c
	}

	// Round 1: 20000 yuan of 住院自付 (not 建档立卡: the 20000 rule); a house and its water.
	medical("2026-10", "20000.00")
	push("demo-token-zjj", "assurance", "2026-11",
		map[string]string{intake.ColName: house.name, intake.ColID: house.id, intake.ColTownship: "城关镇", intake.ColVillage: "西关村",
			"问题类型": "住房安全", "问题描述": "墙体开裂", "责任部门": ""},
		map[string]string{intake.ColName: house.name, intake.ColID: house.id, intake.ColTownship: "城关镇", intake.ColVillage: "西关村",
			"问题类型": "饮水安全", "问题描述": "水质不达标", "责任部门": "水利局"})
	wantIn(t, "交办 1", say("zhaoliu", "交办 2026-11", "批次"), "新建案件 2 件", "交办部门任务 2 项")
	hc := caseOf(house.id)
	for _, u := range []string{"liaison_zjj", "liaison_slj"} {
		wantIn(t, "task notice to "+u, replyWith(t, ctx, sim, u, 0, "【部门交办】"), hc.No, "办理 "+hc.No)
	}
	wantIn(t, "人社局 on 住建局's task", say("liaison_rsj", "办理 "+hc.No+" 已经安排就业岗位", ""), "不是您所在的人社局")
	wantIn(t, "住建局 办理", say("liaison_zjj", "办理 "+hc.No+" 已落实危房改造补助资金", "已记录"), hc.No, "住建局")
	wantIn(t, "水利局 办理", say("liaison_slj", "办理 "+hc.No+" 已接通集中供水管网", "已记录"), hc.No, "水利局")
	sc := caseOf(sick.id)
	wantIn(t, "不纳入", say("zhangsan", "核查 "+sc.No+" 不纳入 医疗费用已由大病保险报销，家庭收入稳定", ""), "已办结")

	// Round 2: the cumulative figure is 40 % higher: held. The house's owner is unemployed
	// too: merged into the open case with a task for 人社局.
	medical("2026-11", "28000.00")
	push("demo-token-rsj", "employment", "2026-11", map[string]string{intake.ColName: house.name, intake.ColID: house.id,
		intake.ColTownship: "城关镇", intake.ColVillage: "西关村", "类型": "零就业家庭"})
	held := say("zhaoliu", "交办 2026-12", "批次")
	wantIn(t, "交办 2", held, "比对已核 1 条", sc.No, cases.MaskIDNumber(sick.id), "补充预警到在办案件 1 件", "交办部门任务 1 项")
	if strings.Contains(held, sick.id) {
		t.Errorf("the 交办 reply repeats a full ID number: %s", held)
	}
	wantIn(t, "merged task", replyWith(t, ctx, sim, "liaison_rsj", 0, "【部门交办】"), hc.No)
	wantIn(t, "人社局 办理", say("liaison_rsj", "办理 "+hc.No+" 已推荐到扶贫车间就业", "已记录"), "人社局")

	// Round 3 (December's again, the clock being real: a round of a month to come is
	// refused): 50 % above what was verified: a new case.
	medical("2026-12", "30000.00")
	wantIn(t, "交办 3", say("zhaoliu", "交办 2026-12", "批次"), "新建案件 1 件")
	if again := caseOf(sick.id); again.ID == sc.ID || again.Status != cases.StatusDispatched {
		t.Errorf("released household: %+v", again)
	}

	// 走访: a case of 张三's township at once; the group is told, masked, without the 情况.
	situation := "房屋墙体开裂，雨季漏雨，家中无力修缮"
	visit := say("zhangsan", "走访 "+found.id+" "+found.name+" 住房 "+situation, "已记录")
	wantIn(t, "走访", visit, "干部走访", "住建局")
	fc := caseOf(found.id)
	waitFor(t, ctx, sim, "走访 in the group", func() bool {
		for _, m := range sim.SentInChat(e2eAppChats["城关镇"]) {
			if strings.Contains(m.Content, fc.No) {
				return true
			}
		}
		return false
	})
	idRe := regexp.MustCompile(`\d{17}[\dXx]`)
	for _, m := range sim.SentInChat(e2eAppChats["城关镇"]) {
		if id := idRe.FindString(m.Content); id != "" || strings.Contains(m.Content, situation) ||
			strings.Contains(m.Content, found.name) || strings.Contains(m.Content, house.name) || strings.Contains(m.Content, sick.name) {
			t.Errorf("group message says too much: %s", m.Content)
		}
	}

	// The CLI sees it all.
	t.Setenv("DATABASE_URL", url)
	code, out := run(t, "cases", "--json")
	if code != 0 {
		t.Fatalf("cases --json: %d", code)
	}
	byNo := map[string]map[string]any{}
	sc2 := bufio.NewScanner(strings.NewReader(out))
	for sc2.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc2.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		byNo[m["case_no"].(string)] = m
	}
	if src := byNo[fc.No]["source"]; src != "干部走访" {
		t.Errorf("source of the 走访 case: %v", src)
	}
	tasks := byNo[hc.No]["tasks"].([]any)
	if len(tasks) != 3 {
		t.Fatalf("tasks of %s: %v", hc.No, tasks)
	}
	for _, x := range tasks {
		if task := x.(map[string]any); task["status"] != "done" || task["done_on"] == nil || task["measure"] == "" {
			t.Errorf("task of %s: %v", hc.No, task)
		}
	}
}

func wantIn(t *testing.T, what, got string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(got, s) {
			t.Errorf("%s: lacks %q:\n%s", what, s, got)
		}
	}
}
