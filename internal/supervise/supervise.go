// Package supervise keeps a process's background workers running: a worker that returns
// an error or panics (Redis or Postgres away when it starts, a bug) is restarted with an
// exponential back-off, and its state is known to /healthz while it is down.
package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Defaults of the back-off: 1 s doubling to 30 s, reset after a minute of healthy running.
const (
	DefaultMin     = time.Second
	DefaultMax     = 30 * time.Second
	DefaultHealthy = time.Minute
)

// Worker is one background loop; Run returns when ctx ends (nil) or when it fails (an error,
// or a panic), and is then restarted. A Run that returns nil before ctx ends has finished
// and is not restarted.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// Supervisor runs workers and restarts those that stop. The zero value uses the defaults.
type Supervisor struct {
	Log *slog.Logger
	// Min and Max bound the wait before a restart; it doubles with each failure in a row.
	Min, Max time.Duration
	// Healthy is how long a run must last for the next failure to wait Min again.
	Healthy time.Duration
	// Settle is how long a restarted worker must run before it counts as up again (default
	// Min): a worker whose start fails at once is not reported up between its attempts.
	Settle time.Duration

	mu    sync.Mutex
	state map[string]*state
}

type state struct {
	up       bool
	restarts int
	run      int // runs ended so far: a settle timer of an ended run is ignored
}

// Status is what /healthz and the metrics say of one worker.
type Status struct {
	Name     string `json:"name"`
	Up       bool   `json:"up"`
	Restarts int    `json:"restarts"`
}

// Run runs every worker until ctx ends, restarting those that stop, and returns when all
// have returned.
func (s *Supervisor) Run(ctx context.Context, workers []Worker) {
	s.mu.Lock()
	if s.state == nil {
		s.state = map[string]*state{}
	}
	for _, w := range workers {
		s.state[w.Name] = &state{up: true}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.keep(ctx, w)
		}()
	}
	wg.Wait()
}

// keep runs one worker until ctx ends.
func (s *Supervisor) keep(ctx context.Context, w Worker) {
	minWait, maxWait := or(s.Min, DefaultMin), or(s.Max, DefaultMax)
	wait := minWait
	for {
		started := time.Now()
		run := s.runs(w.Name)
		settled := make(chan struct{})
		if s.restarts(w.Name) > 0 {
			// Up again only once this run has lasted Settle.
			go func() {
				select {
				case <-time.After(or(s.Settle, minWait)):
					s.settle(w.Name, run)
				case <-settled:
				case <-ctx.Done():
				}
			}()
		}
		err := s.runOnce(ctx, w)
		close(settled)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) >= or(s.Healthy, DefaultHealthy) {
			wait = minWait
		}
		if err == nil {
			// A worker with nothing to do (no spool configured) returns at once: finished,
			// not failed.
			s.settle(w.Name, run)
			s.log().InfoContext(ctx, "worker finished (后台任务已完成)", "worker", w.Name)
			return
		}
		s.down(w.Name)
		s.log().ErrorContext(ctx, "worker stopped, restarting after back-off (后台任务已停止，稍后自动重启)",
			"worker", w.Name, "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, maxWait)
		s.restarted(w.Name)
		s.log().InfoContext(ctx, "worker restarting (后台任务重新启动)", "worker", w.Name, "restarts", s.restarts(w.Name))
	}
}

// runOnce runs the worker once, turning a panic into an error that names where it
// happened but not the panic's value, which may hold personal data.
func (s *Supervisor) runOnce(ctx context.Context, w Worker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic (%T) at %s", r, panicSite())
		}
	}()
	return w.Run(ctx)
}

// panicSite names the functions the panic came through, innermost first, without values.
func panicSite() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(4, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var names []string
	for len(names) < 4 {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			names = append(names, fmt.Sprintf("%s:%d", f.Function, f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(names, " < ")
}

// down marks a worker's run ended.
func (s *Supervisor) down(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state[name]
	st.up = false
	st.run++
}

func (s *Supervisor) restarted(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state[name].restarts++
}

// settle marks a worker up if the run that lasted Settle is still the current one.
func (s *Supervisor) settle(name string, run int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.state[name]; st.run == run {
		st.up = true
	}
}

func (s *Supervisor) runs(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[name].run
}

func (s *Supervisor) restarts(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[name].restarts
}

// Statuses lists every worker by name.
func (s *Supervisor) Statuses() []Status {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.state))
	for name, st := range s.state {
		out = append(out, Status{Name: name, Up: st.up, Restarts: st.restarts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Down names the workers that are down now, sorted.
func (s *Supervisor) Down() []string {
	var down []string
	for _, st := range s.Statuses() {
		if !st.Up {
			down = append(down, st.Name)
		}
	}
	return down
}

func (s *Supervisor) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
