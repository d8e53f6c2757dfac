package handlers

import (
	"context"
	"github.com/fangpin/fangpin/announce"
	"log/slog"
	"strings"
	"time"

	"github.com/fangpin/fangpin/bot"
	"github.com/fangpin/fangpin/cases"
)

// Ledger is what the case commands need from the store the store.
type Ledger interface {
	CaseByNo(ctx context.Context, no string) (cases.Case, error)
	ListCases(ctx context.Context, f cases.CaseFilter) ([]cases.Case, error)
	Transition(ctx context.Context, no string, actor cases.Actor, cmd cases.Command, src cases.Source) (cases.Case, error)
	Events(ctx context.Context, caseID int64) ([]cases.Event, error)
	CaseWarnings(ctx context.Context, caseID int64) ([]cases.WarningFact, error)
	Dispatch(ctx context.Context, opt cases.DispatchOptions) (cases.DispatchResult, error)
	CompleteTask(ctx context.Context, caseNo string, actor cases.Actor, measure string, src cases.Source) (cases.Task, error)
	ReferTask(ctx context.Context, caseNo, department, note string, actor cases.Actor, src cases.Source) (cases.Task, error)
	OpenTasks(ctx context.Context, department string) ([]cases.Task, error)
	OverdueTasks(ctx context.Context, today cases.Date) ([]cases.Task, error)
	TasksOf(ctx context.Context, caseIDs []int64) (map[int64][]cases.Task, error)
	UsersOf(ctx context.Context, role cases.Role, township, department string) ([]string, error)
	ReportSelfFound(ctx context.Context, r cases.SelfFound) (cases.SelfFoundResult, error)
}

// Cases holds the case commands (待办 查看 核查 录入 表单 逾期 交办) and the mini-form card
// clicks. Register them with router.Register(c.Commands()...) and set router.Cards = c.
type Cases struct {
	Ledger   Ledger
	Users    Directory
	Out      Queue
	Announce *announce.Announcer // cards and dispatch messages; its Links sign H5 form links
	Cal      *cases.Calendar     // working days for overdue and days left (nil: the official calendar)
	Access   AccessLog           // views of a case's details (查看)
	Now      func() time.Time
	Log      *slog.Logger
}

func (h *Cases) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

var officialCalendar = cases.NewCalendar()

func (h *Cases) cal() *cases.Calendar {
	if h.Cal != nil {
		return h.Cal
	}
	return officialCalendar
}

func (h *Cases) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// Commands lists the case commands in the order 帮助 shows them.
func (h *Cases) Commands() []*Command {
	return []*Command{h.todoCommand(), h.viewCommand(), h.verifyCommand(), h.enterCommand(),
		h.formCommand(), h.overdueCommand(), h.dispatchCommand(), h.taskDoneCommand(), h.referCommand(), h.applyCommand(), h.visitCommand()}
}

// source is the audit trail's pointer at the message that asked for a change.
func source(m bot.Message) cases.Source {
	return cases.Source("wecom:" + m.ID)
}

// caseArg reads the case number argument, or says how to write the command.
func caseArg(req Request, usage string) (string, error) {
	if len(req.Args) == 0 {
		return "", cases.Errorf(cases.EInvalid, "请写上案件编号，格式：%s", usage)
	}
	no := cases.NormalizeCaseNo(req.Args[0])
	if !looksLikeCaseNo(no) {
		return "", cases.Errorf(cases.EInvalid, "“%s”不像案件编号。编号形如 YJ202611-0001，格式：%s", req.Args[0], usage)
	}
	return no, nil
}

func looksLikeCaseNo(no string) bool {
	if len(no) != len("YJ202611-0001") || !strings.HasPrefix(no, "YJ") || no[8] != '-' {
		return false
	}
	for i, r := range no {
		if i >= 2 && i != 8 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// viewable loads a case the actor may see, or says why not.
func (h *Cases) viewable(ctx context.Context, no string, a cases.Actor) (cases.Case, error) {
	c, err := h.Ledger.CaseByNo(ctx, no)
	if err != nil {
		return c, err
	}
	if !cases.CanView(c, a) {
		switch a.Role {
		case cases.RoleCadre:
			return c, cases.Errorf(cases.EForbidden, "案件 %s 属于%s，您只能查看%s的案件。", c.No, c.Township, a.Township)
		case cases.RoleLiaison:
			return c, cases.Errorf(cases.EForbidden, "案件 %s 没有交办给%s，您只能查看交办给本部门的案件。", c.No, a.Department)
		}
		return c, cases.Errorf(cases.EForbidden, "您无权查看案件 %s。", c.No)
	}
	return c, nil
}

// statusLine is a case's status and, while it is open, its working days left or overdue
// (the same words in 待办, 查看, 逾期 and the reminders).
func statusLine(c cases.Case, today cases.Date, cal *cases.Calendar) string {
	s := c.Status.Label()
	if c.Status.Open() && !c.DueOn.IsZero() {
		s += "，" + cal.DueText(c.DueOn, today)
	}
	return s
}

var allRoles = []cases.Role{cases.RoleCadre, cases.RoleLiaison, cases.RoleOffice, cases.RoleSupervisor}

// links are the signed links the chat replies carry, nil when the service has none.
func (h *Cases) links() *FormLinks {
	if h.Announce == nil {
		return nil
	}
	l, _ := h.Announce.Links.(*FormLinks)
	return l
}
