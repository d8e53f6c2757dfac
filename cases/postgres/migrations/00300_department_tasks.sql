-- +goose Up
-- Department tasks (交办给相关部门, spec §5): one per 责任部门 of a case, closed by the
-- department's liaison with what was done (办理措施). The assessment counts them on time.
CREATE TABLE department_tasks (
    id         bigserial PRIMARY KEY,
    case_id    bigint NOT NULL REFERENCES cases (id),
    department text NOT NULL REFERENCES departments (name) ON UPDATE CASCADE,
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    due_on     date NOT NULL,
    done_on    date,
    done_at    timestamptz,
    done_by    text NOT NULL DEFAULT '',
    measure    text NOT NULL DEFAULT '',  -- 办理措施, for the office and the ledger only
    note       text NOT NULL DEFAULT '',  -- the office's 说明 of a 转办
    origin     text NOT NULL DEFAULT 'dispatch',  -- dispatch, 转办, report
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'done' OR (done_on IS NOT NULL AND measure <> ''))
);
-- At most one open task of a department per case; a later warning adds none while it is open.
CREATE UNIQUE INDEX department_tasks_open ON department_tasks (case_id, department) WHERE status = 'open';
CREATE INDEX department_tasks_department ON department_tasks (department, status, due_on);
CREATE INDEX department_tasks_case ON department_tasks (case_id);

-- Open cases routed to a 责任部门 before tasks existed keep that department as a task, due
-- with the case (their reminders are planned from now on only for new tasks).
INSERT INTO department_tasks (case_id, department, due_on, origin, created_at)
SELECT c.id, d.name, c.due_on, 'dispatch', c.dispatched_at
FROM cases c JOIN departments d ON d.id = c.department_id
WHERE c.status <> 'closed';

-- A task's reminders (§10) point at it.
ALTER TABLE reminders ADD COLUMN task_id bigint REFERENCES department_tasks (id);
CREATE INDEX reminders_task ON reminders (task_id) WHERE task_id IS NOT NULL;

-- 比对已核: a warning held because the household's latest case verified it 不纳入 recently is
-- linked to that case (case_id) and marked with the round that held it.
ALTER TABLE warnings ADD COLUMN held_round text NOT NULL DEFAULT '';

-- 农户申报 / 干部走访 (§5b): a warning a cadre typed has no department batch.
ALTER TABLE warnings ALTER COLUMN batch_id DROP NOT NULL;
ALTER TABLE warnings ADD COLUMN reported_by text NOT NULL DEFAULT '';

-- Where a case came from (部门筛查 / 农户申报 / 干部走访 / 人员变动).
ALTER TABLE cases ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT '部门筛查';

-- A township's own case numbers its month before the office's round: the round row then
-- exists for the sequence only, and `dispatched` says whether the round itself took place.
ALTER TABLE rounds ADD COLUMN dispatched boolean NOT NULL DEFAULT true;

-- +goose Down
ALTER TABLE rounds DROP COLUMN dispatched;
ALTER TABLE cases DROP COLUMN IF EXISTS source;
ALTER TABLE warnings DROP COLUMN reported_by;
ALTER TABLE warnings DROP COLUMN held_round;
ALTER TABLE reminders DROP COLUMN task_id;
DROP TABLE department_tasks;
