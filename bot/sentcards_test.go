package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
)

// An update named by task_id waits for its card to be sent, uses the card's newest
// response_code once, and a later update of a spent card is dropped without a call that
// WeCom would refuse.
func TestCardUpdateWaitsForTheCardAndSpendsItsCodeOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	card := func(replace string) map[string]any {
		return map[string]any{"card_type": "multiple_interaction", "task_id": "YJ202611-0001_abc", "replace_text": replace}
	}
	// queued before the card itself: the update must wait for the card's code
	if err := pgqueue.Enqueue(ctx, h.DB, bot.CardUpdate("upd1", "zhangsan", "YJ202611-0001_abc", card("已登记：纳入"))); err != nil {
		t.Fatal(err)
	}
	w := h.worker()
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.Sim.Sent()); n != 0 {
		t.Fatalf("an update went out before its card: %+v", h.Sim.Sent())
	}
	mt, body := bot.Card(bot.TemplateCard{CardType: "multiple_interaction", TaskID: "YJ202611-0001_abc", MainTitle: bot.CardTitle{Title: "YJ202611-0001"}})
	if err := pgqueue.Enqueue(ctx, h.DB, bot.Outgoing{Key: "card", Channel: bot.ToUsers, Target: "zhangsan", MsgType: mt, Body: body}); err != nil {
		t.Fatal(err)
	}
	cards, err := pgqueue.CardsWithPrefix(ctx, h.DB, "YJ202611-0001")
	if err != nil || len(cards) != 1 || cards[0].UserID != "zhangsan" {
		t.Fatalf("cards of the case: %+v %v", cards, err)
	}
	if other, _ := pgqueue.CardsWithPrefix(ctx, h.DB, "YJ202611-000"); len(other) != 0 {
		t.Errorf("a case number's prefix matched another case's cards: %+v", other)
	}
	stop := runWorker(t, w)
	if err := h.Sim.Wait(waitCtx(t, 20*time.Second), func(s []wecomtest.Sent) bool { return len(s) >= 2 }); err != nil {
		var rows []struct {
			Key   string `db:"idem_key"`
			State string `db:"state"`
			Err   string `db:"last_error"`
		}
		if err := h.DB.SelectContext(ctx, &rows, `SELECT idem_key, state, last_error FROM outbox`); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("%v: sent %+v, outbox %+v", err, h.Sim.Sent(), rows)
	}
	stop()
	sent := h.Sim.Sent()
	if sent[0].API != "message/send" || sent[1].API != "message/update_template_card" || sent[1].Body["response_code"] != sent[0].ResponseCode {
		t.Fatalf("want the card, then its update with the card's code: %+v", sent)
	}
	// a second update has no code left: dropped, not failed, and WeCom is not called
	if err := pgqueue.Enqueue(ctx, h.DB, bot.CardUpdate("upd2", "zhangsan", "YJ202611-0001_abc", card("已办结"))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := h.DB.GetContext(ctx, &state, `SELECT state FROM outbox WHERE idem_key = 'upd2'`); err != nil {
		t.Fatal(err)
	}
	if state != "sent" || len(h.Sim.Sent()) != 2 {
		t.Errorf("update of a spent card: state %q, %d calls", state, len(h.Sim.Sent()))
	}
	// a click brings a fresh code: the next update uses it
	if err := pgqueue.RecordCardCode(ctx, h.DB, "YJ202611-0001_abc", "zhangsan", "rc-click"); err != nil {
		t.Fatal(err)
	}
	if err := pgqueue.Enqueue(ctx, h.DB, bot.CardUpdate("upd3", "zhangsan", "YJ202611-0001_abc", card("x"))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.DB.GetContext(ctx, &state, `SELECT state FROM outbox WHERE idem_key = 'upd3'`); err != nil {
		t.Fatal(err)
	}
	if state != "failed" { // the simulator never issued rc-click: WeCom refuses an unknown code
		t.Errorf("update with an unknown code: state %q", state)
	}
}
