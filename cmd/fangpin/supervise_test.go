package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/redistest"
)

// tcpProxy forwards 127.0.0.1:<port> to a target and can be closed and reopened on the same
// port: Redis "goes away" and "comes back" for the server behind it.
type tcpProxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{target: target, addr: "127.0.0.1:0"}
	p.open(t)
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) open(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// close stops listening and cuts every forwarded connection.
func (p *tcpProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// getHealth is GET /healthz's status and JSON.
func getHealth(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("healthz JSON: %v", err)
	}
	return resp.StatusCode, body
}

// pollHealth polls /healthz until cond holds, failing after a deadline.
func pollHealth(t *testing.T, base, what string, cond func(int, map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := getHealth(t, base)
		if cond(code, body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: last /healthz %d %v", what, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func workerState(body map[string]any, name string) string {
	ws, _ := body["workers"].(map[string]any)
	s, _ := ws[name].(string)
	return s
}

// Issue 27: serve started while Redis is away keeps running; its reminder worker, which
// needs Redis to start, is down (and /healthz says 503 naming it) until Redis answers, then
// it is restarted and /healthz says 200.
func TestServeRestartsReminderWorkerWhenRedisReturns(t *testing.T) {
	ropt, err := redis.ParseURL(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, ropt.Addr)
	proxy.close() // Redis is away when serve starts

	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	prefix := redistest.Prefix()
	for k, v := range map[string]string{"DATABASE_URL": pgtest.MigratedURL(t), "REDIS_URL": "redis://" + proxy.addr + "/" + strconv.Itoa(ropt.DB),
		"FANGPIN_REDIS_PREFIX": prefix, "FANGPIN_ADDR": ln.Addr().String(), "FANGPIN_PUBLIC_URL": base,
		"WECOM_CORP_ID": sim.CorpID, "WECOM_AGENT_ID": strconv.FormatInt(sim.AgentID, 10), "WECOM_SECRET": sim.Secret,
		"WECOM_TOKEN": sim.Token, "WECOM_AES_KEY": sim.AESKey, "WECOM_API_BASE": sim.URL, "FANGPIN_SPOOL_DIR": t.TempDir()} {
		t.Setenv(k, v)
	}
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := NewServer(ctx, env, bot.NewLogger(io.Discard, slog.LevelError))
	if err != nil {
		t.Fatalf("serve must start while Redis is away: %v", err)
	}
	t.Cleanup(s.Close)
	s.Supervisor.Min, s.Supervisor.Max, s.Supervisor.Settle = 20*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
	s.AddReminders()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	body := pollHealth(t, base, "503 naming the reminder worker", func(code int, b map[string]any) bool {
		return code == http.StatusServiceUnavailable && workerState(b, "reminders") == "down"
	})
	if body["redis"] != "unreachable" || body["postgres"] != "ok" || workerState(body, "inbox") != "ok" {
		t.Errorf("healthz while Redis is away: %v", body)
	}

	proxy.open(t) // Redis is back, on the same address
	body = pollHealth(t, base, "200 once the reminder worker runs again", func(code int, b map[string]any) bool {
		return code == http.StatusOK
	})
	if workerState(body, "reminders") != "ok" || body["redis"] != "ok" || len(body["down"].([]any)) != 0 {
		t.Errorf("healthz after Redis returned: %v", body)
	}
	// The restarted worker did its start: the month's reminders are in Redis's schedule.
	rdb, _ := redistest.New(t)
	t.Cleanup(func() { redistest.Empty(t, rdb, prefix) })
	keys, err := rdb.Keys(context.Background(), prefix+"reminders:*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("no reminder schedule under %s after the restart (%v)", prefix, err)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(mb), `fangpin_worker_up{worker="reminders"} 1`) ||
		strings.Contains(string(mb), `fangpin_worker_restarts_total{worker="reminders"} 0`) {
		t.Errorf("metrics should show the reminder worker up after restarts:\n%s", grepLines(string(mb), "fangpin_worker_"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve stopped with %v", err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// `fangpin worker` (the real binary) started while Redis is away keeps running, says 503 on
// --health-addr naming its reminder worker, and 200 once Redis is back; SIGTERM stops it.
func TestWorkerCommandRestartsWhenRedisReturns(t *testing.T) {
	ropt, err := redis.ParseURL(redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, ropt.Addr)
	proxy.close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	healthAddr := free.Addr().String()
	free.Close()
	prefix := redistest.Prefix()
	cmd := exec.Command(fangpinBinary(t), "worker", "--health-addr", healthAddr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+pgtest.MigratedURL(t), "FANGPIN_REDIS_PREFIX="+prefix,
		"REDIS_URL=redis://"+proxy.addr+"/"+strconv.Itoa(ropt.DB))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	base := "http://" + healthAddr
	// Until it listens, the GET fails: poll for the listener first.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker never served /healthz:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pollHealth(t, base, "503 naming the reminder worker", func(code int, b map[string]any) bool {
		return code == http.StatusServiceUnavailable && workerState(b, "reminders") == "down"
	})
	proxy.open(t)
	// The back-off is the production one (1 s, 2 s, …): the deadline allows for it.
	pollHealth(t, base, "200 once Redis is back", func(code int, b map[string]any) bool {
		return code == http.StatusOK && workerState(b, "reminders") == "ok"
	})
	if !strings.Contains(stderr.String(), "后台任务已停止，稍后自动重启") {
		t.Errorf("the stop was not logged:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("worker exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop on SIGTERM")
	}
	rdb, _ := redistest.New(t)
	redistest.Empty(t, rdb, prefix)
}
