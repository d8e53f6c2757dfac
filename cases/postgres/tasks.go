package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
)

// TaskHook runs inside the transaction that adds a department task (notify plans its
// reminders here), so that the task and its reminders commit together.
type TaskHook = cases.TaskHook

// Audit actions of department tasks.
const (
	ActTaskAdded cases.Action = "task_added" // 交办给相关部门 / 转办
	ActTaskDone  cases.Action = "task_done"  // 办理
	ActHeld      cases.Action = "held"       // 比对已核: later warnings held against this case
)

type taskRow struct {
	ID         int64       `db:"id"`
	CaseID     int64       `db:"case_id"`
	CaseNo     string      `db:"case_no"`
	Township   string      `db:"township"`
	Department string      `db:"department"`
	Status     string      `db:"status"`
	DueOn      cases.Date  `db:"due_on"`
	DoneOn     *cases.Date `db:"done_on"`
	Measure    string      `db:"measure"`
	Note       string      `db:"note"`
	CreatedAt  time.Time   `db:"created_at"`
}

func (r taskRow) task() cases.Task {
	return cases.Task{ID: r.ID, CaseID: r.CaseID, CaseNo: r.CaseNo, Township: r.Township, Department: r.Department,
		Status: cases.TaskStatus(r.Status), DueOn: r.DueOn, DoneOn: r.DoneOn, Measure: r.Measure, Note: r.Note,
		CreatedAt: r.CreatedAt}
}

const taskSelect = `
	SELECT dt.id, dt.case_id, c.case_no, t.name AS township, dt.department, dt.status, dt.due_on, dt.done_on,
		dt.measure, dt.note, dt.created_at
	FROM department_tasks dt JOIN cases c ON c.id = dt.case_id JOIN townships t ON t.id = c.township_id`

// addTask gives the case a task of the department, due TaskWorkingDays working days after
// day, unless the department already has an open one on it (a later warning adds nothing
// then) or is not in the org file. It returns the task and whether it was added.
func (db *DB) addTask(ctx context.Context, tx *sqlx.Tx, caseID int64, dept string, day cases.Date, at time.Time,
	origin, note string, actor cases.Actor, src Source) (cases.Task, bool, error) {
	due := db.Cal.AddWorkingDays(day, cases.TaskWorkingDays)
	var id int64
	err := tx.QueryRowxContext(ctx, `
		INSERT INTO department_tasks (case_id, department, due_on, origin, note, created_at)
		SELECT $1, d.name, $3, $4, $5, $6 FROM departments d WHERE d.name = $2
		ON CONFLICT (case_id, department) WHERE status = 'open' DO NOTHING
		RETURNING id`, caseID, dept, due, origin, note, at).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Task{}, false, nil
	}
	if err != nil {
		return cases.Task{}, false, fmt.Errorf("task of %s on case %d: %w", dept, caseID, err)
	}
	var r taskRow
	if err := tx.GetContext(ctx, &r, taskSelect+` WHERE dt.id = $1`, id); err != nil {
		return cases.Task{}, false, fmt.Errorf("task %d: %w", id, err)
	}
	t := r.task()
	var status cases.Status
	if err := tx.GetContext(ctx, &status, `SELECT status FROM cases WHERE id = $1`, caseID); err != nil {
		return cases.Task{}, false, fmt.Errorf("case %d: %w", caseID, err)
	}
	detail := map[string]any{"department": dept, "due_on": due.String()}
	if origin != "" {
		detail["origin"] = origin
	}
	if err := InsertEvent(ctx, tx, caseID, ActTaskAdded, status, status, actor, src, at, detail); err != nil {
		return cases.Task{}, false, err
	}
	if err := db.runTaskHooks(ctx, tx, t); err != nil {
		return cases.Task{}, false, fmt.Errorf("after task %d: %w", id, err)
	}
	return t, true, nil
}

// caseProblems lists the problem keys (cases.ProblemKey) of the warnings a case holds,
// including the departments they named, and which departments have any task on it.
func caseProblems(ctx context.Context, tx *sqlx.Tx, caseID int64) (problems []string, taskDepts map[string]bool, err error) {
	var ws []struct {
		Category string `db:"category"`
		Problem  string `db:"problem"`
	}
	err = tx.SelectContext(ctx, &ws, `SELECT DISTINCT category, COALESCE(detail::json->>'问题类型', '') AS problem
		FROM warnings WHERE case_id = $1 AND held_round = ''`, caseID)
	if err != nil {
		return nil, nil, fmt.Errorf("problems of case %d: %w", caseID, err)
	}
	for _, w := range ws {
		f := cases.WarningFact{Category: cases.Category(w.Category), Detail: map[string]string{"问题类型": w.Problem}}
		problems = append(problems, cases.ProblemKey(f))
	}
	var depts []string
	if err := tx.SelectContext(ctx, &depts, `SELECT DISTINCT department FROM department_tasks WHERE case_id = $1`, caseID); err != nil {
		return nil, nil, fmt.Errorf("tasks of case %d: %w", caseID, err)
	}
	taskDepts = map[string]bool{}
	for _, d := range depts {
		taskDepts[d] = true
	}
	return problems, taskDepts, nil
}

// TasksOf returns the tasks of the cases, by case id, oldest first.
func (db *DB) TasksOf(ctx context.Context, caseIDs []int64) (map[int64][]cases.Task, error) {
	out := map[int64][]cases.Task{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	var rs []taskRow
	if err := db.SelectContext(ctx, &rs, taskSelect+` WHERE dt.case_id = ANY($1) ORDER BY dt.case_id, dt.id`, pq.Array(caseIDs)); err != nil {
		return nil, fmt.Errorf("tasks of %d cases: %w", len(caseIDs), err)
	}
	for _, r := range rs {
		out[r.CaseID] = append(out[r.CaseID], r.task())
	}
	return out, nil
}

// OpenTasks returns a department's open tasks, nearest due first.
func (db *DB) OpenTasks(ctx context.Context, department string) ([]cases.Task, error) {
	var rs []taskRow
	if err := db.SelectContext(ctx, &rs, taskSelect+` WHERE dt.department = $1 AND dt.status = 'open' ORDER BY dt.due_on, c.case_no`, department); err != nil {
		return nil, fmt.Errorf("open tasks of %s: %w", department, err)
	}
	out := make([]cases.Task, len(rs))
	for i, r := range rs {
		out[i] = r.task()
	}
	return out, nil
}

// OverdueTasks returns every open department task due before today, by department and due date.
func (db *DB) OverdueTasks(ctx context.Context, today cases.Date) ([]cases.Task, error) {
	var rs []taskRow
	if err := db.SelectContext(ctx, &rs, taskSelect+` WHERE dt.status = 'open' AND dt.due_on < $1 ORDER BY dt.department, dt.due_on, c.case_no`, today); err != nil {
		return nil, fmt.Errorf("overdue tasks: %w", err)
	}
	out := make([]cases.Task, len(rs))
	for i, r := range rs {
		out[i] = r.task()
	}
	return out, nil
}

// MinMeasureRunes is the shortest 办理措施 accepted: a word is not a record of what was done.
const MinMeasureRunes = 4

// CompleteTask records that the actor's department did its task on the case (办理): only a
// liaison of that department may, and only with a real measure. The change, its audit event
// and the cancellation of the task's pending reminders commit together.
func (db *DB) CompleteTask(ctx context.Context, caseNo string, actor cases.Actor, measure string, src Source) (cases.Task, error) {
	no := NormalizeCaseNo(caseNo)
	measure = strings.TrimSpace(measure)
	if actor.Role != cases.RoleLiaison || actor.Department == "" {
		return cases.Task{}, cases.Errorf(cases.EForbidden, "部门任务由该部门的联络员办理。")
	}
	if utf8.RuneCountInString(measure) < MinMeasureRunes {
		return cases.Task{}, cases.Errorf(cases.EInvalid, "请写明本部门采取的措施（至少 %d 个字），格式：办理 %s <措施>，例如：办理 %s 已落实危房改造补助，列入明年改造计划", MinMeasureRunes, no, no)
	}
	now := db.Now()
	var out cases.Task
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		c, err := caseByNo(ctx, tx, no, true)
		if err != nil {
			return err
		}
		var rs []taskRow
		if err := tx.SelectContext(ctx, &rs, taskSelect+` WHERE dt.case_id = $1 ORDER BY dt.id FOR UPDATE OF dt`, c.ID); err != nil {
			return fmt.Errorf("tasks of %s: %w", no, err)
		}
		var mine *taskRow
		var others []string
		doneBefore := false
		for i := range rs {
			switch {
			case rs[i].Department == actor.Department && rs[i].Status == string(cases.TaskOpen):
				mine = &rs[i]
			case rs[i].Department == actor.Department:
				doneBefore = true
			case rs[i].Status == string(cases.TaskOpen):
				others = append(others, rs[i].Department)
			}
		}
		if mine == nil {
			switch {
			case doneBefore:
				return cases.Errorf(cases.EIllegal, "案件 %s 交办给%s的任务已经办理完毕，无需重复登记。", no, actor.Department)
			case len(others) > 0:
				return cases.Errorf(cases.EForbidden, "案件 %s 的部门任务交办给%s，不是您所在的%s，您只能办理本部门的任务。", no, strings.Join(others, "、"), actor.Department)
			}
			return cases.Errorf(cases.ENotFound, "案件 %s 没有交办给%s的任务。发送“待办”查看本部门的任务。", no, actor.Department)
		}
		today := cases.DateOf(now)
		_, err = tx.ExecContext(ctx, `UPDATE department_tasks SET status = 'done', done_on = $2, done_at = $3, done_by = $4, measure = $5
			WHERE id = $1`, mine.ID, today, now, actor.UserID, measure)
		if err != nil {
			return fmt.Errorf("complete task %d: %w", mine.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reminders SET state = 'cancelled', note = '部门任务已办理' WHERE task_id = $1 AND state = 'pending'`, mine.ID); err != nil {
			return fmt.Errorf("cancel reminders of task %d: %w", mine.ID, err)
		}
		if err := InsertEvent(ctx, tx, c.ID, ActTaskDone, c.Status, c.Status, actor, src, now,
			map[string]any{"department": actor.Department, "measure": measure}); err != nil {
			return err
		}
		mine.Status, mine.DoneOn, mine.Measure = string(cases.TaskDone), &today, measure
		out = mine.task()
		return nil
	})
	if err != nil {
		return cases.Task{}, err
	}
	return out, nil
}

// DepartmentNames lists the departments of the org file by name.
func (db *DB) DepartmentNames(ctx context.Context) ([]string, error) {
	var names []string
	if err := db.SelectContext(ctx, &names, `SELECT name FROM departments ORDER BY id`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return names, nil
}

// ReferTask is the office's 转办: a task of the department on the case, due
// TaskWorkingDays working days from today, with the office's 说明.
func (db *DB) ReferTask(ctx context.Context, caseNo, department, note string, actor cases.Actor, src Source) (cases.Task, error) {
	no := NormalizeCaseNo(caseNo)
	if actor.Role != cases.RoleOffice {
		return cases.Task{}, cases.Errorf(cases.EForbidden, "只有县扶贫办可以转办部门任务。")
	}
	department = strings.TrimSpace(department)
	names, err := db.DepartmentNames(ctx)
	if err != nil {
		return cases.Task{}, err
	}
	known := false
	for _, n := range names {
		known = known || n == department
	}
	if !known {
		sort.Strings(names)
		return cases.Task{}, cases.Errorf(cases.EInvalid, "没有名为“%s”的部门，请写组织文件中的部门全称：%s。格式：转办 %s <部门> <说明>", department, strings.Join(names, "、"), no)
	}
	if utf8.RuneCountInString(strings.TrimSpace(note)) < 2 {
		return cases.Task{}, cases.Errorf(cases.EInvalid, "请写明需要%s办理的事项，格式：转办 %s %s <说明>", department, no, department)
	}
	now := db.Now()
	var out cases.Task
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		c, err := caseByNo(ctx, tx, no, true)
		if err != nil {
			return err
		}
		t, added, err := db.addTask(ctx, tx, c.ID, department, cases.DateOf(now), now, "转办", strings.TrimSpace(note), actor, src)
		if err != nil {
			return err
		}
		if !added {
			return cases.Errorf(cases.EIllegal, "案件 %s 已有交办给%s且尚未办理的任务，无需重复转办。", no, department)
		}
		out = t
		return nil
	})
	if err != nil {
		return cases.Task{}, err
	}
	return out, nil
}
