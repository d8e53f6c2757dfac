package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
)

// pgProxy forwards TCP to Postgres and can cut it off, as an outage does.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
	// refused counts the connections turned away while down: the server tried the database.
	refused atomic.Int64
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				p.refused.Add(1)
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// cut drops every connection and refuses new ones until restore.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *pgProxy) restore() { p.mu.Lock(); p.down = false; p.mu.Unlock() }

// While Postgres is unreachable a cadre's message still gets WeCom its 200 (it waits in
// the spool); once Postgres is back the message is handled and answered, once.
func TestServeKeepsCallbacksThroughAPostgresOutage(t *testing.T) {
	u, err := url.Parse(pgtest.MigratedURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPGProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	sim := wecomtest.NewServer()
	t.Cleanup(sim.Close)
	_, _, s := startServeOn(t, sim, u.String(), bot.NewLogger(io.Discard, slog.LevelError), func(s *Server) {
		s.Inbox.Poll = 50 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	proxy.cut()
	if _, err := sim.SayPrivately(ctx, "zhangsan", "帮助"); err != nil {
		t.Fatalf("callback during the outage: %v (want 200 from the spool)", err)
	}
	if n := s.Spool.Len(); n != 1 {
		t.Fatalf("spool holds %d messages, want 1", n)
	}
	// Barrier: the server has come for the database twice since the message was spooled
	// (the inbox polls every 50 ms) and been refused, so it had its chance to answer.
	for since := proxy.refused.Load(); proxy.refused.Load() < since+2 && ctx.Err() == nil; {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(sim.SentTo("zhangsan")); n != 0 {
		t.Fatalf("%d replies while the database was down", n)
	}

	proxy.restore()
	err = sim.Wait(ctx, func([]wecomtest.Sent) bool { return len(sim.SentTo("zhangsan")) > 0 })
	if err != nil {
		t.Fatalf("no reply after the database came back: %v", err)
	}
	// Barrier: the spool is flushed into the inbox and both queues are empty, so a second
	// answer would have been sent by now.
	for s.Spool.Len() != 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	pgtest.WaitQueuesEmpty(t, s.DB, 10*time.Second)
	replies := sim.SentTo("zhangsan")
	if len(replies) != 1 || !strings.Contains(replies[0].Content, "张三您好") {
		t.Errorf("replies after the outage: %d, first %q; want one answer to 帮助", len(replies), replies[0].Content)
	}
	if n := s.Spool.Len(); n != 0 {
		t.Errorf("spool still holds %d messages", n)
	}
}
