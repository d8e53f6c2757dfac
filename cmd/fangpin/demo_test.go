package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/config"
	"github.com/fangpin/fangpin/internal/redistest"
	"github.com/fangpin/fangpin/internal/simtest"
)

// The demo wires its server to the simulator completely: the AI bot's callback (a question
// in a group) is decrypted and answered, not only the app's. (The whole two months run in
// make demo-check.)
func TestDemoWiresTheServerToTheSimulator(t *testing.T) {
	prefix := redistest.Prefix()
	vars := map[string]string{"DATABASE_URL": pgtest.MigratedURL(t), "REDIS_URL": redistest.URL(), "FANGPIN_REDIS_PREFIX": prefix}
	c, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Config: c}
	t.Cleanup(env.Close)
	d := &demo{env: env, clock: &demoClock{t: cases.MustDate("2026-11-01").At(8, 0)}, out: t.TempDir(), log: io.Discard}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		if serr := d.stop(); serr != nil {
			t.Log(serr)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		redistest.Empty(t, d.srv.Redis, prefix)
		if err := d.stop(); err != nil {
			t.Error(err)
		}
	})
	// Whoever asks (the county is not loaded here) is answered, privately and in a group.
	n := len(d.sim.SentTo("zhangsan"))
	if _, err := d.sim.SayPrivately(ctx, "zhangsan", "帮助"); err != nil {
		t.Fatal(err)
	}
	if err := simtest.WaitPrivate(ctx, d.sim, "zhangsan", n); err != nil {
		t.Fatalf("no answer to 帮助 in private: %v", err)
	}
	n = len(d.sim.SentInChat("wrCG0001"))
	if _, err := d.sim.SayInGroup(ctx, "wrCG0001", "zhangsan", "帮助"); err != nil {
		t.Fatal(err)
	}
	if err := simtest.WaitInChat(ctx, d.sim, "wrCG0001", n); err != nil {
		t.Fatalf("no answer to 帮助 in a group: %v", err)
	}
}
