package main

import (
	"context"
	"path/filepath"

	"github.com/fangpin/fangpin/bot/pgqueue"
	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/ledgerxlsx"
	"github.com/fangpin/fangpin/cases/postgres"
	"github.com/fangpin/fangpin/handlers"
	"github.com/fangpin/fangpin/notify"
)

// demoStore gives the demo's scenario the ledger in the terms it asks (scenario.Store) and
// the office's tools as the spotcheck, export and report commands run them
// (scenario.Office).
type demoStore struct{ db *postgres.DB }

func (s demoStore) Cases(ctx context.Context, round string, statuses ...cases.Status) ([]cases.Case, error) {
	return s.db.ListCases(ctx, cases.CaseFilter{Round: round, Statuses: statuses})
}

func (s demoStore) UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error) {
	return s.db.UsersOf(ctx, role, township, department)
}

func (s demoStore) OpenTasks(ctx context.Context, department string) ([]cases.Task, error) {
	return s.db.OpenTasks(ctx, department)
}

func (s demoStore) GroupChat(ctx context.Context, township string) (string, error) {
	ts, err := s.db.Townships(ctx)
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		if t.Name == township {
			return t.AppChatID, nil
		}
	}
	return "", nil
}

func (s demoStore) PendingMessages(ctx context.Context) (int, error) {
	return pgqueue.Pending(ctx, s.db.DB)
}

func (s demoStore) SentReminders(ctx context.Context) (map[string]int, error) {
	return notify.SentByKind(ctx, s.db)
}

func (s demoStore) DrawSpotChecks(ctx context.Context, month string, rate float64, seed int64) ([]string, error) {
	picks, err := handlers.DrawSpotChecks(ctx, s.db, month, rate, seed)
	if err != nil {
		return nil, err
	}
	nos := make([]string, len(picks))
	for i, p := range picks {
		nos[i] = p.CaseNo
	}
	return nos, nil
}

func (s demoStore) ExportLedger(ctx context.Context, month, dir string) (string, error) {
	a, err := s.db.MonthLedger(ctx, month)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, ledgerxlsx.Filename(month))
	return path, ledgerxlsx.WriteFile(path, a)
}

func (s demoStore) PrintTownships(ctx context.Context, month string) error {
	a, err := s.db.Assess(ctx, month)
	if err != nil {
		return err
	}
	printTownships(a)
	return nil
}
