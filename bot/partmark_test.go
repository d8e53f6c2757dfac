package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/bot/wecomtest"
)

// Long private replies of the same kind, queued close together, arrive whole through
// WeCom's duplicate check: two replies whose first parts are equal (a 待办 asked again after
// a case at the end of the list changed), and two equal replies queued by two transactions
// at once (neither saw the other). Each part of each message is unique; resends after a lost
// answer are still dropped.
func TestSplitPartsSurviveTheDuplicateCheck(t *testing.T) {
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
	h.DB.Get(&failed, `SELECT count(*) FROM outbox WHERE state = 'failed'`)
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
