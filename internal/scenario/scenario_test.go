package scenario

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
)

// The script's days: pushes by the 5th (民政局 on the 6th), 交办 on the 10th, and the
// pushes of a day come before what else happens on it.
func TestScriptDays(t *testing.T) {
	count := func(date string) int {
		n := 0
		for _, s := range Script() {
			if s.When(cases.MustDate(date)) {
				n++
			}
		}
		return n
	}
	for date, want := range map[string]int{
		"2026-11-01": 0, "2026-11-02": 2, "2026-11-04": 4, "2026-12-01": 1, "2026-11-06": 1, "2026-11-10": 1, "2026-12-10": 1,
		"2026-11-16": 1, "2026-11-18": 1, "2026-11-19": 1, "2026-12-02": 3, "2026-12-11": 1, "2026-12-14": 1, "2026-12-29": 1, "2026-12-30": 0,
	} {
		if got := count(date); got != want {
			t.Errorf("%s: %d steps, want %d", date, got, want)
		}
	}
	for _, p := range Pushes {
		if p.Day < 1 || p.Day > 6 || Tokens[p.Dept] == "" {
			t.Errorf("push %+v: day or token", p)
		}
	}
	// On 2026-12-02 the two pushes run before 录入.
	s := Script()
	last := -1
	for i, st := range s {
		if st.When(cases.MustDate("2026-12-02")) {
			if i < len(Pushes) && last >= len(Pushes) {
				t.Errorf("a push after another step on 2026-12-02")
			}
			last = i
		}
	}
}

type fakeStore struct {
	pending []int // PendingMessages answers these in turn, then 0
	sent    map[string]int
	err     error
}

func (f *fakeStore) Cases(context.Context, string, ...cases.Status) ([]cases.Case, error) {
	return nil, nil
}
func (f *fakeStore) UsersOf(context.Context, cases.Role, string, string) ([]string, error) {
	return nil, nil
}
func (f *fakeStore) OpenTasks(context.Context, string) ([]cases.Task, error) { return nil, nil }
func (f *fakeStore) GroupChat(context.Context, string) (string, error)       { return "", nil }
func (f *fakeStore) PendingMessages(context.Context) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if len(f.pending) == 0 {
		return 0, nil
	}
	n := f.pending[0]
	f.pending = f.pending[1:]
	return n, nil
}
func (f *fakeStore) SentReminders(context.Context) (map[string]int, error) { return f.sent, f.err }

type fakeOffice struct{ ledgers, tables []string }

func (f *fakeOffice) DrawSpotChecks(context.Context, string, float64, int64) ([]string, error) {
	return nil, nil
}
func (f *fakeOffice) ExportLedger(_ context.Context, month, dir string) (string, error) {
	f.ledgers = append(f.ledgers, month+" "+dir)
	return filepath.Join(dir, month+".xlsx"), nil
}
func (f *fakeOffice) PrintTownships(_ context.Context, month string) error {
	f.tables = append(f.tables, month)
	return nil
}

// Drain polls until the outbox is empty, and reports the store's errors.
func TestDrain(t *testing.T) {
	st := &fakeStore{pending: []int{5, 3, 1}}
	p := &Play{Config: Config{Store: st}}
	if err := p.Drain(context.Background()); err != nil || len(st.pending) != 0 {
		t.Fatalf("drain: %v, %v left", err, st.pending)
	}
	st.err = errors.New("db down")
	if err := p.Drain(context.Background()); !errors.Is(err, st.err) {
		t.Errorf("drain with a failing store: %v", err)
	}
	st.err = nil
	st.pending = []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	if err := p.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("drain past its context: %v", err)
	}
}

// The month-end exports and prints every month played, then counts reminders by kind and
// the simulator's messages.
func TestFinish(t *testing.T) {
	sim := wecomtest.NewServer()
	defer sim.Close()
	office := &fakeOffice{}
	var out bytes.Buffer
	dir := t.TempDir()
	p := &Play{Config: Config{Sim: sim, Store: &fakeStore{sent: map[string]int{"push": 6, "case_due": 68}}, Office: office,
		Dir: dir, Stdout: &out, From: cases.MustDate("2026-11-01"), To: cases.MustDate("2026-12-31")}}
	if err := p.finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-11 " + dir, "2026-12 " + dir}
	if strings.Join(office.ledgers, "|") != strings.Join(want, "|") || strings.Join(office.tables, ",") != "2026-11,2026-12" {
		t.Errorf("ledgers %q tables %q", office.ledgers, office.tables)
	}
	if !strings.HasSuffix(out.String(), "\n已发送提醒：到期提醒 68，推送提醒 6\n模拟器收到机器人消息：群聊 0 条，私聊 0 条\n") ||
		!strings.Contains(out.String(), "台账："+filepath.Join(dir, "2026-12.xlsx")+"\n") {
		t.Errorf("output:\n%s", out.String())
	}
}
