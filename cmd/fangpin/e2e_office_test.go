package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/cases/synth"
	"github.com/fangpin/fangpin/internal/simtest"
)

// The office's chores and the leaders' read-only view through the simulator
// (docs/office.md): 令牌 revokes the old push token at once, 撤回 takes back an undispatched
// push (its own department's only, never once dispatched), 抽查 抽取 draws the month
// reproducibly and tells the supervisors, and a leader reads but changes nothing.
func TestEndToEndOfficeChoresAndLeaders(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	base, _, s := startServeOn(t, sim, pgtest.MigratedURL(t), bot.NewLogger(io.Discard, slog.LevelError), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	say := func(user, text, marker string) string {
		t.Helper()
		n := len(sim.SentTo(user))
		if _, err := sim.SayPrivately(ctx, user, text); err != nil {
			t.Fatal(err)
		}
		return replyWith(t, ctx, sim, user, n, marker)
	}
	g := synth.New(20261207)
	medical := func(token, name string) (simtest.PushAnswer, error) {
		js, _ := json.Marshal(map[string]any{"category": "medical", "period": "2026-11", "records": []map[string]string{{
			intake.ColName: name, intake.ColID: g.IDNumber(1960), intake.ColTownship: "城关镇", intake.ColVillage: "东关村",
			"住院自付累计": "60000", "门诊统筹费用": "0", "门特费用": "0"}}})
		return simtest.Push(ctx, base, token, "application/json", bytes.NewReader(js))
	}

	t.Run("leader reads, changes nothing", func(t *testing.T) {
		help := say("zhoulingdao", "帮助", "您可以使用以下命令")
		wantIn(t, "leader's 帮助", help, "进度", "统计", "逾期")
		for _, not := range []string{"交办", "导出", "令牌", "查看"} {
			if strings.Contains(help, "• "+not) {
				t.Errorf("leader's 帮助 offers %s:\n%s", not, help)
			}
		}
		got := say("zhoulingdao", "交办", "交办")
		wantIn(t, "leader's 交办", got, "只能查看", "不能办理")
		entries, err := s.DB.Audit(ctx, cases.AuditFilter{User: "zhoulingdao"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != cases.AccessRefused || !strings.Contains(entries[0].Detail, "交办") {
			t.Errorf("the refused 交办 is not in the audit trail as one refusal: %+v", entries)
		}
		wantIn(t, "leader's 进度", say("zhoulingdao", "进度", "办理进度"), "办理进度")
	})

	t.Run("supervisor's 帮助 names the draw", func(t *testing.T) {
		wantIn(t, "supervisor's 帮助", say("sunqi", "帮助", "您可以使用以下命令"), "抽查 <编号>", "抽查 抽取 [比例]", "查看")
	})

	var token string
	t.Run("令牌 revokes the old token at once", func(t *testing.T) {
		if a, err := medical("demo-token-ybj", "欧阳甲"); err != nil || a.Warnings != 1 {
			t.Fatalf("push with the org file's token before 令牌: %+v %v", a, err)
		}
		n := len(sim.SentTo("zhaoliu"))
		wantIn(t, "令牌's reply", say("zhaoliu", "令牌 医保局", "另发一条私信"), "原令牌已作废")
		secret := replyWith(t, ctx, sim, "zhaoliu", n, "数据推送令牌】")
		m := regexp.MustCompile(`】\n([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(secret)
		if m == nil {
			t.Fatalf("no 32-byte base64url token in the private message:\n%s", secret)
		}
		token = m[1]
		a, err := medical("demo-token-ybj", "欧阳乙")
		if a.Status != http.StatusUnauthorized {
			t.Errorf("the old token after 令牌: want HTTP 401, got %d (%v)", a.Status, err)
		}
		if a, err := medical(token, "欧阳丙"); err != nil || a.Warnings != 1 {
			t.Errorf("the new token: %+v %v", a, err)
		}
		// an org file still naming the old hash does not bring the old token back
		if _, err := s.DB.ApplyOrg(ctx, mustOrg(t)); err != nil {
			t.Fatal(err)
		}
		if a, _ := medical("demo-token-ybj", "欧阳丁"); a.Status != http.StatusUnauthorized {
			t.Errorf("the old token after org apply: want HTTP 401, got %d", a.Status)
		}
		wantIn(t, "a liaison's 令牌", say("wangwu", "令牌 医保局", "令牌"), "只有县扶贫办可以使用")
	})

	t.Run("撤回 an undispatched push, own department only", func(t *testing.T) {
		a, err := medical(token, "欧阳戊")
		if err != nil {
			t.Fatal(err)
		}
		wantIn(t, "another department's 撤回", say("liaison_wjw", "撤回 "+a.ID, a.ID), "只能撤回本部门")
		wantIn(t, "own 撤回", say("wangwu", "撤回 "+a.ID, a.ID), "已撤回批次 "+a.ID)
		if _, err := s.DB.BatchByID(ctx, a.ID); cases.ErrorCode(err) != cases.ENotFound {
			t.Errorf("the withdrawn batch is still there: %v", err)
		}
		wantIn(t, "撤回 twice", say("wangwu", "撤回 "+a.ID, a.ID), "没有找到批次")
		entries, err := s.DB.Audit(ctx, cases.AuditFilter{User: "wangwu"})
		if err != nil {
			t.Fatal(err)
		}
		var logged bool
		for _, e := range entries {
			logged = logged || (e.Action == cases.AccessWithdraw && strings.Contains(e.Detail, a.SHA256))
		}
		if !logged {
			t.Errorf("the withdrawal with the file's SHA-256 is not in the audit trail: %+v", entries)
		}
		// dispatched: refused
		b, err := medical(token, "欧阳己")
		if err != nil {
			t.Fatal(err)
		}
		say("zhaoliu", "交办", "交办")
		wantIn(t, "撤回 after 交办", say("zhaoliu", "撤回 "+b.ID, b.ID), "已经交办", "不能撤回")
		if _, err := s.DB.BatchByID(ctx, b.ID); err != nil {
			t.Errorf("a dispatched batch was withdrawn: %v", err)
		}
	})

	t.Run("结果 for a department and for the office", func(t *testing.T) {
		cs, err := s.DB.ListCases(ctx, cases.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 3 {
			t.Fatalf("want the 3 cases of 医保局's 3 dispatched warnings, got %d", len(cs))
		}
		for i, reason := range []string{"欧阳家庭收入稳定，子女已就业", "子女已就业；已参加医保二次报销 12000 元"} {
			say("zhangsan", "核查 "+cs[i].No+" 不纳入 "+reason, cs[i].No)
		}
		mine := say("wangwu", "结果", "预警结果反馈")
		wantIn(t, "医保局's 结果", mine, "医保局预警结果反馈", "预警 3 条，形成案件 3 件，比对已核 0 条；纳入 0，已在监测 0，不纳入 2，尚未核查 1",
			"不纳入的常见理由：子女已就业")
		for _, leak := range []string{"欧阳", "12000", cs[0].No} {
			if strings.Contains(mine, leak) {
				t.Errorf("结果 names %q:\n%s", leak, mine)
			}
		}
		wantIn(t, "another department's 结果", say("liaison_wjw", "结果", "预警结果反馈"), "卫健委", "没有本部门推送的预警")
		wantIn(t, "the office's 结果", say("zhaoliu", "结果", "各部门预警结果反馈"), "医保局：预警 3，案件 3", "卫健委：预警 0")
		wantIn(t, "a cadre's 结果", say("zhangsan", "结果", "结果"), "只有部门联络员、县扶贫办可以使用")
	})

	t.Run("抽查 抽取 draws reproducibly and tells the supervisors", func(t *testing.T) {
		n := len(sim.SentTo("sunqi"))
		first := say("zhaoliu", "抽查 抽取 50%", "抽查名单")
		wantIn(t, "抽取's reply", first, "比例 50%", "YJ", "名单已私信发给督查人员")
		replyWith(t, ctx, sim, "sunqi", n, "抽查名单")
		again := say("sunqi", "抽查 抽取 0.5", "抽查名单")
		list := func(s string) string {
			return strings.Join(regexp.MustCompile(`YJ\d{6}-\d{4}`).FindAllString(s, -1), ",")
		}
		if list(first) == "" || list(first) != list(again) {
			t.Errorf("the same month and rate drew differently:\n%s\n%s", first, again)
		}
		wantIn(t, "a bad rate", say("zhaoliu", "抽查 抽取 两成", "抽查比例"), "0.1", "10%")
		wantIn(t, "the office recording a result", say("zhaoliu", "抽查 "+list(first)[:12]+" 合格", "抽查"), "只有督查人员可以登记")
	})
}

func mustOrg(t *testing.T) *cases.Org {
	t.Helper()
	org, err := orgfile.Load("../../examples/org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return org
}
