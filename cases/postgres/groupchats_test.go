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
