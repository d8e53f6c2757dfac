-- +goose Up
-- Spec §4a: reference data that changes.

-- A renamed or merged township keeps its row (cases, history, chat) under its new name;
-- its former names still find it.
ALTER TABLE townships ADD COLUMN formerly text[] NOT NULL DEFAULT '{}';

-- Users who leave the org file are deactivated, never deleted: history keeps their names.
-- A deactivated user has role 'former' (so every role query leaves them out) and keeps the
-- role they had in former_role.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('liaison', 'office', 'cadre', 'supervisor', 'former'));
ALTER TABLE users
    ADD COLUMN former_role text NOT NULL DEFAULT '',
    ADD COLUMN deactivated_at timestamptz;

-- 区域排查 (§5c) is a case of its own kind; 信息变更 (§5a) is listed too so that branches
-- adding either agree on the constraint.
ALTER TABLE cases DROP CONSTRAINT cases_kind_check;
ALTER TABLE cases ADD CONSTRAINT cases_kind_check CHECK (kind IN ('新增', '更新', '信息变更', '区域排查'));

-- A 区域排查 task: the villages it names and, once done, how many households were found.
CREATE TABLE area_sweeps (
    case_id    bigint PRIMARY KEY REFERENCES cases (id),
    category   text NOT NULL,
    event      text NOT NULL DEFAULT '',
    villages   text[] NOT NULL DEFAULT '{}',
    found      int,
    note       text NOT NULL DEFAULT '',
    done_by    text NOT NULL DEFAULT '',
    done_at    timestamptz
);
-- A household found by a 区域排查 (reported with 走访) points at the task.
ALTER TABLE cases ADD COLUMN sweep_case_id bigint REFERENCES cases (id);
CREATE INDEX cases_sweep ON cases (sweep_case_id) WHERE sweep_case_id IS NOT NULL;

-- Registry re-imports (§4a): households absent from a later export are removed (退出), kept.
ALTER TABLE registry_households
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
    ADD COLUMN removed_at timestamptz;
-- A member absent from a later export (their household still in it) is removed from it, kept.
ALTER TABLE registry_members ADD COLUMN removed_at timestamptz;

-- One row per registry import; counts of the diff it applied.
CREATE TABLE registry_imports (
    id         text PRIMARY KEY,
    sha256     text NOT NULL,
    filename   text NOT NULL DEFAULT '',
    rows       int NOT NULL DEFAULT 0,
    added      int NOT NULL DEFAULT 0,
    changed    int NOT NULL DEFAULT 0,
    moved      int NOT NULL DEFAULT 0,
    removed    int NOT NULL DEFAULT 0,
    at         timestamptz NOT NULL DEFAULT now()
);

-- The registry's history, shared with 人员变动 (issue 13, migration 00202, which may have
-- created it already: then it is widened here). One row per change a re-import (or a
-- 人员变动 row) made: id_number is '' for a household change; change is 新增, 变更：…, 迁户,
-- 退出 for re-imports (死亡, 出生, 迁入, 迁出 for 人员变动); batch_id is the registry import's
-- id (registry_imports) or the 人员变动 push's (batches); detail says what changed.
CREATE TABLE IF NOT EXISTS registry_history (
    id           bigserial PRIMARY KEY,
    id_number    text NOT NULL,
    household_no text NOT NULL,
    change       text NOT NULL,
    changed_on   date NOT NULL,
    batch_id     text NOT NULL,
    row_no       int,
    status       text NOT NULL DEFAULT '',
    township_id  int REFERENCES townships (id),
    village      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE registry_history DROP CONSTRAINT IF EXISTS registry_history_change_check;
ALTER TABLE registry_history DROP CONSTRAINT IF EXISTS registry_history_batch_id_fkey;
ALTER TABLE registry_history ALTER COLUMN row_no DROP NOT NULL;
ALTER TABLE registry_history ALTER COLUMN status SET DEFAULT '';
ALTER TABLE registry_history ADD COLUMN IF NOT EXISTS detail jsonb NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS registry_history_member ON registry_history (id_number, id);
CREATE INDEX IF NOT EXISTS registry_history_household ON registry_history (household_no, id);

-- +goose Down
DROP INDEX IF EXISTS registry_history_household;
ALTER TABLE registry_history DROP COLUMN IF EXISTS detail;
DROP TABLE registry_imports;
ALTER TABLE registry_members DROP COLUMN removed_at;
ALTER TABLE registry_households DROP COLUMN status, DROP COLUMN removed_at;
DROP INDEX cases_sweep;
ALTER TABLE cases DROP COLUMN sweep_case_id;
DROP TABLE area_sweeps;
ALTER TABLE cases DROP CONSTRAINT cases_kind_check;
ALTER TABLE cases ADD CONSTRAINT cases_kind_check CHECK (kind IN ('新增', '更新'));
ALTER TABLE users DROP COLUMN former_role, DROP COLUMN deactivated_at;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('liaison', 'office', 'cadre', 'supervisor'));
ALTER TABLE townships DROP COLUMN formerly;
