package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/internal/simtest"
)

// The end-to-end test's names for the simulator helpers of internal/simtest (shared with
// the demo's scenario), failing the test where the helper returns an error.

type batchAnswer = simtest.PushAnswer

func pushMultipart(t *testing.T, base, token string, cat cases.Category, filename string, file []byte) batchAnswer {
	t.Helper()
	a, err := simtest.PushFile(context.Background(), base, token, cat, "2026-11", filename, file)
	if err != nil {
		t.Fatalf("push %s: %v", cat, err)
	}
	return a
}

func pushRequest(t *testing.T, base, token, contentType string, body io.Reader) batchAnswer {
	t.Helper()
	a, err := simtest.Push(context.Background(), base, token, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// textOf is what a recorded message says, however it was sent.
func textOf(m wecomtest.Sent) string { return simtest.TextOf(m) }

func waitFor(t *testing.T, ctx context.Context, sim *wecomtest.Server, what string, cond func() bool) {
	t.Helper()
	if err := sim.Wait(ctx, func([]wecomtest.Sent) bool { return cond() }); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// replyTo waits for a private text to user after the first `after` messages and returns it.
func replyTo(t *testing.T, ctx context.Context, sim *wecomtest.Server, user string, after int) string {
	t.Helper()
	return replyWith(t, ctx, sim, user, after, "")
}

// replyWith is replyTo for the first text that contains marker.
func replyWith(t *testing.T, ctx context.Context, sim *wecomtest.Server, user string, after int, marker string) string {
	t.Helper()
	got, err := simtest.Reply(ctx, sim, user, after, marker)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func hasCategory(cs []cases.Category, c cases.Category) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// groupMessages are the dispatch lists a township's group received.
func groupMessages(sim *wecomtest.Server, town string) []wecomtest.Sent {
	var out []wecomtest.Sent
	for _, m := range simtest.GroupMessages(sim, simtest.Group{AppChat: e2eAppChats[town], WebhookKey: e2eWebhooks[town]}) {
		if strings.Contains(m.Content, "防返贫预警交办") {
			out = append(out, m)
		}
	}
	return out
}

// mentions reports whether a group message @s userid.
func mentions(msgs []wecomtest.Sent, userid string) bool {
	return simtest.Mentions(msgs, userid, e2eNames[userid])
}

// roundSummary is the private summary of a round to user.
func roundSummary(sim *wecomtest.Server, user string) string {
	return simtest.RoundSummary(sim, user)
}

// cardFor is user's card on a case: the round's, or one asked for with 表单 (a cadre who is
// not the case's responsible one gets cards on request).
func cardFor(t *testing.T, ctx context.Context, sim *wecomtest.Server, user, no string) map[string]any {
	t.Helper()
	if c := cardOf(sim, user, no); c != nil {
		return c
	}
	n := len(sim.SentTo(user))
	sim.SayPrivately(ctx, user, "表单 "+no)
	// Wait for the text reply too, so that it is not taken for the answer to what follows.
	replyWith(t, ctx, sim, user, n, "核查表单私信发给您")
	waitFor(t, ctx, sim, "card on request for "+user, func() bool { return cardOf(sim, user, no) != nil })
	return cardOf(sim, user, no)
}

// cardFormLink is the path of the H5 form a card links to ("" if none).
func cardFormLink(card map[string]any) string {
	u, err := url.Parse(simtest.CardFormLink(card))
	if err != nil || u.Path == "" {
		return ""
	}
	return u.RequestURI()
}

// cardOf is the mini-form card on a case sent to user.
func cardOf(sim *wecomtest.Server, user, no string) map[string]any {
	return simtest.Card(sim, user, no)
}

// syncBuffer is a bytes.Buffer for loggers writing from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type httpAnswer struct {
	status int
	body   string
}

func httpDo(t *testing.T, method, u string, form url.Values) httpAnswer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpAnswer{resp.StatusCode, string(b)}
}
