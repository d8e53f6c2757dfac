package cases

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Action is something a person (or the system) does to a case.
type Action string

const (
	ActVerify      Action = "verify"         // 核查：record the visit's result
	ActEnter       Action = "enter"          // 录入：entered into the national system
	ActSpotPass    Action = "spotcheck_pass" // 抽查合格
	ActSpotFail    Action = "spotcheck_fail" // 抽查不合格：return the case
	ActAddWarnings Action = "add_warnings"   // 补充预警：more warnings for an open case
)

// Label is the action's Chinese name.
func (a Action) Label() string {
	switch a {
	case ActVerify:
		return "核查"
	case ActEnter:
		return "录入"
	case ActSpotPass, ActSpotFail:
		return "抽查"
	case ActAddWarnings:
		return "补充预警"
	}
	return string(a)
}

// Actions lists every action, for table tests.
var Actions = []Action{ActVerify, ActEnter, ActSpotPass, ActSpotFail, ActAddWarnings}

// Statuses lists every status, for table tests.
var Statuses = []Status{StatusDispatched, StatusVerified, StatusClosed, StatusReturned}

// Command is one request to change a case.
type Command struct {
	Action Action
	Result Result // ActVerify
	Reason string // ActVerify: 说明/理由; spot checks: 说明
	Date   Date   // ActEnter: 录入日期 (zero = today); ActAddWarnings: new due date when a new problem came (zero = keep)
	Now    time.Time
}

// ReturnWorkingDays is how long a returned case gets (docs/dispatch.md).
const ReturnWorkingDays = 10

// Apply decides whether actor may apply cmd to c and returns the case as it becomes.
// It changes nothing itself: the store persists the result together with an audit event.
// Refusals are *Error values whose message tells the user why, in Chinese.
//
// Who may act is authorize's; what each action does to the case is one function per action
// below, each refusing before it changes anything, so a refusal returns the case unchanged.
func Apply(c Case, actor Actor, cmd Command, cal *Calendar) (Case, error) {
	if c.Kind == KindSweep && (cmd.Action == ActVerify || cmd.Action == ActEnter) {
		return c, sweepRefusal(c)
	}
	if err := authorize(c, actor, cmd.Action); err != nil {
		return c, err
	}
	switch cmd.Action {
	case ActVerify:
		return verify(c, cmd)
	case ActEnter:
		return enter(c, cmd)
	case ActSpotPass: // 合格 changes nothing; the store records the check
		return c, nil
	case ActSpotFail:
		return spotFail(c, cmd, cal)
	case ActAddWarnings:
		return addWarnings(c, cmd)
	}
	return c, Errorf(EInvalid, "不认识的操作。")
}

// verify records the visit's result (核查): 纳入 and 已在监测 leave the case verified, waiting
// for 录入; 不纳入 closes it and needs a reason.
func verify(c Case, cmd Command) (Case, error) {
	if c.Status == StatusClosed {
		return c, Errorf(EIllegal, "案件 %s 已办结，不能再登记核查结果。", c.No)
	}
	if c.Kind == KindInfo {
		return c, Errorf(EIllegal, "案件 %s 是人员变动引起的信息变更，无需入户核查；在全国系统中更新后请发送：录入 %s [日期]", c.No, c.No)
	}
	now := cmd.Now
	switch cmd.Result {
	case ResultInclude, ResultMonitored:
		c.Status = StatusVerified
		c.Result = cmd.Result
		c.Reason = strings.TrimSpace(cmd.Reason)
		c.VerifiedAt = &now
	case ResultExclude:
		reason := strings.TrimSpace(cmd.Reason)
		if err := CheckExclusionReason(c.No, reason); err != nil {
			return c, err
		}
		c.Status = StatusClosed
		c.Result = ResultExclude
		c.Reason = reason
		c.VerifiedAt = &now
		c.ClosedAt = &now
	default:
		return c, Errorf(EInvalid, "核查结论只能是“纳入”“已在监测”或“不纳入”。")
	}
	return c, nil
}

// enter records the 录入 into the national system, which closes the case: after a verify with
// 纳入 or 已在监测, or alone for a 信息变更 (docs/held-and-tasks.md). The date defaults to today
// and lies between the 交办 and today.
func enter(c Case, cmd Command) (Case, error) {
	switch c.Status {
	case StatusClosed:
		return c, Errorf(EIllegal, "案件 %s 已办结，无需再录入。", c.No)
	case StatusDispatched, StatusReturned:
		if c.Kind != KindInfo {
			return c, Errorf(EIllegal, "案件 %s 还没有核查结论，请先发送：核查 %s 纳入 <说明>", c.No, c.No)
		}
	}
	if c.Result == ResultExclude {
		return c, Errorf(EIllegal, "案件 %s 的结论是“不纳入”，不需要录入全国系统。", c.No)
	}
	now := cmd.Now
	today := DateOf(now)
	d := cmd.Date
	if d.IsZero() {
		d = today
	}
	if d.After(today) {
		return c, Errorf(EInvalid, "录入日期 %s 还没到，请填写实际录入的日期。", d)
	}
	if d.Before(DateOf(c.DispatchedAt)) {
		return c, Errorf(EInvalid, "录入日期 %s 早于交办日期 %s，请核对。", d, DateOf(c.DispatchedAt))
	}
	c.EnteredOn = &d
	c.Status = StatusClosed
	c.ClosedAt = &now
	return c, nil
}

// spotFail records a spot check found 不合格. Any case of the month may be checked, open or
// closed (docs/chat.md): an open case is checked for progress and keeps its due date, so a late
// case stays visibly late; the store tells the township (督办). A closed case is returned with
// ReturnWorkingDays from today, its first due date kept as OriginalDueOn.
func spotFail(c Case, cmd Command, cal *Calendar) (Case, error) {
	if utf8.RuneCountInString(strings.TrimSpace(cmd.Reason)) < 2 {
		return c, Errorf(EInvalid, "抽查不合格请写明问题，例如：抽查 %s 不合格 未实际入户核查", c.No)
	}
	if c.Status != StatusClosed {
		return c, nil
	}
	if c.OriginalDueOn == nil {
		first := c.DueOn
		c.OriginalDueOn = &first
	}
	c.Status = StatusReturned
	c.Result = ResultNone
	c.Reason = ""
	c.VerifiedAt = nil
	c.EnteredOn = nil
	c.ClosedAt = nil
	c.Returns++
	c.DueOn = cal.AddWorkingDays(DateOf(cmd.Now), ReturnWorkingDays)
	return c, nil
}

// addWarnings joins more warnings to an open case (补充预警). A new category or 问题类型 moves
// due_on to 20 working days after its 交办 (the seed counts from the 交办 of each warning),
// given as cmd.Date; never earlier than it was.
func addWarnings(c Case, cmd Command) (Case, error) {
	if !c.Status.Open() {
		return c, Errorf(EIllegal, "案件 %s 已办结，新的预警应另行交办。", c.No)
	}
	if !cmd.Date.IsZero() && cmd.Date.After(c.DueOn) {
		c.DueOn = cmd.Date
	}
	return c, nil
}

// authorize checks role and scope (township for cadres, department for liaisons).
func authorize(c Case, a Actor, act Action) error {
	switch act {
	case ActAddWarnings:
		switch a.Role {
		case RoleOffice:
			return nil
		case RoleCadre:
			// a household the township found itself (申报/走访) joins its open case
			return inTownship(c, a)
		}
		return Errorf(EForbidden, "只有县扶贫办可以补充交办预警。")
	case ActSpotPass, ActSpotFail:
		if a.Role == RoleSupervisor {
			return nil
		}
		return Errorf(EForbidden, "只有督查人员可以登记抽查结果。")
	case ActVerify:
		switch a.Role {
		case RoleCadre:
			return inTownship(c, a)
		case RoleLiaison:
			if c.Department != "" && c.Department == a.Department {
				return nil
			}
			if c.Department == "" {
				return Errorf(EForbidden, "案件 %s 由乡镇核查，部门联络员只能办理交办给本部门的案件。", c.No)
			}
			return Errorf(EForbidden, "案件 %s 交办给%s，不是您所在的%s。", c.No, c.Department, a.Department)
		}
		return Errorf(EForbidden, "%s不能登记核查结果，请由%s的乡村干部办理。", a.Role.Label(), c.Township)
	case ActEnter:
		if a.Role == RoleCadre {
			return inTownship(c, a)
		}
		return Errorf(EForbidden, "录入全国系统由%s的乡村干部登记。", c.Township)
	}
	return Errorf(EInvalid, "不认识的操作。")
}

func inTownship(c Case, a Actor) error {
	if a.Township == c.Township {
		return nil
	}
	return Errorf(EForbidden, "案件 %s 属于%s，您只能办理%s的案件。", c.No, c.Township, a.Township)
}

// CanView reports whether the actor may see the case's details.
func CanView(c Case, a Actor) bool {
	switch a.Role {
	case RoleOffice, RoleSupervisor:
		return true
	case RoleCadre:
		return a.Township == c.Township
	case RoleLiaison:
		return a.Department != "" && (c.Department == a.Department || c.HasTaskOf(a.Department))
	}
	return false
}
