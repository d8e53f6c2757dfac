package scenario

import (
	"context"
	"slices"

	"github.com/fangpin/fangpin/cases"
)

// Step is something people do on the days When holds, after the 09:00 reminders.
type Step struct {
	When func(day cases.Date) bool
	Do   func(ctx context.Context, p *Play, day cases.Date) error
}

// Script is the story, in the order things happen on a day. Add a step with a line here.
func Script() []Step {
	var s []Step
	// Departments push by the 5th; 民政局 late on the 6th, after its reminders.
	for _, p := range Pushes {
		s = append(s, Step{Monthly(p.Day), p.Play})
	}
	return append(s,
		Step{On("2026-11-04"), AreaAlert}, // a flood reported by village: one 区域排查
		Step{On("2026-12-01"), Reimport},  // the monthly registry re-import (docs/registry.md)
		Step{Monthly(10), Dispatch},       // 集中交办 by the 10th
		Step{On("2026-11-16", "2026-12-16"), AnswerThisMonth(0.5)},
		Step{On("2026-11-18"), Visit},           // a cadre reports a household found on a visit (干部走访)
		Step{On("2026-11-19"), DepartmentTasks}, // liaisons record what their departments did (办理)
		Step{On("2026-11-24", "2026-12-22"), AnswerThisMonth(0.6)},
		Step{On("2026-12-02"), EnterAll("2026-11")},
		Step{On("2026-12-11"), AnswerLate("2026-11", 0.7)}, // after the overdue reminders
		Step{On("2026-12-14"), SpotChecks("2026-11", 0.1, 202611)},
		Step{On("2026-12-15"), Results("2026-11")}, // 结果运用: a department reads what became of its warnings
		Step{On("2026-12-16"), Leaders("2026-11")}, // 进度 as a chart; a county leader opens the overview
		Step{On("2026-12-29"), EnterAll("")},
	)
}

// Monthly is the day-th of every month.
func Monthly(day int) func(cases.Date) bool {
	return func(d cases.Date) bool { return d.Day == day }
}

// On is the given dates (YYYY-MM-DD).
func On(dates ...string) func(cases.Date) bool {
	return func(d cases.Date) bool { return slices.Contains(dates, d.String()) }
}
