package cases

import (
	"math"
	"strings"
	"time"
	"unicode"
)

// The assessment's rules (纳入考核和督查, docs/dispatch.md and docs/assessment.md) as pure functions. Every report —
// `fangpin report`, `fangpin cases --json`, the ledger, the 进度 reply — judges a case, a
// push and a score with these and nothing else.

// OnTime is the one rule of timeliness (docs/dispatch.md: the seed counts the deadline 至录入系统).
// It returns nil while the case is open: nothing is decided yet. A closed case is on time
//   - when it closed by 录入 (纳入, 已在监测, 信息变更): the 录入 date typed — not the moment it
//     was typed — is on or before due_on;
//   - when it closed as 不纳入: the day its result was recorded is on or before due_on.
//
// A returned case (抽查不合格) carries its new due date in DueOn and is judged against it.
func OnTime(c Case) *bool {
	if c.Status != StatusClosed {
		return nil
	}
	var done Date
	switch {
	case c.EnteredOn != nil:
		done = *c.EnteredOn
	case c.VerifiedAt != nil:
		done = DateOf(*c.VerifiedAt)
	case c.ClosedAt != nil:
		done = DateOf(*c.ClosedAt)
	default:
		return nil
	}
	ok := !done.After(c.DueOn)
	return &ok
}

// Late reports whether a case missed its due date as of today: closed late, or still open
// after due_on. Every case of a month is exactly one of on time, late, or pending (open and
// not yet due).
func Late(c Case, today Date) bool {
	if ot := OnTime(c); ot != nil {
		return !*ot
	}
	return c.Overdue(today)
}

// MinReasonRunes is the shortest 不纳入 reason accepted (逐户说明, docs/assessment.md).
const MinReasonRunes = 6

// ReasonExample is the example a refused reason is answered with.
const ReasonExample = "家庭年人均收入高于监测标准，无返贫风险"

// CheckExclusionReason is the one check of a 不纳入 reason (docs/assessment.md), used by the 核查
// command, the card and the form alike (all through Apply): at least MinReasonRunes
// characters that are not punctuation, symbols or spaces, and not one character repeated.
// no is the case number for the example in the refusal.
func CheckExclusionReason(no, reason string) error {
	if ReasonSaysSomething(reason) {
		return nil
	}
	return Errorf(EInvalid, "“不纳入”必须逐户写明理由（至少 %d 个字，不能只是标点或重复的字），例如：核查 %s 不纳入 %s",
		MinReasonRunes, no, ReasonExample)
}

// ReasonSaysSomething reports whether reason passes CheckExclusionReason.
func ReasonSaysSomething(reason string) bool {
	var meaningful []rune
	for _, r := range strings.TrimSpace(reason) {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			continue
		}
		meaningful = append(meaningful, r)
	}
	if len(meaningful) < MinReasonRunes {
		return false
	}
	for _, r := range meaningful[1:] {
		if r != meaningful[0] {
			return true
		}
	}
	return false
}

// Weights of the scores (docs/assessment.md).
const (
	WeightOnTime   = 50 // township: on-time rate
	WeightSpot     = 30 // township: spot-check pass rate
	WeightFeedback = 20 // township: feedback rate
	WeightPushes   = 50 // department: pushes on time
	WeightTasks    = 50 // department: tasks on time
)

// Part is one measured part of a score: Done out of Of, weighted Weight. A part with Of == 0
// has nothing to measure.
type Part struct {
	Weight float64
	Done   int
	Of     int
}

// Rate is done/of rounded to four decimals, nil when there is nothing to measure (never 0).
func Rate(done, of int) *float64 {
	if of <= 0 {
		return nil
	}
	r := math.Round(float64(done)/float64(of)*10000) / 10000
	return &r
}

// Score weighs the parts that have something to measure, reweighted to 100 (a part with
// nothing to measure is left out), rounded to one decimal. With nothing at all it is nil.
func Score(parts ...Part) *float64 {
	var sum, weights float64
	for _, p := range parts {
		if p.Of <= 0 {
			continue
		}
		sum += p.Weight * float64(p.Done) / float64(p.Of)
		weights += p.Weight
	}
	if weights == 0 {
		return nil
	}
	s := math.Round(sum/weights*100*10) / 10
	return &s
}

// ScoreTownship is 50 × on-time rate + 30 × spot-check pass rate + 20 × feedback rate.
func ScoreTownship(onTime, decided, spotPassed, spotChecked, fedBack, dispatched int) *float64 {
	return Score(Part{WeightOnTime, onTime, decided}, Part{WeightSpot, spotPassed, spotChecked},
		Part{WeightFeedback, fedBack, dispatched})
}

// ScoreDepartment is 50 × pushes on time ÷ pushes due + 50 × tasks on time ÷ tasks due.
func ScoreDepartment(pushesOnTime, pushesDue, tasksOnTime, tasksDue int) *float64 {
	return Score(Part{WeightPushes, pushesOnTime, pushesDue}, Part{WeightTasks, tasksOnTime, tasksDue})
}

// FedBack reports whether a case's result was recorded by the last day of its round's
// month (结果反馈, docs/dispatch.md and docs/assessment.md): firstResult is when a 核查结论 was first recorded
// (nil if never). A 不纳入 always has its own reason (Apply refuses it without one).
func FedBack(round string, firstResult *time.Time) bool {
	if firstResult == nil {
		return false
	}
	m, err := ParseMonth(round)
	if err != nil {
		return false
	}
	return !DateOf(*firstResult).After(m.LastOfMonth())
}

// DispatchDeadlineOf is the day by which the office must dispatch month's round (by the 10th).
func DispatchDeadlineOf(month Date) Date {
	return NewDate(month.Year, month.Month, DispatchDeadlineDay)
}

// RoundDue reports whether the office owed month's round as of today, and whether it was
// dispatched by the 10th: a round is due once it exists or once the 10th has passed.
func RoundDue(month Date, dispatchedOn *Date, today Date) (due, onTime bool) {
	deadline := DispatchDeadlineOf(month)
	if dispatchedOn == nil {
		return today.After(deadline), false
	}
	return true, !dispatchedOn.After(deadline)
}

// TaskOnTime is the task's timeliness: nil while open, else done on or before due_on.
func TaskOnTime(t Task) *bool {
	if t.DoneOn == nil {
		return nil
	}
	ok := !t.DoneOn.After(t.DueOn)
	return &ok
}

// TaskDue reports whether a task counts in its department's score as of today: done, or
// open past its due date.
func TaskDue(t Task, today Date) bool {
	return t.DoneOn != nil || today.After(t.DueOn)
}
