package cases

import (
	"fmt"
	"sort"
	"time"
)

// The round's plan (docs/dispatch.md "Where the plan lives"): what becomes of each household of
// a 交办 round or of a 申报/走访 — merge into its open case (补充预警), hold as 比对已核, or a new
// case — and which departments get tasks. PlanRound decides; cases/postgres loads the facts,
// executes the plan in one transaction and returns what happened.

// CaseWorkingDays is how long a case has from its 交办: due_on is the 20th working day after
// it, and a new category or 问题类型 merged into an open case moves due_on there again.
const CaseWorkingDays = 20

// CaseDue is the due date of a case (or of a new problem merged into one) given on day.
func CaseDue(cal *Calendar, day Date) Date { return cal.AddWorkingDays(day, CaseWorkingDays) }

// OpenCase is an open case a household's warnings join, with what it already holds.
type OpenCase struct {
	ID       int64
	No       string
	Problems []string // ProblemKey of the warnings it holds (not those held against it)
	Warnings []string // WarningKey of the same warnings: a round's repeat of one is a duplicate
	// TaskDepartments are the departments with a task on it, open or done.
	TaskDepartments []string
}

// SelfFoundPath marks a plan for a cadre's 申报/走访 rather than a 交办 round. The two differ
// by design only here: a household the township found itself is never held as 比对已核 (a
// cadre who saw it now is the newer fact), the case is of the report's source, and the cadre
// who found it is its responsible cadre. Merging and tasks follow the same rules.
type SelfFoundPath struct {
	Source   CaseSource // SourceApplied or SourceVisit
	Reporter string     // the cadre's userid
}

// RoundFacts is what the store loads before a round is planned.
type RoundFacts struct {
	Date       Date      // the 交办 day
	At         time.Time // when the changes are recorded
	Cal        *Calendar
	Households []Household // GroupWarnings of the round's warnings, with registry facts
	// Open is the open case each household joins, by household key: its own, else one of its
	// people's or its registry household's (open cases follow people, docs/dispatch.md).
	Open map[string]OpenCase
	// Earlier is the latest case of households with no open case that had one (hold rule).
	Earlier   map[string]EarlierResult
	SelfFound *SelfFoundPath // nil for a 交办 round
	// Population are the round's 人员变动 warnings by registry household (GroupPopulation), and
	// OpenInfo the open 信息变更 case of those that have one.
	Population []Household
	OpenInfo   map[string]OpenCase
}

// PlanAction is what becomes of one household.
type PlanAction string

const (
	PlanMerge  PlanAction = "merge"  // 补充预警 into Into
	PlanHold   PlanAction = "hold"   // 比对已核 against Earlier
	PlanCreate PlanAction = "create" // a new case
	// PlanRepeat: every warning repeats one its open case holds (the same person, category,
	// 问题类型 and period); they are linked to it, and nobody is told again.
	PlanRepeat PlanAction = "repeat"
)

// PlannedHousehold is the decision for one household.
type PlannedHousehold struct {
	Household Household
	Action    PlanAction
	// merge and repeat
	Into    OpenCase
	Command Command // ActAddWarnings: the reason, and a new due date when a problem is new
	// Duplicates repeat warnings Into holds; Household.Warnings are the others.
	Duplicates []WarningFact
	// hold
	Earlier EarlierResult
	Held    []HeldWarning
	// create
	Kind        Kind
	Source      CaseSource
	DueOn       Date
	Responsible string // userid of the cadre who handles it from the start, '' for the township's routing
	// Departments ask for a task each (merge and create); the store keeps an open task of
	// the department rather than add a second one.
	Departments []string
}

// RoundPlan is the plan of a round, households in the order they were grouped.
type RoundPlan struct {
	Due        Date // CaseDue of the round's day
	Households []PlannedHousehold
	// Population is the 信息变更 part: a household's changes join its open 信息变更 case or
	// open one, due InfoCaseDue, with no 核查 and no department task.
	Population []PlannedHousehold
}

// Count counts the households planned for action a.
func (p RoundPlan) Count(a PlanAction) int {
	n := 0
	for _, h := range p.Households {
		if h.Action == a {
			n++
		}
	}
	return n
}

// Of lists the households planned for action a, in order.
func (p RoundPlan) Of(a PlanAction) []PlannedHousehold {
	var out []PlannedHousehold
	for _, h := range p.Households {
		if h.Action == a {
			out = append(out, h)
		}
	}
	return out
}

// PlanRound decides the round: a household with an open case merges into it; one whose
// latest case verified the same problems within HoldMonths is held (Hold); any other gets a
// new case of kind 新增 or 更新 (Household.Kind), due CaseWorkingDays working days after the day.
func PlanRound(f RoundFacts) RoundPlan {
	p := RoundPlan{Due: CaseDue(f.Cal, f.Date)}
	// Two households of one round can follow the same open case: the second sees what the
	// first brought, as it would if they came in two rounds.
	joined := map[string]*OpenCase{}
	for _, h := range f.Households {
		ph := PlannedHousehold{Household: h}
		if o, ok := f.Open[h.Key]; ok {
			cur := joined[o.No]
			if cur == nil {
				c := o
				cur = &c
				joined[o.No] = cur
			}
			ph = planMerge(h, *cur, f, p.Due)
			cur.Problems = append(cur.Problems, NewProblems(cur.Problems, ph.Household.Warnings)...)
			cur.TaskDepartments = append(cur.TaskDepartments, ph.Departments...)
			for _, w := range ph.Household.Warnings {
				cur.Warnings = append(cur.Warnings, WarningKey(w))
			}
		} else if e, ok := f.Earlier[h.Key]; ok && f.SelfFound == nil && !h.Area && Hold(e, h.Warnings, f.Date).Hold {
			ph.Action, ph.Earlier, ph.Held = PlanHold, e, heldList(e, h)
		} else {
			ph.Action, ph.Kind, ph.DueOn, ph.Source = PlanCreate, h.Kind(), p.Due, SourceScreening
			ph.Departments = TaskDepartments(h.Warnings)
			if f.SelfFound != nil {
				ph.Source, ph.Responsible = f.SelfFound.Source, f.SelfFound.Reporter
			}
		}
		p.Households = append(p.Households, ph)
	}
	for _, h := range f.Population {
		ph := PlannedHousehold{Household: h, Action: PlanCreate, Kind: KindInfo, DueOn: InfoCaseDue(f.Date), Source: SourcePopulation}
		if o, ok := f.OpenInfo[h.Key]; ok {
			ph = PlannedHousehold{Household: h, Action: PlanMerge, Into: o,
				Command: Command{Action: ActAddWarnings, Now: f.At, Reason: fmt.Sprintf("人员变动 %d 条", len(h.Warnings))}}
		}
		p.Population = append(p.Population, ph)
	}
	return p
}

// GroupPopulation groups 人员变动 warnings by the registry household each belongs to (Reg):
// one 信息变更 case per household, keyed info:<户编号>, of the household's township and head.
// Households come out in the order of their first warning.
func GroupPopulation(ws []WarningFact) []Household {
	index := map[string]int{}
	var out []Household
	for _, w := range ws {
		if w.Reg == nil {
			continue
		}
		key := "info:" + w.Reg.No
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Household{Key: key, HouseholdNo: w.Reg.No, HeadIDNumber: w.Reg.HeadIDNumber,
				HeadName: w.Reg.HeadName, Township: w.Reg.Township, Village: w.Reg.Village})
		}
		out[i].Warnings = append(out[i].Warnings, w)
	}
	return out
}

// planMerge is 补充预警: the open case takes the warnings through the lifecycle (refused for
// a closed case, audited like every change); a new category or 问题类型 moves its due date.
// In a round, warnings that repeat ones the case holds are duplicates, not 补充预警
// (docs/dispatch.md); a cadre's 申报/走访 always merges, being what they saw now.
func planMerge(h Household, o OpenCase, f RoundFacts, due Date) PlannedHousehold {
	var dups []WarningFact
	if f.SelfFound == nil {
		h.Warnings, dups = SplitDuplicates(o.Warnings, h.Warnings)
		if len(h.Warnings) == 0 {
			return PlannedHousehold{Household: h, Action: PlanRepeat, Into: o, Duplicates: dups}
		}
	}
	fresh := NewProblems(o.Problems, h.Warnings)
	cmd := Command{Action: ActAddWarnings, Now: f.At,
		Reason: fmt.Sprintf("补充预警 %d 条（%s）", len(h.Warnings), CategoryLabels(h.Categories()))}
	if f.SelfFound != nil {
		cmd.Reason = fmt.Sprintf("补充预警（%s）", f.SelfFound.Source)
	}
	if len(fresh) > 0 {
		cmd.Date = due
	}
	return PlannedHousehold{Household: h, Action: PlanMerge, Into: o, Command: cmd, Duplicates: dups,
		Departments: MergeTaskDepartments(o, h.Warnings)}
}

// MergeTaskDepartments is the one rule of which departments get a task when warnings join an
// open case: a merged warning never loses its department — a department with no task on the
// case, or a new problem for one whose task may be done, gets a task.
func MergeTaskDepartments(o OpenCase, ws []WarningFact) []string {
	has := map[string]bool{}
	for _, d := range o.TaskDepartments {
		has[d] = true
	}
	isFresh := map[string]bool{}
	for _, k := range NewProblems(o.Problems, ws) {
		isFresh[k] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		if d := TaskDepartment(w); d != "" && !seen[d] && (!has[d] || isFresh[ProblemKey(w)]) {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// heldList is the round's answer for a held household: each warning and why.
func heldList(e EarlierResult, h Household) []HeldWarning {
	out := make([]HeldWarning, len(h.Warnings))
	for i, w := range h.Warnings {
		out[i] = HeldWarning{IDNumber: w.IDNumber, Category: w.Category, EarlierCase: e.CaseNo,
			Name: w.Name, Township: h.Township, Reason: HeldReason(e)}
	}
	return out
}

// Outcome is one case a round created or added to, with the other townships its rows named.
type Outcome struct {
	Dispatched
	OtherTownships []string
}

// GroupNotices groups a round's outcomes into what each township is told, townships in name
// order: its own cases, and masked, the households its rows named that went elsewhere. The
// store fills in each township's chat, cadres and liaisons.
func GroupNotices(round string, outs []Outcome) []TownshipNotice {
	byTown := map[string]*TownshipNotice{}
	var order []string
	notice := func(town string) *TownshipNotice {
		n := byTown[town]
		if n == nil {
			n = &TownshipNotice{Round: round, Township: town, Liaisons: map[string][]string{}}
			byTown[town] = n
			order = append(order, town)
		}
		return n
	}
	for _, o := range outs {
		n := notice(o.Case.Township)
		n.Cases = append(n.Cases, o.Dispatched)
		for _, other := range o.OtherTownships {
			if other != o.Case.Township {
				e := notice(other)
				e.Elsewhere = append(e.Elsewhere, o.Dispatched)
			}
		}
	}
	sort.Strings(order)
	out := make([]TownshipNotice, len(order))
	for i, t := range order {
		out[i] = *byTown[t]
	}
	return out
}
