package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/fangpin/fangpin/cases"
	"github.com/fangpin/fangpin/cases/seal"
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

// task opens the row's typed text (措施, 说明: docs/encryption.md).
func (r taskRow) task(k *seal.Keyring) (cases.Task, error) {
	measure, err := openText(k, r.Measure, "办理措施")
	if err != nil {
		return cases.Task{}, err
	}
	note, err := openText(k, r.Note, "转办说明")
	if err != nil {
		return cases.Task{}, err
	}
	return cases.Task{ID: r.ID, CaseID: r.CaseID, CaseNo: r.CaseNo, Township: r.Township, Department: r.Department,
		Status: cases.TaskStatus(r.Status), DueOn: r.DueOn, DoneOn: r.DoneOn, Measure: measure, Note: note,
		CreatedAt: r.CreatedAt}, nil
}

// tasks opens rows.
func tasks(k *seal.Keyring, rs []taskRow) ([]cases.Task, error) {
	out := make([]cases.Task, len(rs))
	for i, r := range rs {
		t, err := r.task(k)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

const taskSelect = `
	SELECT dt.id, dt.case_id, c.case_no, t.name AS township, dt.department, dt.status, dt.due_on, dt.done_on,
		dt.measure, dt.note, dt.created_at
	FROM department_tasks dt JOIN cases c ON c.id = dt.case_id JOIN townships t ON t.id = c.township_id`

// addTask stores a decided new task (cases.NewTask, cases.ReferTask) with its audit event and
// runs the task hooks, unless the department already has an open one on the case (a later
// warning adds nothing then) or is not in the org file. It returns the task and whether it
// was added.
func (db *DB) addTask(ctx context.Context, tx *sqlx.Tx, ch cases.TaskChange, at time.Time, actor cases.Actor, src cases.Source) (cases.Task, bool, error) {
	caseID, dept := ch.Task.CaseID, ch.Task.Department
	var id int64
	err := tx.QueryRowxContext(ctx, `
		INSERT INTO department_tasks (case_id, department, due_on, origin, note, created_at)
		SELECT $1, d.name, $3, $4, $5, $6 FROM departments d WHERE d.name = $2
		ON CONFLICT (case_id, department) WHERE status = 'open' DO NOTHING
		RETURNING id`, caseID, dept, ch.Task.DueOn, ch.Origin, sealText(db.Keys, ch.Task.Note), at).Scan(&id)
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
	t, err := r.task(db.Keys)
	if err != nil {
		return cases.Task{}, false, err
	}
	var status cases.Status
	if err := tx.GetContext(ctx, &status, `SELECT status FROM cases WHERE id = $1`, caseID); err != nil {
		return cases.Task{}, false, fmt.Errorf("case %d: %w", caseID, err)
	}
	if err := InsertEvent(ctx, tx, db.Keys, caseID, ch.Action, status, status, actor, src, at, ch.Detail); err != nil {
		return cases.Task{}, false, err
	}
	return t, true, db.runTaskHooks(ctx, tx, t)
}

// tasksOfCase loads a case's tasks, locked for the transition being decided.
func tasksOfCase(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, c cases.Case) ([]cases.Task, error) {
	var rs []taskRow
	if err := tx.SelectContext(ctx, &rs, taskSelect+` WHERE dt.case_id = $1 ORDER BY dt.id FOR UPDATE OF dt`, c.ID); err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", c.No, err)
	}
	return tasks(k, rs)
}

// caseProblems lists the problem keys (cases.ProblemKey) of the warnings a case holds,
// including the departments they named, and which departments have any task on it.
func caseProblems(ctx context.Context, tx *sqlx.Tx, k *seal.Keyring, caseID int64) (problems, keys []string, taskDepts map[string]bool, err error) {
	var ws []struct {
		IDNumber string `db:"id_number"`
		Category string `db:"category"`
		Problem  string `db:"problem"`
		Period   string `db:"period"`
	}
	err = tx.SelectContext(ctx, &ws, `SELECT id_number, category, problem, period
		FROM warnings WHERE case_id = $1 AND held_round = '' ORDER BY id`, caseID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("problems of case %d: %w", caseID, err)
	}
	seen := map[string]bool{}
	for _, w := range ws {
		f := cases.WarningFact{Category: cases.Category(w.Category), Detail: map[string]string{"问题类型": w.Problem},
			IDHash: storedHash(k, w.IDNumber), Period: w.Period}
		if p := cases.ProblemKey(f); !seen[p] {
			seen[p] = true
			problems = append(problems, p)
		}
		if key := cases.WarningKey(f); key != "" {
			keys = append(keys, key)
		}
	}
	var depts []string
	if err := tx.SelectContext(ctx, &depts, `SELECT DISTINCT department FROM department_tasks WHERE case_id = $1`, caseID); err != nil {
		return nil, nil, nil, fmt.Errorf("tasks of case %d: %w", caseID, err)
	}
	taskDepts = map[string]bool{}
	for _, d := range depts {
		taskDepts[d] = true
	}
	return problems, keys, taskDepts, nil
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
		t, err := r.task(db.Keys)
		if err != nil {
			return nil, err
		}
		out[r.CaseID] = append(out[r.CaseID], t)
	}
	return out, nil
}

// OpenTasks returns a department's open tasks, nearest due first.
func (db *DB) OpenTasks(ctx context.Context, department string) ([]cases.Task, error) {
	var rs []taskRow
	if err := db.SelectContext(ctx, &rs, taskSelect+` WHERE dt.department = $1 AND dt.status = 'open' ORDER BY dt.due_on, c.case_no`, department); err != nil {
		return nil, fmt.Errorf("open tasks of %s: %w", department, err)
	}
	return tasks(db.Keys, rs)
}

// OverdueTasks returns every open department task due before today, by department and due date.
func (db *DB) OverdueTasks(ctx context.Context, today cases.Date) ([]cases.Task, error) {
	var rs []taskRow
	if err := db.SelectContext(ctx, &rs, taskSelect+` WHERE dt.status = 'open' AND dt.due_on < $1 ORDER BY dt.department, dt.due_on, c.case_no`, today); err != nil {
		return nil, fmt.Errorf("overdue tasks: %w", err)
	}
	return tasks(db.Keys, rs)
}

// CompleteTask records that the actor's department did its task on the case (办理), as
// cases.CompleteTask decides. The change, its audit event and the task hooks (notify cancels
// the task's pending reminders) commit together.
func (db *DB) CompleteTask(ctx context.Context, caseNo string, actor cases.Actor, measure string, src cases.Source) (cases.Task, error) {
	no := cases.NormalizeCaseNo(caseNo)
	if err := cases.CheckCompletion(no, actor, measure); err != nil {
		return cases.Task{}, err
	}
	now := db.Now()
	var out cases.Task
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		c, err := caseByNo(ctx, tx, db.Keys, no, true)
		if err != nil {
			return err
		}
		ts, err := tasksOfCase(ctx, tx, db.Keys, c)
		if err != nil {
			return err
		}
		ch, err := cases.CompleteTask(c, ts, actor, measure, now)
		if err != nil {
			return err
		}
		t := ch.Task
		_, err = tx.ExecContext(ctx, `UPDATE department_tasks SET status = $6, done_on = $2, done_at = $3, done_by = $4, measure = $5
			WHERE id = $1`, t.ID, *t.DoneOn, now, actor.UserID, sealText(db.Keys, t.Measure), string(t.Status))
		if err != nil {
			return fmt.Errorf("complete task %d: %w", t.ID, err)
		}
		if err := InsertEvent(ctx, tx, db.Keys, c.ID, ch.Action, c.Status, c.Status, actor, src, now, ch.Detail); err != nil {
			return err
		}
		out = t
		return db.runTaskHooks(ctx, tx, t)
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

// ReferTask is the office's 转办, as cases.ReferTask decides: a task of the department on the
// case with the office's 说明.
func (db *DB) ReferTask(ctx context.Context, caseNo, department, note string, actor cases.Actor, src cases.Source) (cases.Task, error) {
	no := cases.NormalizeCaseNo(caseNo)
	names, err := db.DepartmentNames(ctx)
	if err != nil {
		return cases.Task{}, err
	}
	now := db.Now()
	if err := cases.CheckReferral(no, actor, department, note, names); err != nil {
		return cases.Task{}, err
	}
	var out cases.Task
	err = db.InTx(ctx, func(tx *sqlx.Tx) error {
		c, err := caseByNo(ctx, tx, db.Keys, no, true)
		if err != nil {
			return err
		}
		ts, err := tasksOfCase(ctx, tx, db.Keys, c)
		if err != nil {
			return err
		}
		ch, err := cases.ReferTask(c, ts, actor, department, note, names, now, db.Cal)
		if err != nil {
			return err
		}
		t, added, err := db.addTask(ctx, tx, ch, now, actor, src)
		if err != nil {
			return err
		}
		if !added {
			return cases.ErrTaskOpen(no, ch.Task.Department)
		}
		out = t
		return nil
	})
	if err != nil {
		return cases.Task{}, err
	}
	return out, nil
}
