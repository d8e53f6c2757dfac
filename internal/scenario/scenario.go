// Package scenario is the story `fangpin demo` plays: two months of a county's work, day by
// day, against a running server and the WeCom simulator. Departments push their files,
// the office dispatches, cadres answer by group command, card, form and private command,
// record 录入, a supervisor spot-checks, and at the end the office exports the ledger and
// prints the month's table.
//
// The scenario only plays people: it talks to the server as they would (the push API, chat
// through the simulator, the form page) and reads what it needs of the ledger through Store,
// in cases types. cmd/fangpin starts the server and the simulator, loads the example county
// and hands them over in a Config.
//
// To add a step, write a function that plays it (func(ctx, *Play, cases.Date) error) and
// add a line to Script naming the days it happens on.
package scenario

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fangpin/fangpin/bot/wecomtest"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/synth"
)

// Store is what the scenario reads of the ledger and the queues.
type Store interface {
	// Cases lists the cases of round ("" for every round) in one of statuses, nearest due
	// first.
	Cases(ctx context.Context, round string, statuses ...cases.Status) ([]cases.Case, error)
	// UsersOf lists the userids with role in a township (cadres) or department (liaisons).
	UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error)
	// OpenTasks lists a department's open tasks (责任部门 work on cases).
	OpenTasks(ctx context.Context, department string) ([]cases.Task, error)
	// GroupChat is the township's app-created group chat, "" when a group robot serves it.
	GroupChat(ctx context.Context, township string) (string, error)
	// PendingMessages counts the messages queued in the outbox and not yet sent.
	PendingMessages(ctx context.Context) (int, error)
	// SentReminders counts the reminders sent, by kind.
	SentReminders(ctx context.Context) (map[string]int, error)
}

// Office is what the county office does with its own tools (fangpin spotcheck, export,
// report).
type Office interface {
	// DrawSpotChecks draws month's sample, sends the list to the supervisors and returns
	// the case numbers drawn.
	DrawSpotChecks(ctx context.Context, month string, rate float64, seed int64) ([]string, error)
	// ExportLedger writes month's ledger (XLSX) into dir and returns its path.
	ExportLedger(ctx context.Context, month, dir string) (string, error)
	// PrintTownships prints month's township table on standard output, as fangpin report.
	PrintTownships(ctx context.Context, month string) error
}

// Reminders is the reminder worker: Tick sends what is due at the clock's time.
type Reminders interface {
	Tick(ctx context.Context) (int, error)
}

// Config is what the scenario plays against.
type Config struct {
	Sim       *wecomtest.Server // the simulator the server talks to
	Base      string            // the server's URL (push API, form pages)
	SetClock  func(time.Time)   // sets the clock everything in the server reads
	Store     Store
	Office    Office
	Reminders Reminders
	Dir       string    // department files go to Dir/files, ledgers to Dir
	Log       io.Writer // the story, line by line (default os.Stderr)
	Stdout    io.Writer // the months' tables (default os.Stdout)
	From, To  cases.Date
}

// Play is one run of the scenario: the config and what the steps share.
type Play struct {
	Config
	gen *synth.Gen
	reg []cases.RegistryMember
}

// Run plays every day from c.From to c.To: the 09:00 reminders, then what Script says
// people do at 10:00, each time until the outbox is empty; then the office's month-end.
func Run(ctx context.Context, c Config) error {
	if c.Log == nil {
		c.Log = os.Stderr
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	// The people of examples/registry.csv, whom the department files name.
	p := &Play{Config: c, gen: synth.New(20261101), reg: synth.New(1).Registry(320, synth.Townships)}
	if err := os.MkdirAll(filepath.Join(c.Dir, "files"), 0o755); err != nil {
		return fmt.Errorf("部门文件目录：%w", err)
	}
	script := Script()
	p.say("· 从 %s 演到 %s（每个工作日 09:00 发提醒）", c.From, c.To)
	for day := c.From; !day.After(c.To); day = day.AddDays(1) {
		c.SetClock(day.At(9, 0))
		if _, err := c.Reminders.Tick(ctx); err != nil {
			return fmt.Errorf("%s 的提醒：%w", day, err)
		}
		if err := p.Drain(ctx); err != nil {
			return err
		}
		c.SetClock(day.At(10, 0))
		for _, s := range script {
			if !s.When(day) {
				continue
			}
			if err := s.Do(ctx, p, day); err != nil {
				return fmt.Errorf("%s：%w", day, err)
			}
		}
		if err := p.Drain(ctx); err != nil {
			return err
		}
	}
	return p.finish(ctx)
}

func (p *Play) say(format string, args ...any) { fmt.Fprintf(p.Log, format+"\n", args...) }

// Drain waits until the outbox has delivered everything queued (the worker paces itself
// under WeCom's limits, so a burst may take a while).
func (p *Play) Drain(ctx context.Context) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		pending, err := p.Store.PendingMessages(ctx)
		if err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("发件箱还有 %d 条消息没有送出", pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
