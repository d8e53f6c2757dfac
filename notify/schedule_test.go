package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fangpin/fangpin/internal/redistest"
	"github.com/fangpin/fangpin/notify"
)

// Eight claimers racing over one schedule get every due id exactly once, and nothing not due.
func TestClaimIsAtomic(t *testing.T) {
	t.Parallel()
	r, prefix := redistest.New(t)
	s := notify.Schedule{R: r, Prefix: prefix}
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var es []notify.Entry
	for i := int64(1); i <= 2000; i++ {
		es = append(es, notify.Entry{ID: i, DueAt: now.Add(-time.Duration(i) * time.Second)})
	}
	es = append(es, notify.Entry{ID: 9999, DueAt: now.Add(time.Hour)})
	if err := s.Add(ctx, es...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ids, err := s.Claim(ctx, now, time.Minute, 37)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					seen[id]++
				}
				mu.Unlock()
				s.Done(ctx, ids...)
			}
		}()
	}
	wg.Wait()
	if len(seen) != 2000 || seen[9999] != 0 {
		t.Fatalf("claimed %d ids (9999 %d times), want the 2000 due ones", len(seen), seen[9999])
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("id %d claimed %d times", id, n)
		}
	}
	// A claim not released comes back when its lease ends, not before.
	s.Add(ctx, notify.Entry{ID: 5, DueAt: now})
	ids, _ := s.Claim(ctx, now, time.Minute, 10)
	if len(ids) != 1 {
		t.Fatalf("claim: %v", ids)
	}
	if ids, _ := s.Claim(ctx, now.Add(30*time.Second), time.Minute, 10); len(ids) != 0 {
		t.Errorf("claimed again within the lease: %v", ids)
	}
	if ids, _ := s.Claim(ctx, now.Add(2*time.Minute), time.Minute, 10); len(ids) != 1 || ids[0] != 5 {
		t.Errorf("after the lease: %v, want [5]", ids)
	}
}
