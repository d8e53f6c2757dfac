package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

func (e *e2e) answers(t *testing.T) {
	s, sim, base, ctx, perTown := e.s, e.sim, e.base, e.ctx, e.perTown
	// 3. Three cases of 城关镇 answered three ways.
	cg := perTown["城关镇"]
	if len(cg) < 3 {
		t.Fatalf("城关镇 has %d cases, the test needs 3 (change the seed)", len(cg))
	}
	byCommand, byCard, byForm := cg[0], cg[1], cg[2]
	cadre, other := "zhangsan", "qianyi"

	// Someone of another township is refused, and told why.
	n := len(sim.SentTo(other))
	sim.SayPrivately(ctx, other, "核查 "+byCommand.No+" 纳入 家中有人住院")
	if got := replyTo(t, ctx, sim, other, n); !strings.Contains(got, "城关镇") || strings.Contains(got, "已登记") {
		t.Errorf("a 河口乡 cadre acting on a 城关镇 case was told: %s", got)
	}
	// 不纳入 without a reason is refused.
	n = len(sim.SentTo(cadre))
	sim.SayPrivately(ctx, cadre, "核查 "+byCommand.No+" 不纳入")
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "理由") || strings.Contains(got, "已登记") {
		t.Errorf("不纳入 without a reason: %s", got)
	}
	if c, _ := s.DB.CaseByNo(ctx, byCommand.No); c.Status != cases.StatusDispatched {
		t.Fatalf("refused commands changed %s: %+v", c.No, c)
	}

	// (a) By command: 核查 in the group, 录入 in private.
	inGroup := len(sim.SentInChat("wrCG0001"))
	verifyMsg, err := sim.SayInGroup(ctx, "wrCG0001", cadre, "核查 "+byCommand.No+" 纳入 家庭收入骤减，符合纳入条件")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, sim, "group answer", func() bool { return len(sim.SentInChat("wrCG0001")) > inGroup })
	if got := sim.SentInChat("wrCG0001")[inGroup]; got.API != "aibot/response" || !strings.Contains(got.Content, "已登记") {
		t.Errorf("group answer to 核查: %+v", got)
	}
	n = len(sim.SentTo(cadre))
	enterMsg, _ := sim.SayPrivately(ctx, cadre, "录入 "+byCommand.No)
	// The 核查 typed in the group may also be answered privately, and that answer mentions
	// 办结 too: wait for the 录入 reply itself, or it arrives later as the card's answer.
	if got := replyWith(t, ctx, sim, cadre, n, "录入全国系统，案件已办结"); !strings.Contains(got, "办结") {
		t.Errorf("录入 reply: %s", got)
	}

	// (b) By card: 已在监测, then 录入. A 不纳入 click is sent to the command or the form
	// (the card has no reason field); another township's cadre clicking is refused.
	card := cardFor(t, ctx, sim, cadre, byCard.No)
	n = len(sim.SentTo(cadre))
	sim.ClickCard(ctx, cadre, bot.CardEvent{TaskID: card["task_id"].(string), EventKey: "submit_" + byCard.No,
		CardType: "multiple_interaction", ResponseCode: "rc-e2e-exclude", Selected: map[string][]string{"result": {"exclude"}}})
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "理由") || strings.Contains(got, "已登记") {
		t.Errorf("card 不纳入: %s", got)
	}
	n = len(sim.SentTo(other))
	sim.ClickCard(ctx, other, bot.CardEvent{TaskID: card["task_id"].(string), EventKey: "submit_" + byCard.No,
		CardType: "multiple_interaction", ResponseCode: "rc-e2e-other", Selected: map[string][]string{"result": {"include"}}})
	if got := replyTo(t, ctx, sim, other, n); !strings.Contains(got, "城关镇") || strings.Contains(got, "已登记") {
		t.Errorf("card clicked by a 河口乡 cadre: %s", got)
	}
	if c, _ := s.DB.CaseByNo(ctx, byCard.No); c.Status != cases.StatusDispatched {
		t.Fatalf("refused clicks changed %s: %s", c.No, c.Status)
	}
	// WeCom tells events apart by user and CreateTime (seconds) only, and the bot dedups on
	// that as WeCom advises: a person's next click comes in a later second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	n = len(sim.SentTo(cadre))
	if err := sim.ClickCard(ctx, cadre, bot.CardEvent{TaskID: card["task_id"].(string), EventKey: "submit_" + byCard.No,
		CardType: "multiple_interaction", ResponseCode: "rc-e2e-card", Selected: map[string][]string{"result": {"monitored"}}}); err != nil {
		t.Fatal(err)
	}
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "已登记") || !strings.Contains(got, "已在监测") {
		t.Errorf("card reply: %s", got)
	}
	waitFor(t, ctx, sim, "card update", func() bool {
		for _, m := range sim.Sent() {
			if tc, _ := m.Body["template_card"].(map[string]any); m.API == "message/update_template_card" && m.TaskID == card["task_id"] && tc["replace_text"] == "已登记：已在监测" {
				return true
			}
		}
		return false
	})
	n = len(sim.SentTo(cadre))
	enterCardMsg, _ := sim.SayPrivately(ctx, cadre, "录入 "+byCard.No+" "+cases.DateOf(time.Now()).String())
	if got := replyTo(t, ctx, sim, cadre, n); !strings.Contains(got, "办结") {
		t.Errorf("录入 after the card: %s", got)
	}

	// (c) By the H5 form: the signed link from the private message; 不纳入 needs a reason.
	link := cardFormLink(cardFor(t, ctx, sim, cadre, byForm.No))
	if link == "" {
		t.Fatalf("no form link in the private message on %s", byForm.No)
	}
	page := httpDo(t, "GET", base+link, nil)
	if page.status != 200 || !strings.Contains(page.body, byForm.No) || !strings.Contains(page.body, byForm.HeadName) {
		t.Fatalf("form page: %d %s", page.status, page.body)
	}
	if got := httpDo(t, "POST", base+link, url.Values{"result": {"不纳入"}}); got.status != http.StatusUnprocessableEntity ||
		!strings.Contains(got.body, "必须逐户写明理由") {
		t.Errorf("form 不纳入 without a reason: %d %s", got.status, got.body)
	}
	if got := httpDo(t, "POST", base+link, url.Values{"result": {"不纳入"}, "reason": {"家庭年人均收入高于监测标准，无返贫风险"}}); got.status != 200 ||
		!strings.Contains(got.body, "已办结") {
		t.Errorf("form 不纳入 with a reason: %d %s", got.status, got.body)
	}
	// The link is bound to its user: another cadre cannot use it.
	if got := httpDo(t, "POST", base+strings.Replace(link, "u="+cadre, "u=lisi", 1), url.Values{"result": {"纳入"}}); got.status == 200 {
		t.Errorf("a link with another user was accepted: %s", got.body)
	}

	// All three are closed, with audit events pointing at the messages.
	wantSources := map[string][]string{
		byCommand.No: {"wecom:aibot:" + verifyMsg, "wecom:app:" + enterMsg},
		byCard.No:    {"wecom:app:event:" + cadre, "wecom:app:" + enterCardMsg},
		byForm.No:    {"form:" + cadre + ":" + byForm.No},
	}
	for _, c := range []cases.Case{byCommand, byCard, byForm} {
		got, err := s.DB.CaseByNo(ctx, c.No)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != cases.StatusClosed {
			t.Errorf("case %s is %s, want closed", c.No, got.Status)
		}
		es, err := s.DB.Events(ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sources []string
		for _, e := range es {
			sources = append(sources, e.Source)
		}
		for _, want := range wantSources[c.No] {
			found := false
			for _, src := range sources {
				if strings.HasPrefix(src, want) {
					found = true
				}
			}
			if !found {
				t.Errorf("case %s: no audit event from %q among %q", c.No, want, sources)
			}
		}
	}
	if got, _ := s.DB.CaseByNo(ctx, byCard.No); got.Result != cases.ResultMonitored {
		t.Errorf("card result: %+v", got)
	}
	if got, _ := s.DB.CaseByNo(ctx, byForm.No); got.Result != cases.ResultExclude || got.Reason == "" {
		t.Errorf("form result: %+v", got)
	}
	e.byCommand, e.byCard, e.byForm, e.cadre = byCommand, byCard, byForm, cadre
}
