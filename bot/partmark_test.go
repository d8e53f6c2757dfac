package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// Long private replies of the same kind, queued close together, arrive whole through
// WeCom's duplicate check: two replies whose first parts are equal (a 待办 asked again after
// a case at the end of the list changed), and two equal replies queued by two transactions
// at once (neither saw the other). Each part of each message is unique; resends after a lost
// answer are still dropped.
func TestSplitPartsSurviveTheDuplicateCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	head := strings.Repeat("城关镇未办结案件，按办结时限排序。", 150) // ~7 KB: 4 parts
	msg := func(key, text string) bot.Outgoing {
		mt, body := bot.Text(text)
		return bot.Outgoing{Key: key, Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body}
	}
	// Same beginning, different end.
	if err := pgqueue.Enqueue(ctx, h.DB, msg("todo-1", head+"最后一件：待核查")); err != nil {
		t.Fatal(err)
	}
	if err := pgqueue.Enqueue(ctx, h.DB, msg("todo-2", head+"最后一件：已核查待录入")); err != nil {
		t.Fatal(err)
	}
	// Equal replies queued by two transactions at once.
	tx1, err := h.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	tx2, err := h.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if err := pgqueue.Enqueue(ctx, tx1, msg("todo-3", head+"同一答复")); err != nil {
		t.Fatal(err)
	}
	if err := pgqueue.Enqueue(ctx, tx2, msg("todo-4", head+"同一答复")); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Commit(); err != nil {
		t.Fatal(err)
	}
	// Some answers are lost after WeCom took the message: the resends must still be dropped.
	h.Sim.LoseRate("message/send", wecomtest.DropConnection, 0.2)
	runWorker(t, h.worker())
	ctx2 := waitCtx(t, 30*time.Second)
	var pending int
	for {
		if err := h.DB.Get(&pending, `SELECT count(*) FROM outbox WHERE state = 'pending'`); err != nil {
			t.Fatal(err)
		}
		if pending == 0 || ctx2.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var failed int
	failed = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE state = 'failed'`)
	if pending != 0 || failed != 0 {
		t.Fatalf("%d pending, %d failed", pending, failed)
	}
	// Each part names its row and number in its invisible mark: put the replies together.
	got := h.Sim.SentTo("zhangsan")
	parts := map[uint64]map[uint64]string{}
	for _, m := range got {
		raw := m.Body["text"].(map[string]any)["content"].(string)
		var n, shift uint64
		r := []rune(raw)
		for len(r) > 0 && zeroWidthDigit(r[len(r)-1]) >= 0 {
			r = r[:len(r)-1]
		}
		for _, c := range []rune(raw)[len(r):] {
			n |= uint64(zeroWidthDigit(c)) << shift
			shift += 2
		}
		text := string(r)
		if i := strings.Index(text, "）\n"); strings.HasPrefix(text, "（") && i > 0 {
			text = text[i+len("）\n"):]
		}
		if parts[n>>8] == nil {
			parts[n>>8] = map[uint64]string{}
		}
		if _, dup := parts[n>>8][n&0xff]; dup {
			t.Errorf("part %d of row %d shown twice", n&0xff, n>>8)
		}
		parts[n>>8][n&0xff] = text
	}
	var whole []string
	for id := uint64(1); id <= uint64(len(parts)); id++ {
		var b strings.Builder
		for i := uint64(0); i < uint64(len(parts[id])); i++ {
			b.WriteString(parts[id][i])
		}
		whole = append(whole, b.String())
	}
	want := []string{head + "最后一件：待核查", head + "最后一件：已核查待录入", head + "同一答复", head + "同一答复"}
	if len(whole) != len(want) {
		t.Fatalf("%d replies arrived (%d parts), want %d; %d dropped by the duplicate check", len(whole), len(got), len(want), len(h.Sim.Duplicates())-h.Sim.LostAnswers())
	}
	for i := range want {
		if whole[i] != want[i] {
			t.Errorf("reply %d arrived incomplete (%d of %d bytes)", i+1, len(whole[i]), len(want[i]))
		}
	}
	// Every copy the duplicate check dropped was a resend after a lost answer.
	if d, l := len(h.Sim.Duplicates()), h.Sim.LostAnswers(); d > l {
		t.Errorf("%d requests dropped as duplicates, only %d resends after lost answers", d, l)
	}
}

// zeroWidthDigit is the base-4 digit a zero-width character of a part's mark stands for.
func zeroWidthDigit(r rune) int {
	i := strings.IndexRune("\u200b\u200c\u200d\u2060", r)
	if i < 0 {
		return -1
	}
	return i / 3
}

// A card WeCom took whose answer, with its response_code, was lost cannot be updated; when
// its case is handled, the changed card goes out as a new card instead of the update failing
// and the old card's buttons waiting for ever. Later updates go to the new card.
func TestCardWithALostCodeIsReplaced(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	mt, body := bot.Card(bot.TemplateCard{CardType: "vote_interaction", TaskID: "YJ202611-0001_c1",
		MainTitle:    bot.CardTitle{Title: "YJ202611-0001 入户核查"},
		Checkbox:     &bot.CardCheckbox{QuestionKey: "result", OptionList: []bot.CardOption{{ID: "include", Text: "纳入"}, {ID: "exclude", Text: "不纳入"}}},
		SubmitButton: &bot.CardSubmitButton{Text: "提交", Key: "submit"}})
	if err := pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "card", Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body}); err != nil {
		t.Fatal(err)
	}
	// WeCom takes the card, the answer is lost; the resend is dropped by the duplicate check
	// and answered without a response_code.
	h.Sim.LoseNext("message/send", wecomtest.DropConnection, 1)
	stop := runWorker(t, h.worker())
	waitSent := func(what string, cond func() bool) {
		t.Helper()
		ctx := waitCtx(t, 20*time.Second)
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s: %+v", what, h.Sim.Sent())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSent("the card's resend", func() bool { return len(h.Sim.Duplicates()) == 1 })
	done := map[string]any{"card_type": "vote_interaction", "task_id": "YJ202611-0001_c1",
		"main_title": map[string]any{"title": "YJ202611-0001 入户核查"}, "replace_text": "已核查：纳入"}
	if err := pgqueue.Enqueue(ctx, h.DB, bot.CardUpdate("upd-1", "zhangsan", "YJ202611-0001_c1", done)); err != nil {
		t.Fatal(err)
	}
	cards := func() []wecomtest.Sent {
		var out []wecomtest.Sent
		for _, s := range h.Sim.SentTo("zhangsan") {
			if s.MsgType == "template_card" {
				out = append(out, s)
			}
		}
		return out
	}
	waitSent("the replacement card", func() bool { return len(cards()) == 2 })
	stop()
	var failed int
	failed = pgtest.Count(t, h.DB, `SELECT count(*) FROM outbox WHERE state <> 'sent'`)
	if failed != 0 {
		t.Errorf("%d outbox rows not sent", failed)
	}
	repl := cards()[1].Body["template_card"].(map[string]any)
	newTask, _ := repl["task_id"].(string)
	if repl["replace_text"] != "已核查：纳入" || !strings.HasPrefix(newTask, "YJ202611-0001_c1-r") {
		t.Errorf("replacement card: %v", repl)
	}
	// The case's cards are now the new one only, and it can be updated.
	got, err := pgqueue.CardsWithPrefix(ctx, h.DB, "YJ202611-0001")
	if err != nil || len(got) != 1 || got[0].TaskID != newTask {
		t.Errorf("cards of the case: %+v %v", got, err)
	}
	if code, err := pgqueue.New(h.DB.DB).TakeCardCode(ctx, newTask); err != nil || code != cards()[1].ResponseCode {
		t.Errorf("the new card's code: %q %v", code, err)
	}
}

// Every group send passes the group guard in the worker, whatever queued it; private
// messages are left as they are.
func TestWorkerGuardsEveryGroupSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.API.CreateAppChat(ctx, bot.AppChat{Name: "城关镇防返贫工作群", Owner: "zhangsan", UserList: []string{"zhangsan", "lisi"}, ChatID: "wrCG0001"}); err != nil {
		t.Fatal(err)
	}
	leak := "王大明 997777197001010016 肺癌晚期 自付5.2万元 电话13812345678"
	text := func(key string, ch bot.Channel, target string, group bool) bot.Outgoing {
		mt, body := bot.Text(leak)
		return bot.Outgoing{Key: key, Channel: ch, Target: target, MsgType: mt, Body: body, Group: group}
	}
	err := pgqueue.Enqueue(ctx, h.DB,
		text("appchat", bot.ToAppChat, "wrCG0001", false),
		text("webhook", bot.ToWebhook, "demo-hekou-key", false),
		text("aibot-group", bot.ToResponseURL, h.Sim.ResponseURL("wrCG0001"), true),
		text("private", bot.ToUsers, "zhangsan", false))
	if err != nil {
		t.Fatal(err)
	}
	w := h.worker()
	w.GroupWords = staticWords{bot.GroupWords{Hide: []string{"肺癌"}, Names: map[string]string{"王大明": "王*明"}}}
	runWorker(t, w)
	if err := h.Sim.Wait(waitCtx(t, 20*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= 4 }); err != nil {
		t.Fatal(err)
	}
	for _, m := range h.Sim.Sent() {
		private := m.API == "message/send"
		for _, bad := range []string{"王大明", "997777197001010016", "肺癌", "5.2万元", "13812345678"} {
			if strings.Contains(m.Content, bad) != private {
				t.Errorf("%s: %q shown %v: %s", m.API, bad, !private, m.Content)
			}
		}
		if !private && !strings.Contains(m.Content, "997777********0016") {
			t.Errorf("%s: no masked ID number: %s", m.API, m.Content)
		}
	}
}

type staticWords struct{ w bot.GroupWords }

func (s staticWords) GroupWords(context.Context) (bot.GroupWords, error) { return s.w, nil }
