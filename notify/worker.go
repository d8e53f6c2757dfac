package notify

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fangpin/fangpin/cases"
)

// Delivery is one reminder message, with its recipients as the org file knows them. Exactly
// one of AppChat, Webhook or Users is set.
type Delivery struct {
	Key     string   // idempotency key, "reminder:<id>"
	Text    string   // polite plain Chinese; group texts are masked (docs/privacy.md)
	AppChat string   // a township group the app created
	Webhook string   // a township group robot's key
	Mention []string // userids to @ in a webhook group (the township's cadres)
	Users   []string // private messages to these userids
}

// Sender hands reminders to the bot, on the transaction that marks them sent: either both
// happen or neither. A worker hands over all of one transaction's reminders in one call, so
// that the bot can queue them in one statement. notify reaches the bot only through this
// interface.
type Sender interface {
	Send(ctx context.Context, tx cases.Tx, ds ...Delivery) error
}

// Worker claims due reminders from Redis and sends them. Any number of workers, on any
// number of machines, may share one Redis and one Postgres: each reminder goes out once.
type Worker struct {
	DB       Store
	Redis    redis.UniversalClient
	Prefix   string // Redis key prefix; default "fangpin:reminders:"
	Sender   Sender
	Now      func() time.Time // default DB.Now; tests inject a clock
	Poll     time.Duration    // how often Run looks for due reminders; default 1s
	Lease    time.Duration    // how long a claim lasts before another worker may retry it; default 5m
	Grace    time.Duration    // sent later than this after due_at counts as late; default 10m
	Batch    int              // ids claimed at once; default 1000
	Parallel int              // transactions a claim is fired in, at once; default 2
	Log      *slog.Logger
	// UploadLink, when set, makes a liaison's push nudge and late notice carry that
	// liaison's own signed link to the upload page (docs/files.md): the message then goes
	// to each liaison separately.
	UploadLink func(userid string) string

	mu      sync.Mutex
	planned string // the month last planned
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return w.DB.Clock()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// Schedule is the worker's Redis schedule.
func (w *Worker) Schedule() Schedule {
	p := w.Prefix
	if p == "" {
		p = "fangpin:reminders:"
	}
	return Schedule{R: w.Redis, Prefix: p}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// FailingTicks is how many ticks in a row may fail before Run gives up and returns the
// error: its supervisor then reports it down (/healthz, fangpin_worker_up) and restarts it
// with back-off, rather than it logging the same failure every second while counted up.
const FailingTicks = 5

// Run plans the month, rebuilds the schedule and sends due reminders until ctx ends, or until
// FailingTicks ticks in a row have failed (Redis or Postgres away).
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Start(ctx); err != nil {
		return err
	}
	t := time.NewTicker(orDefault(w.Poll, time.Second))
	defer t.Stop()
	failed := 0
	for {
		if _, err := w.Tick(ctx); err != nil && ctx.Err() == nil {
			w.log().Error("reminder worker", "err", err)
			if failed++; failed >= FailingTicks {
				return fmt.Errorf("reminder worker: %d ticks in a row failed: %w", failed, err)
			}
		} else {
			failed = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Start is what a worker does when it starts: plan the current month's reminders and
// rebuild Redis's schedule from Postgres (what passed while everything was down is then due
// at once, and is sent late).
func (w *Worker) Start(ctx context.Context) error {
	if err := w.planMonth(ctx); err != nil {
		return err
	}
	_, err := w.Rebuild(ctx)
	return err
}

func (w *Worker) planMonth(ctx context.Context) error {
	today := cases.DateOf(w.now())
	w.mu.Lock()
	done := w.planned == today.MonthKey()
	w.mu.Unlock()
	if done {
		return nil
	}
	// This month's cycle and the next: a push nudge goes 2 working days before its deadline
	// and may fall in the month before it (国庆: 29 September for 8 October).
	for _, m := range []cases.Date{today, cases.NewDate(today.Year, today.Month+1, 1)} {
		if _, err := PlanMonth(ctx, w.DB, m); err != nil {
			return err
		}
	}
	w.mu.Lock()
	w.planned = today.MonthKey()
	w.mu.Unlock()
	return nil
}

// Rebuild puts every pending reminder into Redis's schedule and returns how many. It adds,
// never replaces: ids already there only move, and a claim of a reminder that is no longer
// pending is dropped when it fires.
func (w *Worker) Rebuild(ctx context.Context) (int, error) {
	es, err := w.DB.PendingReminders(ctx, false, 0)
	if err != nil {
		return 0, fmt.Errorf("rebuild schedule: %w", err)
	}
	if err := w.schedule(ctx, es); err != nil {
		return 0, err
	}
	if err := w.Schedule().markBuilt(ctx); err != nil {
		return 0, fmt.Errorf("rebuild schedule: %w", err)
	}
	return len(es), nil
}

func (w *Worker) schedule(ctx context.Context, es []cases.DueReminder) error {
	if len(es) == 0 {
		return nil
	}
	entries := make([]Entry, len(es))
	ids := make([]int64, len(es))
	for i, e := range es {
		entries[i] = Entry{ID: e.ID, DueAt: e.DueAt}
		ids[i] = e.ID
	}
	if err := w.Schedule().Add(ctx, entries...); err != nil {
		return err
	}
	// Marked only once Redis has them: a crash in between schedules them again, harmlessly.
	// The store locks the rows in id order, as FireReminders does, so that two workers never
	// deadlock.
	if err := w.DB.MarkRemindersScheduled(ctx, ids); err != nil {
		return fmt.Errorf("mark reminders scheduled: %w", err)
	}
	return nil
}

// sync moves reminders planned since the last look (by case hooks, in their transactions)
// into Redis.
func (w *Worker) sync(ctx context.Context) error {
	es, err := w.DB.PendingReminders(ctx, true, 10000)
	if err != nil {
		return fmt.Errorf("newly planned reminders: %w", err)
	}
	return w.schedule(ctx, es)
}

// Tick does one round of work: plans a new month, rebuilds a Redis that lost its data,
// schedules newly planned reminders and sends every due one. It returns how many were sent.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	if err := w.planMonth(ctx); err != nil {
		return 0, err
	}
	built, err := w.Schedule().Built(ctx)
	if err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	if !built {
		n, err := w.Rebuild(ctx)
		if err != nil {
			return 0, err
		}
		w.log().Warn("redis had no reminder schedule: rebuilt from postgres", "scheduled", n)
	}
	if err := w.sync(ctx); err != nil {
		return 0, err
	}
	return w.RunDue(ctx)
}

// RunDue claims and fires due reminders until none is due. A claim is fired in Parallel
// transactions at once: few round trips a reminder, and few enough transactions that they
// do not crowd the two cores PostgreSQL has. A township's digest, which carries all the
// group's reminders of the day, goes first and in a transaction of its own, so that each
// group's message commits without waiting for the others'; the other ids are dealt out in
// turn over Parallel transactions.
func (w *Worker) RunDue(ctx context.Context) (int, error) {
	sent := 0
	parallel := orDefault(w.Parallel, 2)
	for {
		now := w.now()
		ids, err := w.Schedule().Claim(ctx, now, orDefault(w.Lease, 5*time.Minute), orDefault(w.Batch, 1000))
		if err != nil {
			return sent, err
		}
		if len(ids) == 0 {
			return sent, nil
		}
		chunks, err := w.chunks(ctx, ids, parallel)
		if err != nil {
			return sent, err
		}
		var (
			mu       sync.Mutex
			firstErr error
			wg       sync.WaitGroup
			done     []int64
			slots    = make(chan struct{}, parallel)
		)
		for _, chunk := range chunks {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				n, ok, err := w.fireAll(ctx, chunk, now)
				mu.Lock()
				defer mu.Unlock()
				sent += n
				done = append(done, ok...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
			}()
		}
		wg.Wait()
		if err := w.Schedule().Done(ctx, done...); err != nil {
			return sent, fmt.Errorf("release claimed reminders: %w", err)
		}
		if firstErr != nil {
			return sent, firstErr
		}
	}
}

// chunks cuts claimed ids into transactions: each digest alone, first; the rest in turn
// over parallel transactions.
func (w *Worker) chunks(ctx context.Context, ids []int64, parallel int) ([][]int64, error) {
	kinds, err := w.DB.ReminderKinds(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out [][]int64
	rest := make([][]int64, parallel)
	n := 0
	for _, id := range ids {
		if kinds[id] == cases.RemindDigest {
			out = append(out, []int64{id})
			continue
		}
		rest[n%parallel] = append(rest[n%parallel], id)
		n++
	}
	for _, c := range rest {
		if len(c) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// fireAll fires claimed reminders in one transaction; if that fails it fires each half on
// its own, down to single reminders, so that one reminder that cannot be sent neither holds
// back the others nor costs a transaction for every one of them. It returns how many were
// sent and which ids are settled (sent, cancelled or not pending); the rest stay claimed and
// are retried when their lease ends.
func (w *Worker) fireAll(ctx context.Context, ids []int64, now time.Time) (int, []int64, error) {
	var n int
	err := w.DB.FireReminders(ctx, ids, now, func(ctx context.Context, tx cases.ReminderTx, locked []cases.StoredReminder, byCase map[int64]cases.Case) error {
		var err error
		n, err = w.fire(ctx, tx, locked, byCase, now)
		return err
	})
	if err == nil {
		return n, ids, nil
	}
	if len(ids) == 1 {
		w.log().Error("send reminder", "id", ids[0], "err", err)
		return 0, nil, err
	}
	if ctx.Err() != nil {
		return 0, nil, err
	}
	half := len(ids) / 2
	n1, ok1, err1 := w.fireAll(ctx, ids[:half], now)
	n2, ok2, err2 := w.fireAll(ctx, ids[half:], now)
	if err1 == nil {
		err1 = err2
	}
	return n1 + n2, append(ok1, ok2...), err1
}

// fire decides what becomes of claimed reminders, inside the store's claim→fire
// transaction (FireReminders, which has locked their cases and then them): sent (handed to
// the Sender and marked sent in this same transaction), cancelled (its reason no longer
// holds), or left alone (not pending any more: another worker or a cancellation got there
// first). The decisions are gathered in a firing, then carried out at once (firing.execute).
// It returns how many were sent.
func (w *Worker) fire(ctx context.Context, tx cases.ReminderTx, locked []cases.StoredReminder, cs map[int64]cases.Case, now time.Time) (int, error) {
	byCase := make(map[int64]caseInfo, len(cs))
	for id, c := range cs {
		byCase[id] = caseInfo{c}
	}
	f := &firing{w: w, tx: tx, now: now, recips: map[string]*Delivery{}}
	if err := groupRecipients(ctx, tx, locked, f.recips); err != nil {
		return 0, err
	}
	// Digests first: the reminders they carry are settled with them.
	consumed, err := w.fireDigests(ctx, f, locked, byCase)
	if err != nil {
		return 0, err
	}
	var rest []cases.StoredReminder
	for _, r := range locked {
		if !consumed[r.ID] {
			rest = append(rest, r)
		}
	}
	if err := w.fireEach(ctx, f, rest, byCase); err != nil {
		return 0, err
	}
	return f.execute(ctx)
}

// firing gathers what a fire decided: what to send, which reminders are then sent (and late),
// which are cancelled and why, and the reminders to plan next.
type firing struct {
	w   *Worker
	tx  cases.ReminderTx
	now time.Time

	sentIDs, lateIDs, cancelIDs []int64
	notes                       []string
	next                        []cases.Reminder
	recips                      map[string]*Delivery // by target; nil: nobody to reach
	out                         []Delivery
}

// NoRecipientNote is why a reminder nobody can receive is cancelled.
const NoRecipientNote = "没有可以接收提醒的群聊或人员，请在组织文件中配置"

func (f *firing) cancel(id int64, note string) {
	f.cancelIDs = append(f.cancelIDs, id)
	f.notes = append(f.notes, note)
}

// deliver decides to send text for r to its target's recipients (mention, when given, in
// place of the whole township's cadres); false when nobody can receive it (then cancelled).
func (f *firing) deliver(ctx context.Context, r cases.StoredReminder, text string, mention []string) (bool, error) {
	d, ok := f.recips[r.Target]
	if !ok {
		var err error
		if d, err = f.w.recipients(ctx, f.tx, r.Target); err != nil {
			return false, err
		}
		f.recips[r.Target] = d
	}
	if d == nil {
		f.cancel(r.ID, NoRecipientNote)
		return false, nil
	}
	m := *d
	if len(mention) > 0 && len(m.Mention) > 0 {
		m.Mention = mention // a digest @s the responsible cadres of its cases, not the whole township
	}
	m.Key = fmt.Sprintf("reminder:%d", r.ID)
	m.Text = text
	if f.w.UploadLink != nil && pushReminder(r) && len(m.Users) > 0 {
		// A signed link is bound to one person: one message each.
		for _, u := range m.Users {
			one := m
			one.Users = []string{u}
			one.Key = fmt.Sprintf("reminder:%d:%s", r.ID, u)
			one.Text = text + "\n上传数据文件（24 小时内有效）：" + f.w.UploadLink(u)
			f.out = append(f.out, one)
		}
	} else {
		f.out = append(f.out, m)
	}
	f.sentIDs = append(f.sentIDs, r.ID)
	if f.now.Sub(r.DueAt) > orDefault(f.w.Grace, 10*time.Minute) {
		f.lateIDs = append(f.lateIDs, r.ID)
	}
	return true, nil
}

// fireDigests decides the claimed digests and, with each, the reminders it carries; it
// returns the ids of those reminders, settled with their digest.
func (w *Worker) fireDigests(ctx context.Context, f *firing, locked []cases.StoredReminder, byCase map[int64]caseInfo) (map[int64]bool, error) {
	consumed := map[int64]bool{}
	for _, r := range locked {
		if cases.ReminderKind(r.Kind) != cases.RemindDigest {
			continue
		}
		o, err := w.fireDigest(ctx, f.tx, r, byCase, f.now)
		if err != nil {
			return nil, err
		}
		for id := range o.consumed {
			consumed[id] = true
		}
		for id, note := range o.cancel {
			f.cancel(id, note)
		}
		if o.text == "" {
			f.cancel(r.ID, "今天没有需要提醒的案件")
			continue
		}
		ok, err := f.deliver(ctx, r, o.text, o.mention)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Nobody reads the group: its reminders are cancelled with it.
			for _, id := range o.sent {
				f.cancel(id, NoRecipientNote)
			}
			continue
		}
		f.sentIDs = append(f.sentIDs, o.sent...)
		f.lateIDs = append(f.lateIDs, o.late...)
		f.next = append(f.next, o.next...)
	}
	return consumed, nil
}

// fireEach decides the claimed reminders no digest carried, one by one: compose and send, or
// cancel with the reason composing gave; a sent overdue reminder chains the next one.
func (w *Worker) fireEach(ctx context.Context, f *firing, rest []cases.StoredReminder, byCase map[int64]caseInfo) error {
	digests, err := digestStates(ctx, f.tx, rest)
	if err != nil {
		return err
	}
	for _, r := range rest {
		// A reminder whose digest is still to come waits for it; the claim is let go.
		if r.Kind.Digested() && digests[digestOf(r)] == "pending" {
			continue
		}
		var c *caseInfo
		if r.CaseID != 0 {
			ci, ok := byCase[r.CaseID]
			if !ok {
				return fmt.Errorf("case %d of reminder %d was not locked", r.CaseID, r.ID)
			}
			c = &ci
		}
		if r.Kind.Digested() && digests[digestOf(r)] == "sent" {
			// The group had its one reminder message of the day (docs/reminders.md): one
			// planned since (a case made overdue by a round recorded late) waits for the next
			// day's digest rather than going out on its own.
			f.cancel(r.ID, NextDigestNote)
			if cases.ReminderKind(r.Kind) == cases.RemindCaseOverdue && c != nil && c.Status.Open() {
				f.next = append(f.next, cases.NextOverdueReminder(c.Case, cases.DateOf(r.DueAt), f.now, w.DB.Calendar()))
			}
			continue
		}
		msg, skip, err := w.compose(ctx, f.tx, r, c, f.now)
		if err != nil {
			return err
		}
		if skip != "" {
			f.cancel(r.ID, skip)
			continue
		}
		ok, err := f.deliver(ctx, r, msg, nil)
		if err != nil {
			return err
		}
		if ok && cases.ReminderKind(r.Kind) == cases.RemindCaseOverdue && c != nil {
			f.next = append(f.next, cases.NextOverdueReminder(c.Case, cases.DateOf(r.DueAt), f.now, w.DB.Calendar()))
		}
	}
	return nil
}

// execute carries out a firing in the claim→fire transaction: hand the messages to the
// Sender, mark the reminders sent or cancelled, plan the next ones. It returns how many were sent.
func (f *firing) execute(ctx context.Context) (int, error) {
	tx := f.tx
	if len(f.out) > 0 {
		if err := f.w.Sender.Send(ctx, tx, f.out...); err != nil {
			return 0, fmt.Errorf("send %d reminders (first %s): %w", len(f.out), f.out[0].Key, err)
		}
	}
	if len(f.sentIDs) > 0 {
		if err := tx.MarkRemindersSent(ctx, f.sentIDs, f.lateIDs, f.now); err != nil {
			return 0, err
		}
	}
	if len(f.cancelIDs) > 0 {
		if err := tx.CancelReminders(ctx, f.cancelIDs, f.notes); err != nil {
			return 0, err
		}
	}
	if err := tx.PlanReminders(ctx, f.next); err != nil {
		return 0, err
	}
	return len(f.sentIDs), nil
}

// pushReminder tells a liaison's push nudge or late notice (not the office's notice).
func pushReminder(r cases.StoredReminder) bool {
	switch cases.ReminderKind(r.Kind) {
	case cases.RemindPush, cases.RemindPushLate, cases.RemindEducation, cases.RemindEduLate:
		return r.Target != cases.TargetOffice
	}
	return false
}

// recipients resolves a target to the chat or people that read it; nil when nobody can.
func (w *Worker) recipients(ctx context.Context, tx cases.Tx, target string) (*Delivery, error) {
	var kind, name string
	if target == cases.TargetOffice {
		kind = "office"
	} else if n, ok := cutPrefix(target, "group:"); ok {
		kind, name = "group", n
	} else if n, ok := cutPrefix(target, "liaisons:"); ok {
		kind, name = "liaisons", n
	} else {
		return nil, fmt.Errorf("unknown reminder target %q", target)
	}
	var users []string
	var err error
	switch {
	case kind == "office":
		users, err = tx.UsersOf(ctx, cases.RoleOffice, "", "")
	case name == "": // a department or township without a name has nobody
	case kind == "liaisons":
		users, err = tx.UsersOf(ctx, cases.RoleLiaison, "", name)
	case kind == "group":
		users, err = tx.UsersOf(ctx, cases.RoleCadre, name, "")
	}
	if err != nil {
		return nil, fmt.Errorf("recipients of %s: %w", target, err)
	}
	if kind == "group" {
		chat, _, err := tx.TownshipContacts(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("group chat of %s: %w", name, err)
		}
		return groupDelivery(chat, users), nil
	}
	if len(users) == 0 {
		return nil, nil
	}
	return &Delivery{Users: users}, nil
}

// groupDelivery is how a township group is reached: its chat, @ its cadres; without a chat,
// the cadres privately; nil when there is nobody.
func groupDelivery(chat cases.Township, cadres []string) *Delivery {
	switch {
	case chat.AppChatID != "":
		return &Delivery{AppChat: chat.AppChatID, Mention: cadres}
	case chat.WebhookKey != "":
		return &Delivery{Webhook: chat.WebhookKey, Mention: cadres}
	case len(cadres) > 0:
		// No group configured: the cadres still hear of it, privately.
		return &Delivery{Users: cadres}
	}
	return nil
}

// groupRecipients resolves the township groups that locked reminders go to in one look,
// into recips; the others, and a township the org does not know, are left to recipients.
func groupRecipients(ctx context.Context, tx cases.ReminderTx, locked []cases.StoredReminder, recips map[string]*Delivery) error {
	var names []string
	seen := map[string]bool{}
	for _, r := range locked {
		if n, ok := cutPrefix(r.Target, "group:"); ok && n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	chats, cadres, err := tx.GroupRecipients(ctx, names)
	if err != nil {
		return fmt.Errorf("recipients of %d groups: %w", len(names), err)
	}
	for _, n := range names {
		if chat, ok := chats[n]; ok {
			recips["group:"+n] = groupDelivery(chat, cadres[n])
		}
	}
	return nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}
