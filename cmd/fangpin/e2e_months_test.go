package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
)

// Three months of one county against the real server and the simulator, on the ledger's
// clock: households verified 纳入 or 已在监测 are not re-opened by a department's corrected
// re-send after 交办 nor by next month's year-to-date medical figures (比对已核, with why);
// a +50 % figure is a new case; a 信息变更 case beside risk cases is announced with each due
// date; an open case past due is late and overdue in working days; a month in progress is
// provisional and a township with nothing judged has no score.
func TestEndToEndThreeMonths(t *testing.T) {
	t.Setenv("FANGPIN_FORM_SECRET", "e2e-form-secret")
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	var clock atomic.Int64
	setDay := func(day string, hour int) { clock.Store(cases.MustDate(day).At(hour, 0).UnixNano()) }
	setDay("2026-11-10", 9)
	base, _, s := startServeAt(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError),
		func() time.Time { return time.Unix(0, clock.Load()) }, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	chat := e2eAppChats["城关镇"]
	if _, err := s.API.CreateAppChat(ctx, bot.AppChat{Name: "城关镇防返贫工作群", Owner: "zhangsan",
		UserList: []string{"zhaoliu", "zhangsan", "lisi"}, ChatID: chat}); err != nil {
		t.Fatal(err)
	}
	g := synth.New(20270111)
	type person struct{ name, id string }
	sick, grown := person{"欧阳明", g.IDNumber(1966)}, person{"上官云", g.IDNumber(1971)} // not in the registry
	worker, late := person{"司马兰", g.IDNumber(1975)}, person{"诸葛亮", g.IDNumber(1980)}
	old, dead, son := person{"东方红", g.IDNumber(1950)}, person{"东方强", g.IDNumber(1990)}, person{"东方勇", g.IDNumber(1986)}
	reg := func(hh string, head person, p person, rel, village, risk string) cases.RegistryMember {
		return cases.RegistryMember{HouseholdNo: hh, HeadIDNumber: head.id, Name: p.name, IDNumber: p.id, Relation: rel,
			Township: "城关镇", Village: village, Kind: cases.HouseholdLifted, RiskStatus: risk}
	}
	if err := s.DB.UpsertRegistry(ctx, []cases.RegistryMember{
		reg("M-W", worker, worker, "户主", "东村", cases.RiskOpen),
		reg("M-L", late, late, "户主", "南村", cases.RiskOpen),
		reg("M-P", old, old, "户主", "东村", cases.RiskCleared),
		reg("M-P", old, dead, "之子", "东村", cases.RiskCleared),
		reg("M-P", old, son, "之子", "东村", cases.RiskCleared),
	}); err != nil {
		t.Fatal(err)
	}
	push := func(token, cat, period string, recs ...map[string]string) batchAnswer {
		t.Helper()
		js, _ := json.Marshal(map[string]any{"category": cat, "period": period, "records": recs})
		return pushRequest(t, base, token, "application/json", bytes.NewReader(js))
	}
	medical := func(p person, amount string) map[string]string {
		return map[string]string{intake.ColName: p.name, intake.ColID: p.id, intake.ColTownship: "城关镇", intake.ColVillage: "东关村",
			"住院自付累计": amount, "门诊统筹费用": "0", "门特费用": "0"}
	}
	jobless := func(p person, village, kind string) map[string]string {
		return map[string]string{intake.ColName: p.name, intake.ColID: p.id, intake.ColTownship: "城关镇", intake.ColVillage: village, "类型": kind}
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
	countCases := func() int {
		cs, err := s.DB.ListCases(ctx, cases.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}

	// November 10: two medical figures, two jobless households, a death in a 脱贫户.
	if a := push("demo-token-ybj", "medical", "2026-10", medical(sick, "20000.00"), medical(grown, "20000.00")); a.Warnings != 2 {
		t.Fatalf("medical push: %+v", a)
	}
	if a := push("demo-token-rsj", "employment", "2026-10", jobless(worker, "东村", "零就业家庭"), jobless(late, "南村", "零就业家庭")); a.Warnings != 2 {
		t.Fatalf("employment push: %+v", a)
	}
	push("demo-token-gaj", "population", "2026-10", map[string]string{intake.ColName: dead.name, intake.ColID: dead.id,
		intake.ColTownship: "城关镇", intake.ColVillage: "东村", intake.ColHeadID: old.id, intake.ColChange: "死亡", intake.ColChangeDate: "2026-10-20"})
	nov := say("zhaoliu", "交办 2026-11", "批次")
	wantIn(t, "交办 2026-11", nov, "城关镇：5 件")
	sc, gc, wc, lc, pc := caseOf(sick.id), caseOf(grown.id), caseOf(worker.id), caseOf(late.id), caseOf(old.id)
	if pc.Kind != cases.KindInfo || pc.DueOn != cases.MustDate("2026-12-31") || lc.DueOn != cases.MustDate("2026-12-08") {
		t.Fatalf("November's cases: 信息变更 %s due %s, risk due %s", pc.Kind, pc.DueOn, lc.DueOn)
	}
	// The group hears which households are due when: the 信息变更 date is not theirs.
	var notice string
	waitFor(t, ctx, sim, "the round's group summary", func() bool {
		for _, m := range sim.SentInChat(chat) {
			if strings.Contains(m.Content, "防返贫预警交办") && strings.Contains(m.Content, pc.No) {
				notice = m.Content
				return true
			}
		}
		return false
	})
	wantIn(t, "group summary", notice, "2026-12-08 前办结 4 件", "2026-12-31 前在全国系统中更新（人员变动） 1 件："+pc.No)
	if strings.Contains(notice, "请于 2026-12-31") {
		t.Errorf("the round announced the 信息变更 date as everyone's:\n%s", notice)
	}

	// November 20: three households verified and entered; the fourth stays open; 信息变更 entered.
	setDay("2026-11-20", 10)
	wantIn(t, "核查 纳入", say("zhangsan", "核查 "+sc.No+" 纳入 经核实：已纳入监测，落实医疗救助。", "已登记"), sc.No)
	wantIn(t, "核查 纳入", say("zhangsan", "核查"+gc.No+"纳入：已申请临时救助", "已登记"), gc.No)
	wantIn(t, "核查 已在监测", say("zhangsan", "核查 "+wc.No+" 已在监测 已安排公益性岗位", "已登记"), wc.No)
	for _, no := range []string{sc.No, gc.No, wc.No} {
		wantIn(t, "录入", say("zhangsan", "录入 "+no+" 2026-11-20", "办结"), no)
	}
	wantIn(t, "录入 信息变更", say("zhangsan", "录入 "+pc.No+" 2026-11-20", "办结"), pc.No)
	if c, _ := s.DB.CaseByNo(ctx, sc.No); c.Reason != "经核实：已纳入监测，落实医疗救助。" {
		t.Errorf("the 说明 was changed before it was stored: %q", c.Reason)
	}

	// November 25: 人社局 re-sends its corrected file; 交办 again: 司马兰's household was verified
	// 已在监测 five days ago: held, with why; 诸葛亮's open case takes the repeat as 补充预警.
	setDay("2026-11-25", 10)
	push("demo-token-rsj", "employment", "2026-10", jobless(worker, "东村", "有意愿有能力未就业"), jobless(late, "南村", "有意愿有能力未就业"))
	before := countCases()
	resent := say("zhaoliu", "交办 2026-11", "批次")
	t.Logf("re-send 交办:\n%s", resent)
	wantIn(t, "re-send 交办", resent, "比对已核 1 条", wc.No, "核查结论“已在监测”，2026-11-20 办结")
	if n := countCases(); n != before {
		t.Errorf("the re-send made %d new cases, want none", n-before)
	}
	// 进度 during the month: provisional, the open cases counted.
	progress := say("zhaoliu", "进度 城关镇 2026-11", "办理进度")
	wantIn(t, "进度 in November", progress, "截至今日", "尚未办结 1 件")

	// December 10: year-to-date figures: 欧阳明 +40 % → held against his 纳入; 上官云 +50 % → a new case.
	setDay("2026-12-10", 9)
	push("demo-token-ybj", "medical", "2026-11", medical(sick, "28000.00"), medical(grown, "30000.00"))
	dec := say("zhaoliu", "交办 2026-12", "批次")
	t.Logf("December 交办:\n%s", dec)
	wantIn(t, "交办 2026-12", dec, "新建案件 1 件", "比对已核 1 条", sc.No, "核查结论“纳入”", cases.MaskIDNumber(sick.id))
	if again := caseOf(grown.id); again.ID == gc.ID || again.Round != "2026-12" {
		t.Errorf("上官云's +50 %% figure: %+v, want a new December case", again)
	}
	if c := caseOf(sick.id); c.ID != sc.ID {
		t.Errorf("欧阳明's +40 %% figure re-opened the household: %s", c.No)
	}
	// 诸葛亮's case is two working days late, everywhere in working days.
	wantIn(t, "逾期", say("zhaoliu", "逾期", "逾期"), lc.No, "已逾期 2 个工作日")
	wantIn(t, "查看", say("zhaoliu", "查看 "+lc.No, lc.No), "已逾期 2 个工作日")
	// November is over: 城关镇 on time 4 of 5 (the open case past due is late), fed back 3 of 4
	// (the 信息变更 case owes no 核查结论): (50×0.8 + 20×0.75) ÷ 70 × 100 = 78.6.
	final := say("zhaoliu", "进度 城关镇 2026-11", "办理进度")
	wantIn(t, "进度 of November", final, "逾期 1", "按时办结率 80.0%", "考核得分 78.6 分", "信息变更 待录入 0，已录入 1")
	if strings.Contains(final, "截至今日") {
		t.Errorf("a month over is still provisional:\n%s", final)
	}
	// December in progress: its one case is open, not yet due: no score, never 100.
	decProgress := say("zhaoliu", "进度 城关镇 2026-12", "办理进度")
	wantIn(t, "进度 of December", decProgress, "截至今日", "考核得分 —")

	// January 11: the figure is still below +50 % of what was verified: held again.
	setDay("2027-01-11", 9)
	push("demo-token-ybj", "medical", "2026-12", medical(sick, "29000.00"))
	jan := say("zhaoliu", "交办 2027-01", "批次")
	wantIn(t, "交办 2027-01", jan, "比对已核 1 条", sc.No)
	if c := caseOf(sick.id); c.ID != sc.ID {
		t.Errorf("January re-opened 欧阳明's household: %s", c.No)
	}
}
