package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/orgfile"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/cases/postgres/pgtest"
	"github.com/fangpin/fangpin/internal/redistest"
	"github.com/fangpin/fangpin/notify"
	"github.com/fangpin/fangpin/notify/botsend"
)

// clock is the injected clock: the test sets it, everyone reads it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// countingSender counts every Send per key, across workers, then queues in the outbox.
type countingSender struct {
	mu    sync.Mutex
	calls map[string]int
}

func (s *countingSender) Send(ctx context.Context, tx cases.Tx, ds ...notify.Delivery) error {
	s.mu.Lock()
	for _, d := range ds {
		s.calls[d.Key]++
	}
	s.mu.Unlock()
	noteQueued(ctx, ds)
	return botsend.Outbox{}.Send(ctx, tx, ds...)
}

const orgYAML = `
townships:
  - {name: 城关镇, chat: {appchat: wrCG0001}}
  - {name: 河口乡, chat: {webhook_key: 6f2a-demo-key}}
departments:
  - {name: 医保局, categories: [medical, assurance]}
  - {name: 应急管理局, categories: [disaster]}
users:
  - {userid: zhangsan, name: 张三, role: cadre, township: 城关镇}
  - {userid: lisi, name: 李四, role: cadre, township: 河口乡}
  - {userid: wangwu, name: 王五, role: liaison, department: 医保局}
  - {userid: zhaoliu, name: 赵六, role: office}
  - {userid: sunqi, name: 孙七, role: supervisor}
`

type fixture struct {
	t      testing.TB
	db     *postgres.DB
	clock  *clock
	redis  redis.UniversalClient
	prefix string
	sender *countingSender
}

func newFixture(t testing.TB) *fixture {
	db := pgtest.New(t)
	r, prefix := redistest.New(t)
	f := &fixture{t: t, db: db, clock: &clock{}, redis: r, prefix: prefix, sender: &countingSender{calls: map[string]int{}}}
	db.Now = f.clock.Now
	db.AddHooks(postgres.Hooks{Case: []cases.CaseHook{notify.CaseHook(db)}, Task: []cases.TaskHook{notify.TaskHook(db)}})
	org := parseOrg(t, orgYAML)
	if _, err := db.ApplyOrg(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	return f
}

func parseOrg(t testing.TB, y string) *cases.Org {
	o, err := orgfile.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) worker() *notify.Worker {
	return &notify.Worker{DB: f.db, Redis: f.redis, Prefix: f.prefix, Sender: f.sender, Now: f.clock.Now, Parallel: 2}
}

// dispatch creates a case as the dispatch round does: in one transaction, with the hooks
// called with a zero "before".
func (f *fixture) dispatch(round, township, head, household string, day cases.Date) cases.Case {
	f.t.Helper()
	ctx := context.Background()
	var c cases.Case
	err := f.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := postgres.EnsureRound(ctx, tx, round, day); err != nil {
			return err
		}
		n := postgres.NewCase{Round: round, Kind: cases.KindNew, HouseholdKey: household, HeadName: head,
			HeadIDNumber: "110101199003071234", Village: "东关村", Township: township,
			DispatchedAt: f.clock.Now(), DueOn: f.db.Cal.AddWorkingDays(day, 20)}
		id, no, err := postgres.InsertCase(ctx, tx, f.db.Keys, n, cases.System, "test")
		if err != nil {
			return err
		}
		c = cases.Case{ID: id, No: no, Round: round, Kind: n.Kind, HouseholdKey: household, HeadName: head,
			Village: n.Village, Township: township, Status: cases.StatusDispatched, DispatchedAt: n.DispatchedAt, DueOn: n.DueOn}
		if err := f.db.RunCaseHooks(ctx, tx, cases.Case{}, c); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) push(dept, category, period string) {
	f.t.Helper()
	_, err := f.db.Exec(`INSERT INTO batches (id, department_id, category, period, sha256, received_at)
		VALUES ($1, (SELECT id FROM departments WHERE name = $2), $3, $4, $1, $5)`,
		fmt.Sprintf("b-%s-%s-%s", dept, category, period), dept, category, period, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) transition(no string, actor cases.Actor, cmd cases.Command) {
	f.t.Helper()
	if _, err := f.db.Transition(context.Background(), no, actor, cmd, "test"); err != nil {
		f.t.Fatalf("%s %s: %v", cmd.Action, no, err)
	}
}

// sent lists the sent reminders as "day kind target case late".
func (f *fixture) sent() []string {
	f.t.Helper()
	rows, err := notify.List(context.Background(), f.db, "")
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.State != "sent" || r.Kind == string(cases.RemindDigest) {
			continue
		}
		s := fmt.Sprintf("%s %s %s", cases.DateOf(r.DueAt), r.Kind, r.Target)
		if r.CaseNo != "" {
			s += " " + r.CaseNo
		}
		if r.Late {
			s += " late"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (f *fixture) pendingOf(caseID int64) int {
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM reminders WHERE case_id = $1 AND state = 'pending'`, caseID); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestPlayNovemberDecember plays two months day by day with two workers: the reminders sent
// are exactly those of docs/reminders.md, on the right working days, once each; Redis is emptied and
// the workers are down for a day and a half in December, and nothing is lost or doubled.
func TestPlayNovemberDecember(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	w1, w2 := f.worker(), f.worker()
	office := cases.Actor{UserID: "zhaoliu", Role: cases.RoleOffice}
	_ = office
	zhangsan := cases.Actor{UserID: "zhangsan", Role: cases.RoleCadre, Township: "城关镇"}
	lisi := cases.Actor{UserID: "lisi", Role: cases.RoleCadre, Township: "河口乡"}
	sunqi := cases.Actor{UserID: "sunqi", Role: cases.RoleSupervisor}

	f.clock.Set(cases.MustDate("2026-11-01").At(8, 0))
	for _, w := range []*notify.Worker{w1, w2} {
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var a, b cases.Case
	down := false
	for day := cases.MustDate("2026-11-01"); !day.After(cases.MustDate("2026-12-31")); day = day.AddDays(1) {
		switch day.String() {
		case "2026-12-03": // everything goes down before 09:00 and Redis loses its data
			down = true
			redistest.Empty(t, f.redis, f.prefix)
		case "2026-12-04": // back at 10:30: rebuild, the 12-03 and 12-04 reminders go out late
			f.clock.Set(day.At(10, 30))
			n, err := w1.Rebuild(ctx)
			if err != nil || n == 0 {
				t.Fatalf("rebuild: %d, %v", n, err)
			}
			down = false
		}
		if !down {
			if day.String() != "2026-12-04" {
				f.clock.Set(day.At(9, 0))
			}
			var wg sync.WaitGroup
			for _, w := range []*notify.Worker{w1, w2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := w.Tick(ctx); err != nil {
						t.Errorf("%s: tick: %v", day, err)
					}
				}()
			}
			wg.Wait()
		}
		f.clock.Set(day.At(15, 0))
		switch day.String() {
		case "2026-11-04": // 医保局 pushes October's data after the 3rd's reminder: no reminder on the 6th
			f.push("医保局", "medical", "2026-10")
		case "2026-11-10": // the November round
			a = f.dispatch("2026-11", "城关镇", "张小明", "H1", day)
			b = f.dispatch("2026-11", "河口乡", "李大", "H2", day)
			if a.DueOn.String() != "2026-12-08" {
				t.Fatalf("due_on %s", a.DueOn)
			}
		case "2026-12-02": // 河口乡 closes its case: its remaining reminders are cancelled
			f.transition(b.No, lisi, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: "家庭收入稳定，无返贫风险"})
			if n := f.pendingOf(b.ID); n != 0 {
				t.Errorf("closed case %s still has %d pending reminders", b.No, n)
			}
		case "2026-12-14": // 城关镇 closes, overdue
			f.transition(a.No, zhangsan, cases.Command{Action: cases.ActVerify, Result: cases.ResultExclude, Reason: "家庭收入稳定，无返贫风险"})
			if n := f.pendingOf(a.ID); n != 0 {
				t.Errorf("closed case %s still has %d pending reminders", a.No, n)
			}
		case "2026-12-15": // a spot check returns it: due 10 working days later, 12-29
			f.transition(a.No, sunqi, cases.Command{Action: cases.ActSpotFail, Reason: "未实际入户核查"})
		}
	}
	A, B := a.No, b.No
	want := []string{
		"2026-11-03 push liaisons:医保局",
		"2026-11-09 dispatch office", // the 8th is a Sunday; the round came on the 10th
		"2026-11-25 month_end group:城关镇",
		"2026-11-25 month_end group:河口乡",
		"2026-11-30 feedback office", // the month's last working day: who still owes results
		"2026-12-01 case_due group:城关镇 " + A,
		"2026-12-01 case_due group:河口乡 " + B,
		"2026-12-03 push liaisons:医保局 late", // sent on recovery, 12-04 10:30
		"2026-12-04 case_due group:城关镇 " + A + " late",
		"2026-12-07 case_due group:城关镇 " + A,
		"2026-12-08 push_late liaisons:医保局", // the 5th is a Saturday: deadline Monday the 7th, late the day after
		"2026-12-08 push_late office",
		"2026-12-08 case_due group:城关镇 " + A,
		"2026-12-08 dispatch office", // no December round
		"2026-12-09 case_escalate office " + A,
		"2026-12-09 case_overdue group:城关镇 " + A,
		"2026-12-10 case_overdue group:城关镇 " + A,
		"2026-12-11 case_overdue group:城关镇 " + A,
		"2026-12-14 case_overdue group:城关镇 " + A, // closed that afternoon
		// returned on 12-15, due 12-29
		"2026-12-22 case_due group:城关镇 " + A,
		"2026-12-25 case_due group:城关镇 " + A,
		"2026-12-28 case_due group:城关镇 " + A,
		// A is November's, returned and still without a result: the month-end reminder lists
		// it although 城关镇 has no December case (docs/reminders.md, carry-over).
		"2026-12-28 month_end group:城关镇",
		"2026-12-29 case_due group:城关镇 " + A,
		"2026-12-30 case_escalate office " + A,
		"2026-12-30 case_overdue group:城关镇 " + A,
		"2026-12-31 case_overdue group:城关镇 " + A,
		"2026-12-31 feedback office",
		// January's cycle is planned ahead: 2027-01-05 is the deadline for December's data
		// (1 January is a holiday), so the nudge goes 2 working days before it.
		"2026-12-31 push liaisons:医保局",
	}
	sort.Strings(want)
	got := f.sent()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent reminders:\n%s\n\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Each reminder was handed to the bot exactly once, by one of the two workers.
	for k, n := range f.sender.calls {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
	// Group reminders went out as one digest a township a day: as many messages as reminders
	// here, where each township has one case — but on 12-28 城关镇's month-end reminder shares
	// the day's digest with A's case_due.
	if len(f.sender.calls) != len(want)-1 {
		t.Errorf("%d sends, want %d", len(f.sender.calls), len(want)-1)
	}
	// ... and is in the outbox once, under its key, to the right chat.
	var out []struct {
		Key     string          `db:"idem_key"`
		Channel string          `db:"channel"`
		Target  string          `db:"target"`
		Payload json.RawMessage `db:"payload"`
	}
	pgtest.OpenOutbox(t, f.db) // bodies are sealed (docs/encryption.md)
	if err := f.db.Select(&out, `SELECT idem_key, channel, target, payload FROM outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(want)-1 {
		t.Errorf("outbox has %d messages, want %d", len(out), len(want)-1)
	}
	channels := map[string]int{}
	for _, m := range out {
		if !strings.HasPrefix(m.Key, "reminder:") {
			t.Errorf("outbox key %s", m.Key)
		}
		channels[m.Channel+" "+m.Target]++
		var p struct {
			Body struct {
				Content   string   `json:"content"`
				Mentioned []string `json:"mentioned_list"`
			} `json:"body"`
		}
		json.Unmarshal(m.Payload, &p)
		text := p.Body.Content
		if m.Channel == "appchat" || m.Channel == "webhook" {
			for _, secret := range []string{"110101199003071234", "张小明", "李大"} {
				if strings.Contains(text, secret) {
					t.Errorf("group text shows %q: %s", secret, text)
				}
			}
			if !strings.Contains(text, "张*明") && !strings.Contains(text, "李*") {
				t.Errorf("group text names nobody: %s", text)
			}
		}
		if m.Channel == "webhook" && strings.Join(p.Body.Mentioned, ",") != "lisi" {
			t.Errorf("webhook message should @ lisi: %v", p.Body.Mentioned)
		}
	}
	feedback := 0
	for _, m := range out {
		if m.Target == "zhaoliu" && strings.Contains(string(m.Payload), "结果反馈情况") {
			feedback++
		}
	}
	if feedback != 2 {
		t.Errorf("the office got %d month-end feedback summaries, want 2 (30 Nov, 31 Dec)", feedback)
	}
	// December's month-end reminder of 城关镇 carries November's case A over.
	carried := false
	for _, m := range out {
		if m.Target == "wrCG0001" && strings.Contains(string(m.Payload), "往月交办") && strings.Contains(string(m.Payload), A) {
			carried = true
		}
	}
	if !carried {
		t.Errorf("no month-end reminder of 城关镇 lists November's %s among earlier months' cases", A)
	}
	wantChannels := map[string]int{
		"appchat wrCG0001":      15,
		"webhook 6f2a-demo-key": 2,
		"message wangwu":        4,
		"message zhaoliu":       7,
	}
	for k, n := range wantChannels {
		if channels[k] != n {
			t.Errorf("%s: %d messages, want %d (all: %v)", k, channels[k], n, channels)
		}
	}

	// SentByKind counts what List shows as sent.
	rows, _ := notify.List(ctx, f.db, "")
	wantByKind := map[string]int{}
	for _, r := range rows {
		if r.State == "sent" {
			wantByKind[r.Kind]++
		}
	}
	if got, err := notify.SentByKind(ctx, f.db); err != nil || !reflect.DeepEqual(got, wantByKind) || len(got) < 3 {
		t.Errorf("SentByKind = %v, %v; want %v", got, err, wantByKind)
	}

	// Conditional reminders whose reason went away were cancelled, not sent.
	var cancelled []string
	for _, r := range rows {
		if r.State == "cancelled" && r.CaseNo == "" && r.Kind != string(cases.RemindDigest) {
			cancelled = append(cancelled, fmt.Sprintf("%s %s %s", cases.DateOf(r.DueAt), r.Kind, r.Target))
		}
	}
	sort.Strings(cancelled)
	wantCancelled := []string{
		"2026-11-06 push_late liaisons:医保局",
		"2026-11-06 push_late office",
		// 结果运用: no case of these rounds holds a department's pushed warning
		"2026-11-30 results liaisons:医保局",
		"2026-11-30 results liaisons:应急管理局",
		"2026-12-28 month_end group:河口乡", // its only case closed in November
		"2026-12-31 results liaisons:医保局",
		"2026-12-31 results liaisons:应急管理局",
	}
	if strings.Join(cancelled, "\n") != strings.Join(wantCancelled, "\n") {
		t.Errorf("cancelled month reminders:\n%s\nwant:\n%s", strings.Join(cancelled, "\n"), strings.Join(wantCancelled, "\n"))
	}
	// The only case reminder left is the returned case's next overdue day, 2027-01-04; the rest
	// of January's cycle (planned ahead) waits.
	var pending []notify.Row
	for _, r := range rows {
		if r.State == "pending" && r.CaseNo != "" && r.Kind != string(cases.RemindDigest) {
			pending = append(pending, r)
		}
	}
	if len(pending) != 1 || cases.DateOf(pending[0].DueAt).String() != "2027-01-04" || pending[0].Kind != "case_overdue" {
		t.Errorf("pending after the play: %+v", pending)
	}
}

// A late push of an old period does not silence this month's nudge: a push counts for the
// period it names (cases.Pushed), as in the assessment.
func TestOldPeriodPushDoesNotSilenceTheNudge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	w := f.worker()
	f.clock.Set(cases.MustDate("2026-11-01").At(8, 0))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(cases.MustDate("2026-11-02").At(15, 0))
	f.push("医保局", "medical", "2026-09") // September's data, a month late
	f.clock.Set(cases.MustDate("2026-11-03").At(9, 0))
	if _, err := w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.sent(), "\n"); got != "2026-11-03 push liaisons:医保局" {
		t.Errorf("sent on 11-03: %q, want the nudge for October's data", got)
	}
}

// A worker that died holding a claim, a rebuild that re-adds the same ids and two live workers:
// the reminder still goes out once, and the dead worker's claim expiring later changes nothing.
func TestCrashedClaimAndRebuildSendOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.clock.Set(cases.MustDate("2026-11-10").At(10, 0))
	a := f.dispatch("2026-11", "城关镇", "张小明", "H1", cases.MustDate("2026-11-10"))
	w1, w2 := f.worker(), f.worker()
	if err := w1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(cases.MustDate("2026-12-01").At(9, 0))
	// The crashed worker: claims everything due and never finishes.
	if _, err := w1.Schedule().Claim(ctx, f.clock.Now(), 5*time.Minute, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := w1.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{cases.MustDate("2026-12-01").At(9, 0), cases.MustDate("2026-12-01").At(9, 10)} {
		f.clock.Set(at)
		var wg sync.WaitGroup
		for _, w := range []*notify.Worker{w1, w2} {
			wg.Add(1)
			go func() { defer wg.Done(); w.Tick(ctx) }()
		}
		wg.Wait()
	}
	rows, err := notify.List(ctx, f.db, a.No)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, r := range rows {
		if r.State == "sent" {
			sent++
			if cases.DateOf(r.DueAt).String() != "2026-12-01" || r.Late {
				t.Errorf("sent %+v", r)
			}
		}
	}
	var outbox, sentAll int
	outbox = pgtest.Count(t, f.db, `SELECT count(*) FROM outbox WHERE idem_key LIKE 'reminder:%'`)
	sentAll = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE state = 'sent'`)
	if sent != 1 {
		t.Errorf("sent %d reminders of %s; want 1", sent, a.No)
	}
	// Case reminders to a group travel in the day's digest: one message for both rows.
	var digested int
	digested = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE state = 'sent' AND kind IN ('case_due', 'case_overdue', 'month_end')`)
	sentAll -= digested
	// November's own reminders went out late too (the worker was not ticking then): each once.
	if len(f.sender.calls) != sentAll || outbox != sentAll {
		t.Errorf("%d sends, %d in the outbox, %d reminders sent", len(f.sender.calls), outbox, sentAll)
	}
	for k, n := range f.sender.calls {
		if n != 1 {
			t.Errorf("%s sent %d times", k, n)
		}
	}
}

// TestOneDigestPerTownshipPerDay: a township with many cases gets one reminder message a
// day, listing every case due, due soon and overdue (overdue first), over a fortnight; each
// case's reminder is still recorded as sent.
func TestOneDigestPerTownshipPerDay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var nos []string
	f.clock.Set(cases.MustDate("2026-11-10").At(10, 0))
	for i := 0; i < 12; i++ {
		c := f.dispatch("2026-11", "城关镇", fmt.Sprintf("张小%c", '甲'+rune(i)), fmt.Sprintf("H%d", i), cases.MustDate("2026-11-10"))
		nos = append(nos, c.No)
	}
	// A second batch, a week later: due a week later, so days mix due soon and overdue.
	f.clock.Set(cases.MustDate("2026-11-17").At(10, 0))
	for i := 0; i < 6; i++ {
		c := f.dispatch("2026-11", "城关镇", fmt.Sprintf("王小%c", '甲'+rune(i)), fmt.Sprintf("G%d", i), cases.MustDate("2026-11-17"))
		nos = append(nos, c.No)
	}
	w1, w2 := f.worker(), f.worker()
	w1.Batch, w2.Batch = 3, 3 // claims split a township's reminders over workers and batches
	for day := cases.MustDate("2026-11-30"); !day.After(cases.MustDate("2026-12-18")); day = day.AddDays(1) {
		f.clock.Set(day.At(9, 0))
		var wg sync.WaitGroup
		for _, w := range []*notify.Worker{w1, w2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := w.Tick(ctx); err != nil {
					t.Errorf("%s: %v", day, err)
				}
			}()
		}
		wg.Wait()
	}
	var msgs []struct {
		Day     string          `db:"day"`
		Payload json.RawMessage `db:"payload"`
	}
	pgtest.OpenOutbox(t, f.db) // bodies are sealed (docs/encryption.md)
	err := f.db.Select(&msgs, `SELECT to_char(r.due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS day, o.payload
		FROM outbox o JOIN reminders r ON o.idem_key = 'reminder:' || r.id WHERE o.channel = 'appchat' ORDER BY o.id`)
	if err != nil {
		t.Fatal(err)
	}
	perDay := map[string]int{}
	for _, m := range msgs {
		perDay[m.Day]++
	}
	for d, n := range perDay {
		if n > 1 {
			t.Errorf("%s: %d group messages, want at most one", d, n)
		}
	}
	// Every working day from 12-02 (5 days before the first due date) on had something to say.
	if len(perDay) < 10 {
		t.Errorf("group messages on %d days: %v", len(perDay), perDay)
	}
	var caseRows, sentRows int
	caseRows = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE kind IN ('case_due', 'case_overdue') AND due_at < '2026-12-19'`)
	sentRows = pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE kind IN ('case_due', 'case_overdue') AND state = 'sent'`)
	if caseRows == 0 || sentRows != caseRows {
		t.Errorf("%d case reminders due in the fortnight, %d recorded as sent", caseRows, sentRows)
	}
	// The day the first batch is overdue and the second due soon: one text with both, overdue
	// first, every case by number, no full name.
	var day string
	for _, m := range msgs {
		if strings.Contains(string(m.Payload), "已逾期 1 个工作日") {
			day = string(m.Payload)
			break
		}
	}
	if day == "" {
		t.Fatal("no digest with overdue cases")
	}
	for _, no := range nos[:12] {
		if !strings.Contains(day, no) {
			t.Errorf("the digest lacks %s: %s", no, day)
		}
	}
	if strings.Contains(day, "张小甲") || !strings.Contains(day, "张*甲") {
		t.Errorf("the digest must mask names: %s", day)
	}
	if strings.Index(day, "已逾期 1 个工作日") > strings.Index(day, "个工作日到期") && strings.Contains(day, "个工作日到期") {
		t.Errorf("overdue cases must come first: %s", day)
	}
}

// A township's daily digest @s the responsible cadres of the cases in it, not every cadre
// of the township, and names them in the text (app-created groups cannot @ by userid).
func TestDigestMentionsTheResponsibleCadres(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	org := parseOrg(t, orgYAML+"  - {userid: zhouer, name: 周二, role: cadre, township: 河口乡}\n")
	if _, err := f.db.ApplyOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(cases.MustDate("2026-11-10").At(10, 0))
	var nos []string
	for i := 0; i < 2; i++ {
		nos = append(nos, f.dispatch("2026-11", "河口乡", fmt.Sprintf("钱小%c", '甲'+rune(i)), fmt.Sprintf("K%d", i), cases.MustDate("2026-11-10")).No)
	}
	if _, err := f.db.Exec(`UPDATE cases SET responsible = 'zhouer' WHERE case_no = ANY($1)`, pq.Array(nos)); err != nil {
		t.Fatal(err)
	}
	due := f.db.Cal.AddWorkingDays(cases.MustDate("2026-11-10"), 20)
	f.clock.Set(due.At(9, 0))
	if _, err := f.worker().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	var payload string
	pgtest.OpenOutbox(t, f.db) // bodies are sealed (docs/encryption.md)
	if err := f.db.Get(&payload, `SELECT payload::text FROM outbox WHERE channel = 'webhook' ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(payload, `"mentioned_list": ["zhouer"]`) || !strings.Contains(payload, "责任干部：@周二") || strings.Contains(payload, "李四") {
		t.Errorf("digest should @ only the responsible cadre: %s", payload)
	}
}

var _ notify.Store = (*postgres.DB)(nil)

// TestAWorkerStartedMidMonthSendsWhatStillHolds: a county whose worker starts for the first
// time on 9 December (or comes back after a week down). The nudge of 3 December asked for
// data "before 7 December": a date gone by, so it is not sent; the late notices of the 8th
// and the dispatch reminder still hold and go out, late. From the 11th the dispatch reminder
// says the 10th has passed, and a township's month-end list of a month gone by is not sent.
func TestAWorkerStartedMidMonthSendsWhatStillHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.clock.Set(cases.MustDate("2026-12-09").At(10, 0))
	startAndTick(t, f)
	got := strings.Join(f.sent(), "\n")
	want := strings.Join([]string{
		"2026-12-08 dispatch office late",
		"2026-12-08 push_late liaisons:医保局 late",
		"2026-12-08 push_late office late",
	}, "\n")
	if got != want {
		t.Errorf("sent on a first start on 12-09:\n%s\nwant\n%s", got, want)
	}
	var note string
	if err := f.db.Get(&note, `SELECT note FROM reminders WHERE kind = 'push' AND state = 'cancelled' AND due_at = $1`,
		cases.MustDate("2026-12-03").At(cases.ReminderHour, 0)); err != nil || !strings.Contains(note, "推送时限已过") {
		t.Errorf("the 12-03 nudge: note %q (%v), want it cancelled as past its deadline", note, err)
	}

	g := newFixture(t)
	g.clock.Set(cases.MustDate("2026-12-11").At(10, 0))
	if _, err := notify.PlanMonth(ctx, g.db, cases.MustDate("2026-11-01")); err != nil {
		t.Fatal(err)
	}
	startAndTick(t, g)
	pgtest.OpenOutbox(t, g.db)
	var text string
	if err := g.db.Get(&text, `SELECT o.payload::text FROM outbox o JOIN reminders r ON o.idem_key = 'reminder:' || r.id
		WHERE r.kind = 'dispatch' AND r.due_at = $1`, cases.MustDate("2026-12-08").At(cases.ReminderHour, 0)); err != nil ||
		!strings.Contains(text, "已超过 2026-12-10 的交办时限") {
		t.Errorf("the dispatch reminder sent on 12-11: %q (%v), want it to say the 10th has passed", text, err)
	}
	var monthEnd []string
	if err := g.db.Select(&monthEnd, `SELECT state || ' ' || note FROM reminders WHERE kind = 'month_end' AND due_at < $1`,
		cases.MustDate("2026-12-01").At(0, 0)); err != nil || len(monthEnd) != 2 {
		t.Fatalf("November's month-end reminders: %v %v, want one a township", monthEnd, err)
	}
	for _, s := range monthEnd {
		if !strings.HasPrefix(s, "cancelled 所属月份已过") {
			t.Errorf("November's month-end reminder on 12-11: %q, want it cancelled", s)
		}
	}
}

// startAndTick is a worker's start and first tick: what was due then is sent.
func startAndTick(t *testing.T, f *fixture) {
	t.Helper()
	w := f.worker()
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestACaseDispatchedOverdueIsRemindedAtOnce: a round recorded with an earlier 交办 day (the
// office catching up) makes cases already past their due date. They got no reminder at
// all: every moment of their plan had passed. Now the overdue reminder and the office's
// escalation go out at once, and the overdue chain goes on the next working day.
func TestACaseDispatchedOverdueIsRemindedAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clock.Set(cases.MustDate("2026-12-08").At(10, 0))
	c := f.dispatch("2026-10", "城关镇", "张小甲", "H1", cases.MustDate("2026-10-09"))
	startAndTick(t, f)
	var got []string
	for _, s := range f.sent() {
		if strings.Contains(s, c.No) || strings.Contains(s, "case_") {
			got = append(got, s)
		}
	}
	want := []string{
		"2026-12-08 case_escalate office " + c.No + " late",
		"2026-12-08 case_overdue group:城关镇 " + c.No + " late",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent for a case overdue when dispatched:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	f.clock.Set(cases.MustDate("2026-12-09").At(9, 0))
	if _, err := f.worker().Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(f.sent(), "\n"); !strings.Contains(s, "2026-12-09 case_overdue group:城关镇 "+c.No) {
		t.Errorf("the next working day: %s\nwant the overdue reminder again", s)
	}
}

// TestListingAPastMonthPlansNothing: `reminders --month 2026-10` in December planned October's
// cycle, and a running worker then sent its late notices and dispatch reminder, all at once.
// A past month is listed as kept; what it called for and was never planned shows cancelled.
func TestListingAPastMonthPlansNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.clock.Set(cases.MustDate("2026-11-02").At(8, 0))
	if _, err := notify.ListMonth(ctx, f.db, cases.MustDate("2026-11-01")); err != nil { // November, kept
		t.Fatal(err)
	}
	f.clock.Set(cases.MustDate("2026-12-08").At(10, 0))
	stored := pgtest.Count(t, f.db, `SELECT count(*) FROM reminders`)
	oct, err := notify.ListMonth(ctx, f.db, cases.MustDate("2026-10-01"))
	if err != nil || len(oct) == 0 {
		t.Fatalf("October: %d rows, %v", len(oct), err)
	}
	for _, r := range oct {
		if r.State != "cancelled" || r.Note != notify.NotPlannedNote {
			t.Errorf("October's %s %s on %s: %s %q, want listed as cancelled, never planned", r.Kind, r.Target, r.DueAt, r.State, r.Note)
		}
	}
	nov, err := notify.ListMonth(ctx, f.db, cases.MustDate("2026-11-01"))
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for _, r := range nov {
		if r.State == "pending" {
			pending++
		}
	}
	if pending == 0 || len(nov) != pgtest.Count(t, f.db, `SELECT count(*) FROM reminders WHERE key LIKE 'month:2026-11:%'`) {
		t.Errorf("November, planned in November: %d rows, %d pending; want the kept ones, once each", len(nov), pending)
	}
	if n := pgtest.Count(t, f.db, `SELECT count(*) FROM reminders`); n != stored {
		t.Errorf("listing past months stored %d reminders", n-stored)
	}
}

// TestOneGroupMessageADayAlsoForCasesMadeOverdueLater: a township group had its digest at
// 09:00; at 10:00 a round recorded with an earlier 交办 day makes a case already overdue.
// Its overdue reminder went to the group as a second message of the day. Now it waits for
// the next day's digest; the office's escalation goes at once.
func TestOneGroupMessageADayAlsoForCasesMadeOverdueLater(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	f.clock.Set(cases.MustDate("2026-12-08").At(8, 0))
	f.dispatch("2026-10", "城关镇", "张小甲", "H1", cases.MustDate("2026-10-09")) // overdue since 11-06: reminded at 09:00
	f.clock.Set(cases.MustDate("2026-12-08").At(9, 0))
	startAndTick(t, f)
	groupMessages := func() int {
		return pgtest.Count(t, f.db, `SELECT count(*) FROM outbox WHERE target = 'wrCG0001' AND idem_key LIKE 'reminder:%'`)
	}
	if n := groupMessages(); n != 1 {
		t.Fatalf("09:00: %d group messages, want the digest", n)
	}
	f.clock.Set(cases.MustDate("2026-12-08").At(10, 0))
	late := f.dispatch("2026-10", "城关镇", "张小乙", "H2", cases.MustDate("2026-10-09"))
	if _, err := f.worker().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := groupMessages(); n != 1 {
		t.Errorf("10:00: %d group messages, want still the one digest", n)
	}
	if !strings.Contains(strings.Join(f.sent(), "\n"), "2026-12-08 case_escalate office "+late.No) {
		t.Errorf("the office was not told of %s at once: %v", late.No, f.sent())
	}
	f.clock.Set(cases.MustDate("2026-12-09").At(9, 0))
	if _, err := f.worker().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(f.sent(), "\n"); !strings.Contains(s, "2026-12-09 case_overdue group:城关镇 "+late.No) {
		t.Errorf("the next day's digest lacks %s:\n%s", late.No, s)
	}
	if n := groupMessages(); n != 2 {
		t.Errorf("after the next day: %d group messages, want two digests", n)
	}
}

// TestRunGivesUpWhenTicksKeepFailing: Redis gone while the worker runs made it log the same
// error every second while its supervisor counted it up (/healthz "ok", fangpin_worker_up 1).
// After FailingTicks failures in a row Run returns the error, for the supervisor to report
// it down and restart it with back-off.
func TestRunGivesUpWhenTicksKeepFailing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clock.Set(cases.MustDate("2026-12-08").At(10, 0))
	r := redis.NewClient(f.redis.(*redis.Client).Options())
	w := f.worker()
	w.Redis, w.Poll = r, 5*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	// started (the schedule rebuilt) and ticking, then Redis goes away
	for built := false; !built; {
		if ctx.Err() != nil {
			t.Fatal("the worker never started")
		}
		built, _ = w.Schedule().Built(ctx)
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	r.Close()
	select {
	case err := <-done:
		if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "ticks in a row failed") {
			t.Errorf("Run returned %v (ctx %v), want the ticks' failure", err, ctx.Err())
		}
	case <-ctx.Done():
		t.Fatal("Run went on ticking against a closed Redis")
	}
}
