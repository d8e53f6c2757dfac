package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// A server that acknowledged a message and then died before handling it loses nothing:
// the next server on the same database answers it, once.
func TestServeAnswersMessageAcknowledgedBeforeACrash(t *testing.T) {
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	dbURL := pgtest.MigratedURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The first server's inbox worker never runs: as if killed right after the 200.
	_, stop1, s1 := startServeOn(t, sim, dbURL, bot.NewLogger(io.Discard, slog.LevelError), func(s *Server) {
		ws := s.Workers[:0]
		for _, w := range s.Workers {
			if w.Name != "inbox" {
				ws = append(ws, w)
			}
		}
		s.Workers = ws
	})
	id, err := sim.SayPrivately(ctx, "zhangsan", "帮助")
	if err != nil {
		t.Fatal(err)
	}
	var state string
	if err := s1.DB.GetContext(ctx, &state, `SELECT state FROM inbox WHERE key = $1`, "app:"+id); err != nil || state != "pending" {
		t.Fatalf("acknowledged message in the inbox: %q, %v", state, err)
	}
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.SentTo("zhangsan")); n != 0 {
		t.Fatalf("the first server answered %d times", n)
	}

	_, _, s2 := startServeOn(t, sim, dbURL, bot.NewLogger(io.Discard, slog.LevelError), nil)
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentTo("zhangsan")) > 0 }); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitQueuesEmpty(t, s2.DB, 10*time.Second) // a second answer would have been sent by now
	sent := sim.SentTo("zhangsan")
	if len(sent) != 1 || !strings.Contains(sent[0].Content, "张三您好") {
		t.Errorf("after the restart zhangsan got %d messages: %+v", len(sent), sent)
	}
}
