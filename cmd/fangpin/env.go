package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/fangpin/fangpin/announce"
	"os"
	"time"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/intake"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/internal/config"
	"github.com/fangpin/fangpin/notify"
)

// Env is the configuration of docs/operations.md, read once at start (internal/config), and the
// connections opened from it on first use.
type Env struct {
	config.Config

	// Clock, when set, is the ledger's clock instead of the wall clock: the demo plays a
	// month with it. Everything the server builds reads time through the ledger.
	Clock func() time.Time

	db *postgres.DB
}

// LoadEnv reads and checks the environment, with defaults that suit this machine's local
// services.
func LoadEnv() (*Env, error) {
	c, err := config.Load(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("配置有误：\n%w", err)
	}
	return &Env{Config: c}, nil
}

// Rules is the rules table: the defaults, or the county's overrides (FANGPIN_RULES).
func (e *Env) Rules() (cases.Rules, error) {
	if e.RulesFile == "" {
		return cases.DefaultRules(), nil
	}
	return intake.LoadRules(e.RulesFile)
}

// DB opens the ledger once, loading the county's holiday overrides if configured.
func (e *Env) DB(ctx context.Context) (*postgres.DB, error) {
	if e.db != nil {
		return e.db, nil
	}
	db, err := postgres.Open(ctx, e.DatabaseURL, postgres.WithHooks(e.hooks), postgres.WithKeys(e.Keys))
	if err != nil {
		return nil, fmt.Errorf("无法连接数据库（DATABASE_URL）：%w", err)
	}
	if e.HolidaysFile != "" {
		f, err := os.Open(e.HolidaysFile)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("无法读取节假日文件 %s：%w", e.HolidaysFile, err)
		}
		err = db.Cal.LoadOverrides(f)
		f.Close()
		if err != nil {
			db.Close()
			return nil, err
		}
	}
	if e.Clock != nil {
		db.Now = e.Clock
	}
	e.db = db
	return db, nil
}

// hooks are what every change carries in its transaction (docs/datalayer.md). The store
// adds its own invariants (a 走访 household joins its 区域排查).
func (e *Env) hooks(db *postgres.DB) postgres.Hooks {
	return postgres.Hooks{
		Case: []cases.CaseHook{
			// Every case change plans, cancels or renews its reminders.
			notify.CaseHook(db),
			// Every card sent for a case follows it: handled by any route, the cards show the outcome.
			(&announce.Announcer{Links: e.formLinks()}).FollowCards,
		},
		// A department task's reminders are planned with it.
		Task: []cases.TaskHook{notify.TaskHook(db)},
	}
}

// MigratedDB opens the ledger and brings its schema up to date.
func (e *Env) MigratedDB(ctx context.Context) (*postgres.DB, error) {
	db, err := e.DB(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("数据库迁移失败：%w", err)
	}
	// An upgraded database holds plain values of an older version: sealed now, in batches
	// (a scan of the tables when nothing is left; docs/encryption.md).
	if _, err := db.SealPending(ctx); err != nil {
		return nil, fmt.Errorf("加密旧数据失败：%w", err)
	}
	return db, nil
}

// Close releases what was opened.
func (e *Env) Close() {
	if e.db != nil {
		e.db.Close()
	}
}

// printJSON writes v as one JSON line on stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
