package notify_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/notify"
)

// capturingSender keeps what it is asked to send, then queues it like the real one.
type capturingSender struct {
	countingSender
	mu sync.Mutex
	ds []notify.Delivery
}

func (s *capturingSender) Send(ctx context.Context, tx cases.Tx, ds ...notify.Delivery) error {
	s.mu.Lock()
	s.ds = append(s.ds, ds...)
	s.mu.Unlock()
	return s.countingSender.Send(ctx, tx, ds...)
}

// A push nudge goes to each liaison of the department with that liaison's own upload link;
// the late notice to the office carries none.
func TestPushNudgeCarriesEachLiaisonsUploadLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	org := parseOrg(t, orgYAML+"  - {userid: liaison2, name: 钱七, role: liaison, department: 医保局}\n")
	if _, err := f.db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	cs := &capturingSender{countingSender: countingSender{calls: map[string]int{}}}
	w := f.worker()
	w.Sender = cs
	w.UploadLink = func(u string) string { return "https://fp.example/upload/" + u + "?e=1&s=x" }
	f.clock.Set(cases.MustDate("2026-11-01").At(8, 0))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(cases.MustDate("2026-11-03").At(9, 0))
	if _, err := w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range cs.ds {
		if !strings.Contains(d.Text, "数据推送提醒") {
			continue
		}
		if len(d.Users) != 1 {
			t.Fatalf("a nudge with a link went to %v at once", d.Users)
		}
		got[d.Users[0]] = d.Text
	}
	for _, u := range []string{"wangwu", "liaison2"} {
		if !strings.Contains(got[u], "https://fp.example/upload/"+u+"?") {
			t.Errorf("nudge to %s: %q", u, got[u])
		}
	}
	if len(got) != 2 {
		t.Errorf("nudges: %v", got)
	}
	// Late: the liaisons get their links, the office none.
	f.clock.Set(cases.MustDate("2026-11-06").At(9, 0))
	cs.ds = nil
	if _, err := w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, d := range cs.ds {
		switch {
		case strings.Contains(d.Text, "推送逾期提醒"):
			late++
			if len(d.Users) != 1 || !strings.Contains(d.Text, "/upload/"+d.Users[0]+"?") {
				t.Errorf("late notice to %v: %q", d.Users, d.Text)
			}
		case strings.Contains(d.Text, "【推送逾期】") && strings.Contains(d.Text, "/upload/"):
			t.Errorf("the office's notice carries a link: %q", d.Text)
		}
	}
	if late != 2 {
		t.Errorf("%d late notices to liaisons, want 2: %+v", late, cs.ds)
	}
}
