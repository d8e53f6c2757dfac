package postgres_test

import (
	"context"
	"testing"

	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres/dispatchtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// A chat belongs to one township: by its app chat, or bound once by the AI bot's chat id
// while the township has no chat the bot knows; a second binding, or another township's
// chat, is refused, and re-applying the org file keeps the binding.
func TestGroupChatsBelongToOneTownship(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	org, _ := orgfile.Parse([]byte(dispatchtest.Org))
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	town := func(chat, want string) {
		t.Helper()
		if got, err := db.ChatTownship(ctx, chat); err != nil || got != want {
			t.Errorf("township of %q = %q (%v), want %q", chat, got, err, want)
		}
	}
	bind := func(township, chat string, want bool) {
		t.Helper()
		if got, err := db.BindChat(ctx, township, chat); err != nil || got != want {
			t.Errorf("bind %q to %s = %v (%v), want %v", chat, township, got, err, want)
		}
	}
	town("wrCG0001", "城关镇")
	town("", "")
	town("aiHK1", "")
	bind("城关镇", "aiCG-other", false) // has its app chat
	bind("河口乡", "wrCG0001", false)   // 城关镇's
	bind("河口乡", "aiHK1", true)       // a group robot's township learns its chat
	bind("河口乡", "aiHK1", false)      // once: bound already
	bind("河口乡", "aiHK2", false)
	town("aiHK1", "河口乡")
	town("aiHK2", "")
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	town("aiHK1", "河口乡")
	// The org file's aibot_chat wins, also over another township's binding by use.
	for i := range org.Townships {
		if org.Townships[i].Name == "城关镇" {
			org.Townships[i].Chat.AIBotChat = "aiHK1"
		}
	}
	if _, err := db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	town("aiHK1", "城关镇")
	bind("河口乡", "aiHK3", true) // 河口乡 lost its binding: its cadres' next group binds
	town("wrCG0001", "城关镇")
}

// The group guard's words: the open cases' people's names and their warnings' 病种; nothing
// of warnings not yet dispatched.
func TestGroupWordsOfOpenCases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p := dispatchtest.New(t)
	dispatchtest.Warn(t, db, p)
	if d, n, err := db.GroupWords(ctx); err != nil || len(d) != 0 || len(n) != 0 {
		t.Fatalf("before the dispatch: %v %v %v", d, n, err)
	}
	if _, err := db.Dispatch(ctx, dispatchOpts(false)); err != nil {
		t.Fatal(err)
	}
	diagnoses, names, err := db.GroupWords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(diagnoses) != 1 || diagnoses[0] != p.Disease {
		t.Errorf("diagnoses %q, want %q", diagnoses, p.Disease)
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	for _, x := range []dispatchtest.Person{p.A, p.B, p.C, p.E, p.F, p.G} {
		if !has[x.Name] {
			t.Errorf("names lack %s: %q", x.Name, names)
		}
	}
}
