package cases

import (
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// A department task's transitions (docs/held-and-tasks.md), decided here like Apply decides a
// case's: who may, with what, and what the audit trail says. cases/postgres loads the case's
// tasks, stores the change with its audit event, and runs the task hooks (notify plans or
// cancels the task's reminders there) in one transaction.

// Audit actions of department tasks and of 比对已核.
const (
	ActTaskAdded Action = "task_added" // 交办给相关部门 / 转办
	ActTaskDone  Action = "task_done"  // 办理
	ActHeld      Action = "held"       // 比对已核: later warnings held against this case
)

// MinMeasureRunes is the shortest 办理措施 accepted: a word is not a record of what was done.
const MinMeasureRunes = 4

// MinReferNoteRunes is the shortest 说明 of a 转办.
const MinReferNoteRunes = 2

// Task origins, as recorded on the task and in its audit event.
const (
	TaskFromDispatch = "dispatch" // a round's or a 申报/走访's warning named the department
	TaskFromReferral = "转办"       // the office referred the case
)

// TaskChange is a decided task transition: the task as it becomes, and its audit event.
type TaskChange struct {
	Task   Task
	Origin string // ActTaskAdded: TaskFromDispatch or TaskFromReferral
	Action Action
	Detail map[string]any
}

// NewTask is the task a department gets on a case on day: open, due TaskWorkingDays working
// days later.
func NewTask(caseID int64, department string, day Date, cal *Calendar, origin, note string) TaskChange {
	t := Task{CaseID: caseID, Department: department, Status: TaskOpen,
		DueOn: cal.AddWorkingDays(day, TaskWorkingDays), Note: note}
	detail := map[string]any{"department": department, "due_on": t.DueOn.String()}
	if origin != "" {
		detail["origin"] = origin
	}
	return TaskChange{Task: t, Origin: origin, Action: ActTaskAdded, Detail: detail}
}

// CheckCompletion refuses a 办理 that no case could accept: the actor is not a department's
// liaison, or the measure is shorter than MinMeasureRunes characters.
func CheckCompletion(no string, a Actor, measure string) error {
	if a.Role != RoleLiaison || a.Department == "" {
		return Errorf(EForbidden, "部门任务由该部门的联络员办理。")
	}
	if utf8.RuneCountInString(strings.TrimSpace(measure)) < MinMeasureRunes {
		return Errorf(EInvalid, "请写明本部门采取的措施（至少 %d 个字），格式：办理 %s <措施>，例如：办理 %s 已落实危房改造补助，列入明年改造计划", MinMeasureRunes, no, no)
	}
	return nil
}

// CompleteTask decides 办理: the actor, a liaison, records the measure their department took on
// case c, whose tasks are ts. Only the department's own open task may be completed, once,
// with a real measure (CheckCompletion).
func CompleteTask(c Case, ts []Task, a Actor, measure string, now time.Time) (TaskChange, error) {
	no := c.No
	if err := CheckCompletion(no, a, measure); err != nil {
		return TaskChange{}, err
	}
	measure = strings.TrimSpace(measure)
	var mine *Task
	var others []string
	doneBefore := false
	for i := range ts {
		switch {
		case ts[i].Department == a.Department && ts[i].Status == TaskOpen:
			mine = &ts[i]
		case ts[i].Department == a.Department:
			doneBefore = true
		case ts[i].Status == TaskOpen:
			others = append(others, ts[i].Department)
		}
	}
	if mine == nil {
		switch {
		case doneBefore:
			return TaskChange{}, Errorf(EIllegal, "案件 %s 交办给%s的任务已经办理完毕，无需重复登记。", no, a.Department)
		case len(others) > 0:
			return TaskChange{}, Errorf(EForbidden, "案件 %s 的部门任务交办给%s，不是您所在的%s，您只能办理本部门的任务。", no, strings.Join(others, "、"), a.Department)
		}
		return TaskChange{}, Errorf(ENotFound, "案件 %s 没有交办给%s的任务。发送“待办”查看本部门的任务。", no, a.Department)
	}
	t := *mine
	today := DateOf(now)
	t.Status, t.DoneOn, t.Measure = TaskDone, &today, measure
	return TaskChange{Task: t, Action: ActTaskDone, Detail: map[string]any{"department": a.Department, "measure": measure}}, nil
}

// CheckReferral refuses a 转办 that no case could accept: the actor is not the office, the
// department is not one of departments (the org file's), or the 说明 is too short.
func CheckReferral(no string, a Actor, department, note string, departments []string) error {
	if a.Role != RoleOffice {
		return Errorf(EForbidden, "只有县扶贫办可以转办部门任务。")
	}
	department = strings.TrimSpace(department)
	known := false
	for _, n := range departments {
		known = known || n == department
	}
	if !known {
		names := append([]string(nil), departments...)
		sort.Strings(names)
		return Errorf(EInvalid, "没有名为“%s”的部门，请写组织文件中的部门全称：%s。格式：转办 %s <部门> <说明>", department, strings.Join(names, "、"), no)
	}
	if utf8.RuneCountInString(strings.TrimSpace(note)) < MinReferNoteRunes {
		return Errorf(EInvalid, "请写明需要%s办理的事项，格式：转办 %s %s <说明>", department, no, department)
	}
	return nil
}

// ReferTask decides the office's 转办: a task of department on case c, whose tasks are ts, due
// TaskWorkingDays working days from today, with the office's 说明 (CheckReferral). A department
// with an open task on the case is not given a second one.
func ReferTask(c Case, ts []Task, a Actor, department, note string, departments []string, now time.Time, cal *Calendar) (TaskChange, error) {
	no := c.No
	if err := CheckReferral(no, a, department, note, departments); err != nil {
		return TaskChange{}, err
	}
	department, note = strings.TrimSpace(department), strings.TrimSpace(note)
	for _, t := range ts {
		if t.Department == department && t.Status == TaskOpen {
			return TaskChange{}, ErrTaskOpen(no, department)
		}
	}
	return NewTask(c.ID, department, DateOf(now), cal, TaskFromReferral, note), nil
}

// ErrTaskOpen refuses a second open task of a department on a case.
func ErrTaskOpen(no, department string) error {
	return Errorf(EIllegal, "案件 %s 已有交办给%s且尚未办理的任务，无需重复转办。", no, department)
}
