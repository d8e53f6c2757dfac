package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/fangpin/fangpin/cases"
)

// FeedbackOwed is what one township still owes for the month's cases (结果反馈, spec §1 step 4).
type FeedbackOwed struct {
	Township    string
	Dispatched  int
	OwingResult []string // case numbers without a 核查结论 (each also owes a reason if 不纳入)
	OwingEntry  []string // 纳入/已在监测 not yet entered into the national system
}

// MonthEndSummary lists the townships that still owe results or reasons for the month's
// cases. The reminders worker sends its Text to the office on the month's last working day.
type MonthEndSummary struct {
	Month      string
	AsOf       time.Time
	Dispatched int
	Complete   int            // cases with a result (closed, or verified awaiting entry)
	Owing      []FeedbackOwed // only townships that owe something, in org order
	// CarriedOver are earlier months' open cases still without a result, or that took a
	// 补充预警 this month (spec §10), overdue first.
	CarriedOver []CarryOverCase
}

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
		switch f.Status {
		case cases.StatusDispatched, cases.StatusReturned:
			o.OwingResult = append(o.OwingResult, f.No)
		case cases.StatusVerified:
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

// Text renders the summary for the office (private chat or CLI): case numbers only, no
// names or ID numbers, so it is safe anywhere.
func (s MonthEndSummary) Text() string {
	var b strings.Builder
	first, _ := cases.ParseMonth(s.Month)
	fmt.Fprintf(&b, "【%d年%d月结果反馈情况】截至 %s\n", first.Year, int(first.Month), s.AsOf.In(cases.Shanghai).Format("2006-01-02 15:04"))
	if s.Dispatched == 0 {
		b.WriteString("本月没有交办案件。")
		b.WriteString(s.carriedOverText())
		return b.String()
	}
	fmt.Fprintf(&b, "本月交办 %d 户，已反馈核查结论 %d 户。\n", s.Dispatched, s.Complete)
	if len(s.Owing) == 0 {
		b.WriteString("本月案件各乡镇均已反馈核查结论并完成录入，谢谢大家。")
		b.WriteString(s.carriedOverText())
		return b.String()
	}
	b.WriteString("以下乡镇尚需在月底前反馈（不纳入的须逐户写明理由）：")
	for _, o := range s.Owing {
		fmt.Fprintf(&b, "\n• %s（交办 %d 户）", o.Township, o.Dispatched)
		if len(o.OwingResult) > 0 {
			fmt.Fprintf(&b, "\n  未反馈核查结论 %d 户：%s", len(o.OwingResult), listNos(o.OwingResult))
		}
		if len(o.OwingEntry) > 0 {
			fmt.Fprintf(&b, "\n  已核查待录入全国系统 %d 户：%s", len(o.OwingEntry), listNos(o.OwingEntry))
		}
	}
	b.WriteString(s.carriedOverText())
	return b.String()
}

// carriedOverText lists earlier months' cases by township, overdue first (numbers only).
func (s MonthEndSummary) carriedOverText() string {
	if len(s.CarriedOver) == 0 {
		return ""
	}
	var order []string
	by := map[string][]string{}
	overdue := 0
	for _, c := range s.CarriedOver {
		if _, ok := by[c.Township]; !ok {
			order = append(order, c.Township)
		}
		no := c.No
		switch {
		case c.Overdue:
			no += "（逾期）"
			overdue++
		case c.Supplemented && !c.NoResult():
			no += "（本月补充预警）"
		}
		by[c.Township] = append(by[c.Township], no)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n往月交办仍未办完 %d 户（其中逾期 %d 户），逾期的排在前面：", len(s.CarriedOver), overdue)
	for _, t := range order {
		fmt.Fprintf(&b, "\n• %s %d 户：%s", t, len(by[t]), listNos(by[t]))
	}
	return b.String()
}

// listNos keeps chat messages short: at most ten numbers, then a count.
func listNos(nos []string) string {
	const max = 10
	if len(nos) <= max {
		return strings.Join(nos, "、")
	}
	return strings.Join(nos[:max], "、") + fmt.Sprintf(" 等 %d 户", len(nos))
}

// CarryOverCase is one case a month-end reminder lists (spec §10): a case still without a
// result — of this month's round or an earlier one — or an earlier month's case that took a
// 补充预警 this month. Never an ID number, a diagnosis or an amount: safe for a group.
type CarryOverCase struct {
	No           string     `db:"case_no"`
	Round        string     `db:"round"`
	Township     string     `db:"township"`
	Village      string     `db:"village"`
	HeadName     string     `db:"head_name"`
	Kind         string     `db:"kind"`
	Status       string     `db:"status"`
	DueOn        cases.Date `db:"due_on"`
	Supplemented bool       `db:"supplemented"` // took a 补充预警 this month
	Overdue      bool       `db:"-"`
}

// NoResult reports whether the case still owes its 核查结论.
func (c CarryOverCase) NoResult() bool {
	return c.Status == string(cases.StatusDispatched) || c.Status == string(cases.StatusReturned)
}

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
		if c.NoResult() || c.Supplemented {
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

// CarryOverText renders the township's month-end reminder (spec §10), or "" when there is
// nothing to list. Case numbers, villages and masked heads only.
func CarryOverText(township, month string, lastDay cases.Date, today cases.Date, cs []CarryOverCase) string {
	if len(cs) == 0 {
		return ""
	}
	var overdue, current, older, supplemented []string
	for _, c := range cs {
		line := c.line(today)
		switch {
		case c.Overdue:
			overdue = append(overdue, line)
		case c.Supplemented && !c.NoResult():
			supplemented = append(supplemented, line)
		case c.Round == month:
			current = append(current, line)
		default:
			older = append(older, line)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "【月底反馈提醒】%s以下 %d 件案件还没有办完，请在 %s 前逐户反馈核查结果：", township, len(cs), lastDay)
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s（%d 件）：", title, len(lines))
		for _, l := range lines {
			b.WriteString("\n• " + l)
		}
	}
	section("已逾期", overdue)
	section("本月交办、尚无核查结果", current)
	section("往月交办、尚无核查结果", older)
	section("往月案件本月有补充预警，请一并核查", supplemented)
	return b.String()
}

func (c CarryOverCase) line(today cases.Date) string {
	s := c.No
	var parts []string
	if c.Kind == string(cases.KindSweep) {
		parts = append(parts, "区域排查")
	}
	if c.Village != "" {
		parts = append(parts, c.Village)
	}
	if c.HeadName != "" {
		parts = append(parts, "户主"+cases.MaskName(c.HeadName))
	}
	if len(parts) > 0 {
		s += "（" + strings.Join(parts, "，") + "）"
	}
	if c.Overdue {
		s += fmt.Sprintf("，已逾期（时限 %s）", c.DueOn)
	} else {
		s += fmt.Sprintf("，时限 %s", c.DueOn)
	}
	if c.Supplemented {
		s += "，本月有补充预警"
	}
	return s
}
