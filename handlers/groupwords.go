package handlers

import (
	"context"
	"sync"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// GroupWordStore lists the 病种 and the people's names of the open cases.
type GroupWordStore interface {
	GroupWords(ctx context.Context) (diagnoses, names []string, err error)
}

// GroupWords gives the outbox worker's group guard (bot.GroupSafe) the words it hides:
// cases.DiagnosisWords, the 病种 the departments' rows name, and the open cases' people's
// names with their masked forms. It reads the store at most once per TTL.
type GroupWords struct {
	Store GroupWordStore
	TTL   time.Duration // default 1 minute

	mu    sync.Mutex
	at    time.Time
	words bot.GroupWords
}

var _ bot.GroupWordSource = (*GroupWords)(nil)

// GroupWords implements bot.GroupWordSource.
func (g *GroupWords) GroupWords(ctx context.Context) (bot.GroupWords, error) {
	ttl := g.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.at.IsZero() && time.Since(g.at) < ttl {
		return g.words, nil
	}
	diagnoses, names, err := g.Store.GroupWords(ctx)
	if err != nil {
		return bot.GroupWords{}, err
	}
	w := bot.GroupWords{Hide: append(append([]string(nil), cases.DiagnosisWords...), diagnoses...),
		Names: make(map[string]string, len(names))}
	for _, n := range names {
		w.Names[n] = cases.MaskName(n)
	}
	g.words, g.at = w, time.Now()
	return w, nil
}
