package supervise

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFailingAndPanickingWorkersAreRestartedAndReportedDown(t *testing.T) {
	var failing, panicking, steady, idle atomic.Int32
	allow := make(chan struct{}) // closed: the failing worker may start
	workers := []Worker{
		{"failing", func(ctx context.Context) error {
			failing.Add(1)
			select {
			case <-allow:
			default:
				return errors.New("redis: connection refused")
			}
			<-ctx.Done()
			return nil
		}},
		{"panicking", func(ctx context.Context) error {
			if panicking.Add(1) < 3 {
				// A value that must not reach the log.
				panic("王试一 990101197001010016")
			}
			<-ctx.Done()
			return nil
		}},
		{"steady", func(ctx context.Context) error { steady.Add(1); <-ctx.Done(); return nil }},
		{"idle", func(ctx context.Context) error { idle.Add(1); return nil }}, // nothing to do
	}
	var logged syncWriter
	s := &Supervisor{Log: slog.New(slog.NewTextHandler(&logged, nil)), Min: 10 * time.Millisecond, Max: 40 * time.Millisecond, Settle: 30 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, workers); close(done) }()

	waitUntil(t, "the failing worker to be retried and reported down", func() bool {
		return failing.Load() >= 4 && len(s.Down()) == 1 && s.Down()[0] == "failing"
	})
	waitUntil(t, "the panicking worker to run a third time and settle", func() bool {
		for _, st := range s.Statuses() {
			if st.Name == "panicking" {
				return st.Up && st.Restarts == 2
			}
		}
		return false
	})
	close(allow)
	waitUntil(t, "every worker up", func() bool { return len(s.Down()) == 0 })
	if n := steady.Load(); n != 1 {
		t.Errorf("the steady worker ran %d times, want 1", n)
	}
	if n := idle.Load(); n != 1 {
		t.Errorf("a worker that finished was run %d times, want 1", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	if out := logged.String(); !strings.Contains(out, "panicking") || strings.Contains(out, "王试一") || strings.Contains(out, "990101197001010016") {
		t.Errorf("log should name the panicking worker but not the panic's value:\n%s", out)
	}
}

// The wait doubles while the worker keeps failing, and never passes Max.
func TestBackoffDoublesUpToMax(t *testing.T) {
	var starts []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Supervisor{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Min: 20 * time.Millisecond, Max: 80 * time.Millisecond}
	s.Run(ctx, []Worker{{"w", func(context.Context) error {
		starts = append(starts, time.Now())
		if len(starts) == 6 {
			cancel()
			return nil
		}
		return errors.New("down")
	}}})
	want := []time.Duration{20, 40, 80, 80, 80}
	for i, w := range want {
		gap := starts[i+1].Sub(starts[i])
		if w := w * time.Millisecond; gap < w || gap > w+200*time.Millisecond {
			t.Errorf("wait %d: %v, want about %v", i+1, gap, w)
		}
	}
}

type syncWriter struct {
	mu  sync.Mutex
	buf []byte
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
