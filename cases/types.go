package cases

import (
	"time"
)

// Role is what a user does in the system (docs/dispatch.md).
type Role string

const (
	RoleLiaison    Role = "liaison"    // 行业部门联络员
	RoleOffice     Role = "office"     // 县扶贫办
	RoleCadre      Role = "cadre"      // 乡村干部
	RoleSupervisor Role = "supervisor" // 领导小组办公室
	RoleLeader     Role = "leader"     // 县领导（扶贫开发领导小组）：只看进度、统计、逾期和概览
)

// Valid reports whether r is one of the five roles an org file may give.
func (r Role) Valid() bool {
	switch r {
	case RoleLiaison, RoleOffice, RoleCadre, RoleSupervisor, RoleLeader:
		return true
	}
	return false
}

// Label is the role's Chinese name.
func (r Role) Label() string {
	switch r {
	case RoleLiaison:
		return "部门联络员"
	case RoleOffice:
		return "县扶贫办"
	case RoleCadre:
		return "乡村干部"
	case RoleSupervisor:
		return "督查人员"
	case RoleLeader:
		return "县领导"
	}
	return string(r)
}

// Actor is whoever asks for a change: a user from the org file, or the system itself.
type Actor struct {
	UserID     string
	Name       string
	Role       Role
	Township   string // for cadres
	Department string // for liaisons
}

// System is the actor for changes the service makes by itself (dispatch rounds, reminders).
var System = Actor{UserID: "system", Name: "系统", Role: RoleOffice}

// Status is a case's place in its lifecycle (docs/dispatch.md).
type Status string

const (
	StatusDispatched Status = "dispatched" // 已交办
	StatusVerified   Status = "verified"   // 已核查
	StatusClosed     Status = "closed"     // 已办结
	StatusReturned   Status = "returned"   // 抽查不合格退回
)

// Label is the status in Chinese.
func (s Status) Label() string {
	switch s {
	case StatusDispatched:
		return "已交办待核查"
	case StatusVerified:
		return "已核查待录入"
	case StatusClosed:
		return "已办结"
	case StatusReturned:
		return "抽查退回重办"
	}
	return string(s)
}

// Open reports whether the case still needs work from the township.
func (s Status) Open() bool { return s != StatusClosed }

// Result is the outcome of the household visit (入户核查). It is stored and compared as an
// English code; people read Label() (docs/datalayer.md).
type Result string

const (
	ResultNone      Result = ""
	ResultInclude   Result = "include"   // 纳入: taken into monitoring
	ResultMonitored Result = "monitored" // 已在监测: already monitored, assistance adjusted
	ResultExclude   Result = "exclude"   // 不纳入: not taken; reason required
)

// Label is the result as people read and type it.
func (r Result) Label() string {
	switch r {
	case ResultInclude:
		return "纳入"
	case ResultMonitored:
		return "已在监测"
	case ResultExclude:
		return "不纳入"
	}
	return string(r)
}

// ParseResult accepts the three results as users type them, or their codes.
func ParseResult(s string) (Result, bool) {
	switch s {
	case "纳入", string(ResultInclude):
		return ResultInclude, true
	case "已在监测", "已监测", string(ResultMonitored):
		return ResultMonitored, true
	case "不纳入", "不予纳入", string(ResultExclude):
		return ResultExclude, true
	}
	return ResultNone, false
}

// Kind says why a case was opened (docs/dispatch.md), as an English code; people read Label().
type Kind string

const (
	KindNew    Kind = "new"    // 新增: household not yet monitored
	KindUpdate Kind = "update" // 更新: monitored household, adjust assistance
)

// Label is the kind as people read it.
func (k Kind) Label() string {
	switch k {
	case KindNew:
		return "新增"
	case KindUpdate:
		return "更新"
	case KindInfo:
		return "信息变更"
	case KindSweep:
		return "区域排查"
	}
	return string(k)
}

// ParseKind accepts a kind's label or its code.
func ParseKind(s string) (Kind, bool) {
	for _, k := range []Kind{KindNew, KindUpdate, KindInfo, KindSweep} {
		if s == string(k) || s == k.Label() {
			return k, true
		}
	}
	return "", false
}

// Case is one household's dispatched warning(s) and what became of them.
type Case struct {
	ID           int64
	No           string // YJ202611-0001
	Round        string // YYYY-MM
	Kind         Kind
	HouseholdKey string
	HouseholdNo  string // registry 户编号, if known
	HeadName     string
	HeadIDNumber string
	Village      string
	Township     string
	Department   string // 责任部门 for assurance cases
	Responsible  string // userid of the responsible cadre ("" for cases from before, or none)
	Status       Status
	Result       Result
	Reason       string
	DispatchedAt time.Time
	DueOn        Date
	VerifiedAt   *time.Time
	EnteredOn    *Date
	ClosedAt     *time.Time
	Returns      int
	Categories   []Category
	Members      []string // id numbers
	Source       CaseSource
	// TaskDepartments are the departments with a task on the case (open or done): their
	// liaisons may see it.
	TaskDepartments []string

	// OriginalDueOn is the due date before the case was first returned by a spot check
	// (nil if never returned); DueOn is then the new one, which the case is judged by.
	OriginalDueOn *Date
}

// HasTaskOf reports whether the department has a task on the case.
func (c *Case) HasTaskOf(department string) bool {
	for _, d := range c.TaskDepartments {
		if d == department {
			return true
		}
	}
	return false
}

// Place is where a case is, as people read it: its village, else its township (a 申报/走访
// case may have no village; a reader never sees empty brackets).
func (c Case) Place() string {
	if c.Village != "" {
		return c.Village
	}
	return c.Township
}

// Overdue reports whether an open case has passed its due date on day today.
func (c *Case) Overdue(today Date) bool {
	return c.Status.Open() && today.After(c.DueOn)
}
