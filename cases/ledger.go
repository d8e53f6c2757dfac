package cases

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Township is a township with its chat.
type Township struct {
	ID         int
	Name       string
	Aliases    []string
	Formerly   []string
	AppChatID  string
	WebhookKey string
}

// FeedbackOwed is what one township still owes for the month's cases (结果反馈, docs/dispatch.md).
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
	// 补充预警 this month (docs/reminders.md), overdue first.
	CarriedOver []CarryOverCase
}

// Text renders the summary for the office (private chat or CLI): case numbers only, no
// names or ID numbers, so it is safe anywhere.
func (s MonthEndSummary) Text() string {
	var b strings.Builder
	first, _ := ParseMonth(s.Month)
	fmt.Fprintf(&b, "【%d年%d月结果反馈情况】截至 %s\n", first.Year, int(first.Month), s.AsOf.In(Shanghai).Format("2006-01-02 15:04"))
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
			fmt.Fprintf(&b, "\n  未反馈核查结论 %d 户：%s", len(o.OwingResult), ListNos(o.OwingResult))
		}
		if len(o.OwingEntry) > 0 {
			fmt.Fprintf(&b, "\n  已核查待录入全国系统 %d 户：%s", len(o.OwingEntry), ListNos(o.OwingEntry))
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
		fmt.Fprintf(&b, "\n• %s %d 户：%s", t, len(by[t]), ListNos(by[t]))
	}
	return b.String()
}

// CarryOverCase is one case a month-end reminder lists (docs/reminders.md): a case still without a
// result — of this month's round or an earlier one — or an earlier month's case that took a
// 补充预警 this month. Never an ID number, a diagnosis or an amount: safe for a group.
type CarryOverCase struct {
	No           string `db:"case_no"`
	Round        string `db:"round"`
	Township     string `db:"township"`
	Village      string `db:"village"`
	HeadName     string `db:"head_name"`
	Kind         string `db:"kind"`
	Status       string `db:"status"`
	DueOn        Date   `db:"due_on"`
	Supplemented bool   `db:"supplemented"` // took a 补充预警 this month
	Overdue      bool   `db:"-"`
}

// NoResult reports whether the case still owes its 核查结论 (a 信息变更 case owes none, only its 录入).
func (c CarryOverCase) NoResult() bool {
	return c.Kind != string(KindInfo) && (c.Status == string(StatusDispatched) || c.Status == string(StatusReturned))
}

// Line is how the case appears in the carried-over list (overdue in working days).
func (c CarryOverCase) Line(today Date, cal *Calendar) string {
	s := c.No
	var parts []string
	if c.Kind == string(KindSweep) {
		parts = append(parts, "区域排查")
	}
	if p := (Case{Village: c.Village, Township: c.Township}).Place(); p != "" {
		parts = append(parts, p)
	}
	if c.HeadName != "" {
		parts = append(parts, "户主"+MaskName(c.HeadName))
	}
	if len(parts) > 0 {
		s += "（" + strings.Join(parts, "，") + "）"
	}
	if c.Overdue {
		s += fmt.Sprintf("，%s（时限 %s）", cal.DueText(c.DueOn, today), c.DueOn)
	} else {
		s += fmt.Sprintf("，时限 %s", c.DueOn)
	}
	if c.Supplemented {
		s += "，本月有补充预警"
	}
	return s
}

// SelfFound is a household the township found itself (docs/held-and-tasks.md): a household applied
// (农户申报) or a cadre found it on a visit (干部走访).
type SelfFound struct {
	Source    CaseSource // SourceApplied or SourceVisit
	IDNumber  string     // validated by the caller (ValidateIDNumber)
	Name      string
	Category  Category
	Problem   string // 问题类型 for assurance
	Situation string // 情况: stored, shown only in private
	// Village is the 村 the form asks for; the registry's village wins for a person it knows.
	// AskVillage (the form) refuses a person the registry does not know without one
	// (ErrVillageNeeded); by chat such a case shows its township.
	Village    string
	AskVillage bool
	Actor      Actor
	Src        Source
	Announce   Announcer // nil: queue nothing
}

// ErrVillageNeeded refuses a 申报/走访 form of a person the registry does not know, without a 村.
var ErrVillageNeeded = Errorf(EInvalid, "该群众不在监测台账中，系统查不到所在村，请填写村名。")

// SelfFoundResult says what became of it.
type SelfFoundResult struct {
	Case   Case
	Merged bool // 补充预警 to the household's open case
	Tasks  []Task
}

// Sweep is one 区域排查 task with what was found.
type Sweep struct {
	Case     Case
	Category Category
	Event    string
	Villages []string
	Found    *int     // nil until done
	Note     string   // 说明, for the office only
	Linked   []string // case numbers of the households reported with 走访 and linked to it
}

// SweepFact is one 区域排查 task of a month, for the report and the ledger's 区域排查 sheet.
type SweepFact struct {
	No           string
	Township     string
	Category     Category
	Event        string
	Villages     []string
	DispatchedAt time.Time
	DueOn        Date
	Status       Status
	Found        *int
	Note         string
	DoneAt       *time.Time
	Linked       int // households reported with 走访 and linked to the task
	OnTime       bool
	Overdue      bool
}

// SweepTownship counts a township's 区域排查 tasks of the month, apart from its households
// (docs/registry.md): they never count as dispatched households or as a 纳入.
type SweepTownship struct {
	Name    string `json:"name"`
	Tasks   int    `json:"tasks"`
	Done    int    `json:"done"`
	Overdue int    `json:"overdue"`
	Found   int    `json:"found"` // households found, as reported with 排查 … 完成
	Linked  int    `json:"linked"`
}

// CaseFilter narrows ListCases; empty fields match everything.
type CaseFilter struct {
	Round      string
	Township   string
	Department string
	Statuses   []Status
	OpenOnly   bool
	DueBefore  *Date // due_on < DueBefore
}

// Source says where a change came from, for the audit trail: a WeCom message id, a form
// submission, a CLI run.
type Source string

// Event is one entry of a case's audit trail.
type Event struct {
	ID     int64           `db:"id" json:"id"`
	Action string          `db:"action" json:"action"`
	From   string          `db:"from_status" json:"from"`
	To     string          `db:"to_status" json:"to"`
	Actor  string          `db:"actor" json:"actor"`
	Role   string          `db:"actor_role" json:"role"`
	Source string          `db:"source_msg" json:"source"`
	Detail json.RawMessage `db:"detail" json:"detail"`
	At     time.Time       `db:"at" json:"at"`
}

// CaseFact is one case of the month with everything the assessment and the ledger need.
type CaseFact struct {
	No                string
	Round             string // the month of its 集中交办 (YYYY-MM)
	Kind              Kind
	Source            CaseSource
	Township          string
	Village           string
	HeadName          string
	HouseholdNo       string // registry 户编号, if known
	HeadIDNumber      string // for masking only: never printed in full
	HouseholdKind     string // 户类型 in the registry now (监测对象类型), '' when not in it
	Department        string // 责任部门, for assurance cases
	Status            Status
	Result            Result
	Reason            string
	DispatchedAt      time.Time
	DueOn             Date
	OriginalDueOn     *Date // before the first return by a spot check
	VerifiedAt        *time.Time
	FirstResultAt     *time.Time // when a 核查结论 was first recorded (audit trail)
	EnteredOn         *Date
	ClosedAt          *time.Time
	Returns           int
	Categories        []Category
	SourceDepartments []string   // departments whose pushes raised the case's warnings
	SpotResult        SpotResult // '' if not checked; else the latest finding
	SpotPicked        bool       // a spot_checks row exists for the month
	SpotFailures      int
	SpotBy            string // the supervisor's name (never the login ID)
	SpotOn            *Date  // the day of the latest finding
	Tasks             []Task
	OnTime            bool  // decided and on time
	Overdue           bool  // decided late, or open past due
	Judged            *bool // OnTime: nil while open
	FedBack           bool  // FedBack
}

// Note is the 核查说明 of a 纳入 or 已在监测 result (the assistance arranged); a 不纳入's
// text is its reason, not a 说明.
func (f CaseFact) Note() string {
	if f.Result == ResultInclude || f.Result == ResultMonitored {
		return f.Reason
	}
	return ""
}

// Area reports whether the case is a township-wide alert (区域排查) rather than a household.
func (f CaseFact) Area() bool { return f.HeadName == "" && f.HeadIDNumber == "" && f.HouseholdNo == "" }

// Case is the fact as a Case, for the domain's rules.
func (f CaseFact) Case() Case {
	return Case{No: f.No, Status: f.Status, Result: f.Result, DueOn: f.DueOn, OriginalDueOn: f.OriginalDueOn,
		VerifiedAt: f.VerifiedAt, EnteredOn: f.EnteredOn, ClosedAt: f.ClosedAt, DispatchedAt: f.DispatchedAt}
}

// TownshipScore is one township's figures. The JSON is exactly docs/assessment.md's; the other
// fields are for the chat replies and the month-end summary. Rates and the score are nil
// (JSON null) when there is nothing to measure, never 0.
type TownshipScore struct {
	Name         string   `json:"name"`
	Dispatched   int      `json:"dispatched"`
	Closed       int      `json:"closed"`
	OnTime       int      `json:"on_time"`
	Overdue      int      `json:"overdue"`
	OnTimeRate   *float64 `json:"on_time_rate"`
	SpotChecked  int      `json:"spot_checked"`
	SpotFailed   int      `json:"spot_failed"`
	FeedbackRate *float64 `json:"feedback_rate"`
	Score        *float64 `json:"score"`

	FedBack     int  `json:"-"` // cases with a result recorded by the month's last day
	FeedbackDue bool `json:"-"` // the month is over: its feedback (结果反馈) can be judged
	Verified    int  `json:"-"` // status verified now (result recorded, awaiting 录入)
	Returned    int  `json:"-"` // status returned now
	OwingResult int  `json:"-"` // open cases still without a 核查结论 (never 信息变更)
	OwingEntry  int  `json:"-"`
	Excluded    int  `json:"-"` // 不纳入, each with its reason
	Open        int  `json:"-"` // not closed as of the report
	// 信息变更 cases have no 核查结论: their own line (待录入 / 已录入), on time by their 录入.
	InfoPending int `json:"-"`
	InfoEntered int `json:"-"`
}

// Decided is the on-time rate's denominator: cases closed, and open cases past their due
// date (late). An open case not yet due is not judged.
func (t TownshipScore) Decided() int { return t.OnTime + t.Overdue }

// SpotPassed is the spot-check pass rate's numerator.
func (t TownshipScore) SpotPassed() int { return t.SpotChecked - t.SpotFailed }

// FeedbackOf is the feedback rate's denominator: the month's cases that owe a 核查结论 (信息变更
// cases owe a 录入 only), and none until the month is over.
func (t TownshipScore) FeedbackOf() int {
	if !t.FeedbackDue {
		return 0
	}
	return t.Dispatched - t.InfoPending - t.InfoEntered
}

// Fill fills the rates and the score from the counts: the one rule of every township line
// and of the 合计 (SumTownships). Feedback is judged only once the month is over: until its
// last day has passed, every township still has time, and the part is left out rather than
// counted as 0. A township with no case decided — all its cases open and not yet due — has
// no score, even once its feedback is due (docs/assessment.md): its feedback alone would make
// it 100 or 0, and a spot check of open cases alone would make it 100.
func (t *TownshipScore) Fill() {
	fedBack, due := t.FedBack, t.FeedbackOf()
	if due == 0 {
		fedBack = 0
	}
	t.OnTimeRate = Rate(t.OnTime, t.Decided())
	t.FeedbackRate = Rate(fedBack, due)
	t.Score = nil
	if t.Decided() > 0 {
		t.Score = ScoreTownship(t.OnTime, t.Decided(), t.SpotPassed(), t.SpotChecked, fedBack, due)
	}
}

// SumTownships is the county's line (汇总's 合计, 进度's 全县合计): the townships' counts added
// up and its rates by Fill, the rule of each township's own line, so that a rate no township
// has (—) is not given to the county either. A county has no score of its own: Score is nil.
// A count added to TownshipScore that Fill reads must be added up here too.
func SumTownships(ts []TownshipScore) TownshipScore {
	total := TownshipScore{Name: "合计"}
	for _, t := range ts {
		total.Dispatched += t.Dispatched
		total.Closed += t.Closed
		total.OnTime += t.OnTime
		total.Overdue += t.Overdue
		total.SpotChecked += t.SpotChecked
		total.SpotFailed += t.SpotFailed
		total.FedBack += t.FedBack
		total.FeedbackDue = total.FeedbackDue || t.FeedbackDue
		total.Verified += t.Verified
		total.Returned += t.Returned
		total.OwingResult += t.OwingResult
		total.OwingEntry += t.OwingEntry
		total.Excluded += t.Excluded
		total.Open += t.Open
		total.InfoPending += t.InfoPending
		total.InfoEntered += t.InfoEntered
	}
	total.Fill()
	total.Score = nil
	return total
}

// Conclusion is the case's 核查结论 as the ledger and the reports show it: the result, else
// where the case stands; a 信息变更 case has none, only 待录入 or 已录入.
func (f CaseFact) Conclusion() string {
	switch {
	case f.Kind == KindInfo && f.EnteredOn != nil:
		return "已录入"
	case f.Kind == KindInfo:
		return "待录入"
	case f.Result != ResultNone:
		return f.Result.Label()
	}
	return f.Status.Label()
}

// DepartmentScore is one department's figures for the month (docs/assessment.md).
type DepartmentScore struct {
	Name         string   `json:"name"`
	PushesDue    int      `json:"pushes_due"`
	PushesOnTime int      `json:"pushes_on_time"`
	TasksDue     int      `json:"tasks_due"`
	TasksOnTime  int      `json:"tasks_on_time"`
	Score        *float64 `json:"score"`

	Pushes []PushDue `json:"-"`
	Tasks  []Task    `json:"-"` // the month's cases' tasks of the department, due or not
}

// PushDue is one push a department owed with a deadline in the month.
type PushDue struct {
	Category Category
	Period   string     // the data's YYYY-MM (education: the 学年, e.g. 2026-2027)
	Deadline Date       // epidemic: the day it arrived (each event's 3 days are judged at import)
	Received *time.Time // first batch for it, if any
	OnTime   bool
}

// OfficeScore is the office's dispatch timeliness (docs/assessment.md): the month's round dispatched
// by the 10th. The JSON is exactly docs/assessment.md's.
type OfficeScore struct {
	RoundsDue    int `json:"rounds_due"`
	RoundsOnTime int `json:"rounds_on_time"`

	Deadline     Date  `json:"-"`
	DispatchedOn *Date `json:"-"`
}

// Rate is the office's rate, nil while no round was due.
func (o OfficeScore) Rate() *float64 { return Rate(o.RoundsOnTime, o.RoundsDue) }

// CategoryCount is one line of 统计: the month's cases of a category by result.
type CategoryCount struct {
	Category  Category
	Cases     int
	Include   int // 纳入
	Monitored int // 已在监测
	Exclude   int // 不纳入
	Pending   int // no result yet (never a 信息变更 case: see Info)
	// 信息变更 cases, counted apart (Cases excludes them): 待录入 and 已录入.
	InfoPending int
	InfoEntered int
}

// Assessment is a month's assessment.
type Assessment struct {
	Month       string            `json:"-"`
	AsOf        time.Time         `json:"-"`
	County      string            `json:"-"`
	Townships   []TownshipScore   `json:"townships"`
	Departments []DepartmentScore `json:"departments"`
	Office      OfficeScore       `json:"office"`
	// A month not yet over is provisional: its figures are 截至今日, with Open cases still open.
	Provisional bool            `json:"provisional,omitempty"`
	Open        *int            `json:"open,omitempty"` // set when Provisional
	Categories  []CategoryCount `json:"-"`              // only categories with cases, in spec order
	Total       CategoryCount   `json:"-"`              // every case once (Category empty)
	Cases       []CaseFact      `json:"-"`              // by case number
	// 区域排查 tasks (docs/registry.md), counted apart from households: never dispatched households, never 纳入.
	AreaSweeps []SweepTownship `json:"area_sweeps,omitempty"`
	Sweeps     []SweepFact     `json:"-"`
}

// UnfinishedCase is an earlier month's case still open at the end of a month (the ledger's
// 往月未办结): the case as it is now, and how late it was at that month's end.
type UnfinishedCase struct {
	CaseFact
	// DaysOverdue counts the working days past due at the month's end (today while the
	// month is in progress); 0 when it was not yet due.
	DaysOverdue int
}

// MonthLedger is what the month's ledger (预警信息核查办理台账, docs/ledger.md) prints: the
// month's assessment and the earlier months' cases still open at its end.
type MonthLedger struct {
	Assessment
	Unfinished []UnfinishedCase // by round, then case number
}

// Township returns the named township's score.
func (a *Assessment) Township(name string) (TownshipScore, bool) {
	for _, t := range a.Townships {
		if t.Name == name {
			return t, true
		}
	}
	return TownshipScore{}, false
}

// DispatchOptions configures one round of 比对初筛、集中交办.
type DispatchOptions struct {
	Month    string // YYYY-MM of the round; default the month of Date
	Date     Date   // dispatch day; default today (Asia/Shanghai)
	DryRun   bool   // compute the plan, change nothing
	Actor    Actor
	Source   Source
	Announce Announcer // nil: queue nothing
}

// DispatchResult is the JSON of `fangpin dispatch` (docs/dispatch.md); Notices holds the details.
type DispatchResult struct {
	Round        string `json:"round"`
	CasesCreated int    `json:"cases_created"`
	Merged       int    `json:"merged"`
	Held         int    `json:"held"`
	// Duplicates counts warnings that repeat one an open case holds (docs/dispatch.md): linked
	// to it, nobody told again.
	Duplicates      int              `json:"duplicates,omitempty"`
	DepartmentTasks int              `json:"department_tasks"`
	ByTownship      map[string]int   `json:"by_township"`
	HeldList        []HeldWarning    `json:"held_list"`
	DryRun          bool             `json:"-"`
	Notices         []TownshipNotice `json:"-"`
}

// HeldWarning is one warning a round held as 比对已核 (docs/dispatch.md).
type HeldWarning struct {
	IDNumber    string   `json:"id_number"`
	Category    Category `json:"category"`
	EarlierCase string   `json:"earlier_case"`
	Name        string   `json:"-"` // for the office's reply; masked when it could reach a group
	Township    string   `json:"-"`
	Reason      string   `json:"-"` // why it was held (cases.HeldReason), for the office's reply
}

// SpotPick is one case drawn for a spot check.
type SpotPick struct {
	CaseNo   string   `json:"case_no"`
	Township string   `json:"township"`
	Category Category `json:"category"`
}

// ListNos keeps chat messages short: at most ten numbers, then a count.
func ListNos(nos []string) string {
	const max = 10
	if len(nos) <= max {
		return strings.Join(nos, "、")
	}
	return strings.Join(nos[:max], "、") + fmt.Sprintf(" 等 %d 户", len(nos))
}

// ActDispatch is the audit action of a case's creation.
const ActDispatch Action = "dispatch"

// CarryOverText renders the township's month-end reminder (docs/reminders.md), or "" when there is
// nothing to list. Case numbers, villages and masked heads only.
func CarryOverText(township, month string, lastDay Date, today Date, cal *Calendar, cs []CarryOverCase) string {
	if len(cs) == 0 {
		return ""
	}
	var overdue, current, older, supplemented, info []string
	for _, c := range cs {
		line := c.Line(today, cal)
		switch {
		case c.Overdue:
			overdue = append(overdue, line)
		case c.Kind == string(KindInfo):
			info = append(info, line)
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
	section("人员变动待录入全国系统（无需核查）", info)
	return b.String()
}
