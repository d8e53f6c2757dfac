package scenario

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fangpin/fangpin/cases"
)

// finish exports each month's ledger, prints its table, and counts what was sent.
func (p *Play) finish(ctx context.Context) error {
	for m := cases.NewDate(p.From.Year, p.From.Month, 1); !m.After(p.To); m = cases.NewDate(m.Year, m.Month+1, 1) {
		month := m.MonthKey()
		dir, err := filepath.Abs(p.Dir)
		if err != nil {
			return err
		}
		path, err := p.Office.ExportLedger(ctx, month, dir)
		if err != nil {
			return fmt.Errorf("导出 %s 台账：%w", month, err)
		}
		fmt.Fprintln(p.Stdout)
		if err := p.Office.PrintTownships(ctx, month); err != nil {
			return err
		}
		fmt.Fprintf(p.Stdout, "台账：%s\n", path)
	}
	sent, err := p.Store.SentReminders(ctx)
	if err != nil {
		return err
	}
	var parts []string
	for kind, n := range sent {
		parts = append(parts, fmt.Sprintf("%s %d", cases.ReminderKind(kind).Label(), n))
	}
	sort.Strings(parts)
	group, private := 0, 0
	for _, s := range p.Sim.Sent() {
		if s.ChatID != "" || s.WebhookKey != "" {
			group++
		} else {
			private++
		}
	}
	fmt.Fprintf(p.Stdout, "\n已发送提醒：%s\n模拟器收到机器人消息：群聊 %d 条，私聊 %d 条\n", strings.Join(parts, "，"), group, private)
	return nil
}
