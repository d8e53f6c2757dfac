-- +goose Up
-- The schema says what the code assumes (issue 16): every closed set of values the code writes
-- is checked, months look like YYYY-MM, a case's status agrees with its dates and result, the
-- audit trail is append-only and users are deactivated, never deleted. Every constraint holds
-- for the rows the code has ever written; docs/schema-checks.md says what to do if one fails.

-- Categories (cases.Categories). An education push stores the April its 学年 is due (YYYY-04).
ALTER TABLE batches ADD CONSTRAINT batches_category_check CHECK (category IN
    ('medical', 'serious_illness', 'education', 'disaster', 'epidemic', 'industry', 'employment', 'assistance', 'assurance', 'population'));
ALTER TABLE warnings ADD CONSTRAINT warnings_category_check CHECK (category IN
    ('medical', 'serious_illness', 'education', 'disaster', 'epidemic', 'industry', 'employment', 'assistance', 'assurance', 'population'));
ALTER TABLE area_sweeps ADD CONSTRAINT area_sweeps_category_check CHECK (category IN
    ('medical', 'serious_illness', 'education', 'disaster', 'epidemic', 'industry', 'employment', 'assistance', 'assurance', 'population'));
ALTER TABLE departments ADD CONSTRAINT departments_categories_check CHECK (categories <@ ARRAY
    ['medical', 'serious_illness', 'education', 'disaster', 'epidemic', 'industry', 'employment', 'assistance', 'assurance', 'population']::text[]);

-- Months: YYYY-MM; '' where the column is optional.
ALTER TABLE batches ADD CONSTRAINT batches_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE warnings ADD CONSTRAINT warnings_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE warnings ADD CONSTRAINT warnings_held_round_check CHECK (held_round = '' OR held_round ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE rounds ADD CONSTRAINT rounds_month_check CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE spot_checks ADD CONSTRAINT spot_checks_month_check CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE reminders ADD CONSTRAINT reminders_period_check CHECK (period = '' OR period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');

-- A row of a push gives at most one warning of each category: its own, and for a 人员变动 row
-- the 因就业不稳 warning derived from it (零就业). 申报/走访 warnings have no batch.
DROP INDEX warnings_batch;
CREATE UNIQUE INDEX warnings_batch_row ON warnings (batch_id, row_no, category) WHERE batch_id IS NOT NULL;

-- Reminder kinds (cases.ReminderKind).
ALTER TABLE reminders ADD CONSTRAINT reminders_kind_check CHECK (kind IN
    ('case_due', 'case_overdue', 'case_escalate', 'push', 'push_late', 'education', 'education_late',
     'dispatch', 'month_end', 'feedback', 'digest', 'task_due', 'task_overdue', 'task_escalate'));
-- A department's reminder names a department that exists: the planner looks it up by name, and
-- an unknown name is an error, never a reminder that reaches nobody.
ALTER TABLE reminders ADD CONSTRAINT reminders_department_check CHECK (department_id IS NOT NULL OR kind NOT IN
    ('push', 'push_late', 'education', 'education_late', 'task_due', 'task_overdue', 'task_escalate'));

-- Audit actions: cases.Actions, ActSweepDone, and the store's dispatch, task_added, task_done,
-- held and registry_move.
ALTER TABLE case_events ADD CONSTRAINT case_events_action_check CHECK (action IN
    ('dispatch', 'verify', 'enter', 'spotcheck_pass', 'spotcheck_fail', 'add_warnings', 'sweep_done',
     'task_added', 'task_done', 'held', 'registry_move'));

-- Outgoing channels (bot.Channel) and callback sources (bot.Source; '' for the dedup keys
-- recorded before the inbox existed).
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('message', 'appchat', 'webhook', 'response_url', 'update_card'));
ALTER TABLE inbox ADD CONSTRAINT inbox_source_check CHECK (source IN ('', 'app', 'aibot'));

-- A case is closed exactly when it has closed_at (a spot check that returns it clears it);
-- a verified or closed case has a result, except 信息变更 (closed by 录入 alone) and
-- 区域排查 (closed by 排查 … 完成).
ALTER TABLE cases ADD CONSTRAINT cases_closed_at_check CHECK ((status = 'closed') = (closed_at IS NOT NULL));
ALTER TABLE cases ADD CONSTRAINT cases_verified_result_check CHECK (
    status NOT IN ('verified', 'closed') OR result <> '' OR kind IN ('信息变更', '区域排查'));

-- A township's group is an app chat or a group robot, not both (cases.Org.Validate says so to
-- whoever edits the org file).
ALTER TABLE townships ADD CONSTRAINT townships_one_chat_check CHECK (appchat_id = '' OR webhook_key = '');

-- The audit trail and the registry's history are append-only; users leave by deactivation.
-- +goose StatementBegin
CREATE FUNCTION refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of % refused: the table keeps history (%)', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite('append-only');
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite('append-only');
CREATE TRIGGER registry_history_append_only BEFORE UPDATE OR DELETE ON registry_history
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite('append-only');
CREATE TRIGGER registry_history_no_truncate BEFORE TRUNCATE ON registry_history
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_rewrite('append-only');
CREATE TRIGGER users_never_deleted BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite('deactivate users instead: role former');

-- +goose Down
DROP TRIGGER users_never_deleted ON users;
DROP TRIGGER registry_history_no_truncate ON registry_history;
DROP TRIGGER registry_history_append_only ON registry_history;
DROP TRIGGER case_events_no_truncate ON case_events;
DROP TRIGGER case_events_append_only ON case_events;
DROP FUNCTION refuse_rewrite();
ALTER TABLE townships DROP CONSTRAINT townships_one_chat_check;
ALTER TABLE cases DROP CONSTRAINT cases_verified_result_check, DROP CONSTRAINT cases_closed_at_check;
ALTER TABLE inbox DROP CONSTRAINT inbox_source_check;
ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE case_events DROP CONSTRAINT case_events_action_check;
ALTER TABLE reminders DROP CONSTRAINT reminders_department_check, DROP CONSTRAINT reminders_kind_check;
DROP INDEX warnings_batch_row;
CREATE INDEX warnings_batch ON warnings (batch_id, row_no);
ALTER TABLE reminders DROP CONSTRAINT reminders_period_check;
ALTER TABLE spot_checks DROP CONSTRAINT spot_checks_month_check;
ALTER TABLE rounds DROP CONSTRAINT rounds_month_check;
ALTER TABLE warnings DROP CONSTRAINT warnings_held_round_check, DROP CONSTRAINT warnings_period_check;
ALTER TABLE batches DROP CONSTRAINT batches_period_check;
ALTER TABLE departments DROP CONSTRAINT departments_categories_check;
ALTER TABLE area_sweeps DROP CONSTRAINT area_sweeps_category_check;
ALTER TABLE warnings DROP CONSTRAINT warnings_category_check;
ALTER TABLE batches DROP CONSTRAINT batches_category_check;
