-- +goose Up
-- 结果运用 (docs/office.md): on the month's last working day each department's liaisons hear
-- what became of their warnings; a department's reminder, like the push nudges.
ALTER TABLE reminders DROP CONSTRAINT reminders_kind_check, DROP CONSTRAINT reminders_department_check;
ALTER TABLE reminders ADD CONSTRAINT reminders_kind_check CHECK (kind IN
    ('case_due', 'case_overdue', 'case_escalate', 'push', 'push_late', 'education', 'education_late',
     'dispatch', 'month_end', 'feedback', 'results', 'digest', 'task_due', 'task_overdue', 'task_escalate'));
ALTER TABLE reminders ADD CONSTRAINT reminders_department_check CHECK (department_id IS NOT NULL OR kind NOT IN
    ('push', 'push_late', 'education', 'education_late', 'results', 'task_due', 'task_overdue', 'task_escalate'));

-- +goose Down
DELETE FROM reminders WHERE kind = 'results';
ALTER TABLE reminders DROP CONSTRAINT reminders_kind_check, DROP CONSTRAINT reminders_department_check;
ALTER TABLE reminders ADD CONSTRAINT reminders_kind_check CHECK (kind IN
    ('case_due', 'case_overdue', 'case_escalate', 'push', 'push_late', 'education', 'education_late',
     'dispatch', 'month_end', 'feedback', 'digest', 'task_due', 'task_overdue', 'task_escalate'));
ALTER TABLE reminders ADD CONSTRAINT reminders_department_check CHECK (department_id IS NOT NULL OR kind NOT IN
    ('push', 'push_late', 'education', 'education_late', 'task_due', 'task_overdue', 'task_escalate'));
