-- +goose Up
-- 人员变动 (spec §5a): 公安局's rows update the registry and are kept as its history. A member is
-- never deleted: a death marks them deceased, a move out of the county moved_out. A member
-- may live in another township or village than their household (迁入/迁出 of one person);
-- NULL means the household's.
ALTER TABLE registry_members
    ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deceased', 'moved_out')),
    ADD COLUMN township_id int REFERENCES townships (id),
    ADD COLUMN village text;

CREATE TABLE registry_history (
    id           bigserial PRIMARY KEY,
    id_number    text NOT NULL,
    household_no text NOT NULL,
    change       text NOT NULL CHECK (change IN ('死亡', '出生', '迁入', '迁出')),
    changed_on   date NOT NULL,
    batch_id     text NOT NULL REFERENCES batches (id),
    row_no       int NOT NULL,
    status       text NOT NULL,            -- the member's status after the change
    township_id  int REFERENCES townships (id),
    village      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, row_no)
);
CREATE INDEX registry_history_member ON registry_history (id_number, id);

-- A case of kind 信息变更 (update the national system) comes from a 人员变动 row; cases say where
-- they came from (部门筛查 unless told otherwise).
ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_kind_check;
ALTER TABLE cases ADD CONSTRAINT cases_kind_check CHECK (kind IN ('新增', '更新', '信息变更', '区域排查'));
ALTER TABLE cases ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT '部门筛查';

-- +goose Down
ALTER TABLE cases DROP CONSTRAINT IF EXISTS cases_kind_check;
ALTER TABLE cases ADD CONSTRAINT cases_kind_check CHECK (kind IN ('新增', '更新'));
DROP TABLE registry_history;
ALTER TABLE registry_members DROP COLUMN status, DROP COLUMN township_id, DROP COLUMN village;
