package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

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
}

// MonthEndSummary builds the feedback summary from the month's assessment.
func (db *DB) MonthEndSummary(ctx context.Context, month string) (MonthEndSummary, error) {
	a, err := db.Assess(ctx, month)
	if err != nil {
		return MonthEndSummary{}, err
	}
	return FeedbackSummary(a), nil
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
		return b.String()
	}
	fmt.Fprintf(&b, "本月交办 %d 户，已反馈核查结论 %d 户。\n", s.Dispatched, s.Complete)
	if len(s.Owing) == 0 {
		b.WriteString("各乡镇均已反馈核查结论并完成录入，谢谢大家。")
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
