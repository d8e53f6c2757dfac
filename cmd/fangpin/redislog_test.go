package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// go-redis's own lines ("redis: … failed to dial …") came out as plain text among the JSON
// lines of serve and worker; now they are JSON lines of the same log.
func TestRedisClientLinesAreJSON(t *testing.T) {
	var out lockedBuffer
	logRedisTo(bot.NewLogger(&out, slog.LevelInfo))
	r := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	defer r.Close()
	for i := 0; i < 8 && !strings.Contains(out.String(), "redis client"); i++ {
		r.Ping(context.Background())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if out.String() == "" {
		t.Fatal("go-redis logged nothing after failed dials")
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] != "redis client" {
			t.Errorf("line %q is not a JSON line of the log", l)
		}
	}
}
