// Package redistest connects tests to the real Redis at FANGPIN_TEST_REDIS (default
// redis://127.0.0.1:6379/0) under a key prefix of their own, deleted when the test ends:
// Redis is shared by parallel test runs, so no test may flush it.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// URL is the test server's address.
func URL() string {
	if u := os.Getenv("FANGPIN_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// New returns a client and a key prefix unique to t; the prefix's keys are deleted and the
// client closed when t ends.
func New(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatal(err)
	}
	r := redis.NewClient(opt)
	if err := r.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v (make test starts it)", URL(), err)
	}
	prefix := Prefix()
	t.Cleanup(func() {
		Empty(t, r, prefix)
		r.Close()
	})
	return r, prefix
}

// Prefix is a fresh key prefix.
func Prefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "fangpin-test:" + hex.EncodeToString(b) + ":"
}

// Empty deletes every key of the prefix, as a Redis restarted without data would have.
func Empty(t testing.TB, r redis.UniversalClient, prefix string) {
	ctx := context.Background()
	iter := r.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := r.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("redistest: delete %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("redistest: scan %s*: %v", prefix, err)
	}
}
