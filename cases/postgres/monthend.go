package postgres

import (
	"context"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
)

// MonthEndSummary builds the feedback summary from the month's assessment.
func (db *DB) MonthEndSummary(ctx context.Context, month string) (cases.MonthEndSummary, error) {
	a, err := db.Assess(ctx, month)
	if err != nil {
		return cases.MonthEndSummary{}, err
	}
	s := cases.FeedbackSummary(a)
	all, err := CarryOver(ctx, db, db.Keys, a.Month, "", cases.DateOf(a.AsOf))
	if err != nil {
		return cases.MonthEndSummary{}, err
	}
	for _, c := range all {
		if c.Round < a.Month {
			s.CarriedOver = append(s.CarriedOver, c)
		}
	}
	return s, nil
}

// CarryOver lists, for month (YYYY-MM) as of today, every open case of township (” for the
// county) still without a result, whatever its round, and the earlier rounds' open cases that
// took a 补充预警 this month: overdue first, then nearest due, then by number.
func CarryOver(ctx context.Context, q sqlx.QueryerContext, k *seal.Keyring, month, township string, today cases.Date) ([]cases.CarryOverCase, error) {
	first, err := cases.ParseMonth(month)
	if err != nil {
		return nil, cases.Errorf(cases.EInvalid, "%v", err)
	}
	from := first.At(0, 0)
	to := cases.NewDate(first.Year, first.Month+1, 1).At(0, 0)
	var out []cases.CarryOverCase
	err = sqlx.SelectContext(ctx, q, &out, `
		SELECT c.case_no, c.round, t.name AS township, c.village, c.head_name, c.kind, c.status, c.due_on,
			(c.round < $1 AND EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id AND e.action = $5
				AND e.at >= $2 AND e.at < $3)) AS supplemented
		FROM cases c JOIN townships t ON t.id = c.township_id
		WHERE c.status <> 'closed' AND c.round <= $1 AND ($4 = '' OR t.name = $4)`,
		month, from, to, township, string(cases.ActAddWarnings))
	if err != nil {
		return nil, fmt.Errorf("carry-over of %s %s: %w", township, month, err)
	}
	kept := out[:0]
	for _, c := range out {
		if c.HeadName, err = k.Open(c.HeadName); err != nil {
			return nil, openErr("户主姓名", err)
		}
		// 信息变更 cases are listed too, in their own section: they owe a 录入, not a result
		if c.NoResult() || c.Supplemented || c.Kind == string(cases.KindInfo) {
			c.Overdue = today.After(c.DueOn)
			kept = append(kept, c)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if a.Overdue != b.Overdue {
			return a.Overdue
		}
		if a.DueOn != b.DueOn {
			return a.DueOn.Before(b.DueOn)
		}
		return a.No < b.No
	})
	return kept, nil
}
