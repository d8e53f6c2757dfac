package postgres

import (
	"context"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

type FeedbackOwed = cases.FeedbackOwed

type MonthEndSummary = cases.MonthEndSummary

// MonthEndSummary builds the feedback summary from the month's assessment.
func (db *DB) MonthEndSummary(ctx context.Context, month string) (MonthEndSummary, error) {
	a, err := db.Assess(ctx, month)
	if err != nil {
		return MonthEndSummary{}, err
	}
	s := FeedbackSummary(a)
	all, err := CarryOver(ctx, db, a.Month, "", cases.DateOf(a.AsOf))
	if err != nil {
		return MonthEndSummary{}, err
	}
	for _, c := range all {
		if c.Round < a.Month {
			s.CarriedOver = append(s.CarriedOver, c)
		}
	}
	return s, nil
}

// FeedbackSummary derives the month-end summary from an assessment.
func FeedbackSummary(a Assessment) MonthEndSummary {
	s := MonthEndSummary{Month: a.Month, AsOf: a.AsOf}
	owed := map[string]*FeedbackOwed{}
	for _, t := range a.Townships {
		owed[t.Name] = &FeedbackOwed{Township: t.Name, Dispatched: t.Dispatched}
	}
	for _, f := range a.Cases {
		s.Dispatched++
		o := owed[f.Township]
		switch {
		case f.Kind == cases.KindInfo && f.Status != cases.StatusClosed:
			o.OwingEntry = append(o.OwingEntry, f.No) // 信息变更 owes its 录入, not a 核查结论
		case f.Kind == cases.KindInfo:
			s.Complete++
		case f.Status == cases.StatusDispatched || f.Status == cases.StatusReturned:
			o.OwingResult = append(o.OwingResult, f.No)
		case f.Status == cases.StatusVerified:
			o.OwingEntry = append(o.OwingEntry, f.No)
			s.Complete++
		default:
			s.Complete++
		}
	}
	for _, t := range a.Townships {
		if o := owed[t.Name]; len(o.OwingResult)+len(o.OwingEntry) > 0 {
			s.Owing = append(s.Owing, *o)
		}
	}
	return s
}

type CarryOverCase = cases.CarryOverCase

// CarryOver lists, for month (YYYY-MM) as of today, every open case of township (” for the
// county) still without a result, whatever its round, and the earlier rounds' open cases that
// took a 补充预警 this month: overdue first, then nearest due, then by number.
func CarryOver(ctx context.Context, q sqlx.QueryerContext, month, township string, today cases.Date) ([]CarryOverCase, error) {
	first, err := cases.ParseMonth(month)
	if err != nil {
		return nil, cases.Errorf(cases.EInvalid, "%v", err)
	}
	from := first.At(0, 0)
	to := cases.NewDate(first.Year, first.Month+1, 1).At(0, 0)
	var out []CarryOverCase
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

// CarryOverText is cases.CarryOverText.
func CarryOverText(township, month string, lastDay cases.Date, today cases.Date, cal *cases.Calendar, cs []CarryOverCase) string {
	return cases.CarryOverText(township, month, lastDay, today, cal, cs)
}
