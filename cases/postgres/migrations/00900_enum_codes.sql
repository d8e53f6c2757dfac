-- +goose Up
-- Enum values are stored as English codes; the Chinese words people read come from the
-- types' Label() in Go (docs/datalayer.md): a case's kind, result and source, a spot
-- check's result, and the change a registry_history row records (a 人员变动 row's 变动类型,
-- or a re-import's change, whose 变更 fields stay in detail).
ALTER TABLE cases
    DROP CONSTRAINT cases_kind_check,
    DROP CONSTRAINT cases_result_check,
    DROP CONSTRAINT cases_check1,
    DROP CONSTRAINT cases_verified_result_check,
    ALTER COLUMN source SET DEFAULT 'screening';
UPDATE cases SET
    kind = CASE kind WHEN '新增' THEN 'new' WHEN '更新' THEN 'update' WHEN '信息变更' THEN 'info' WHEN '区域排查' THEN 'sweep' ELSE kind END,
    result = CASE result WHEN '纳入' THEN 'include' WHEN '已在监测' THEN 'monitored' WHEN '不纳入' THEN 'exclude' ELSE result END,
    source = CASE source WHEN '部门筛查' THEN 'screening' WHEN '农户申报' THEN 'applied' WHEN '干部走访' THEN 'visit'
        WHEN '人员变动' THEN 'population' ELSE source END;
ALTER TABLE cases
    ADD CONSTRAINT cases_kind_check CHECK (kind IN ('new', 'update', 'info', 'sweep')),
    ADD CONSTRAINT cases_result_check CHECK (result IN ('', 'include', 'monitored', 'exclude')),
    ADD CONSTRAINT cases_source_check CHECK (source IN ('screening', 'applied', 'visit', 'population')),
    ADD CONSTRAINT cases_exclude_reason_check CHECK (result <> 'exclude' OR reason <> ''),
    ADD CONSTRAINT cases_verified_result_check CHECK (
        status NOT IN ('verified', 'closed') OR result <> '' OR kind IN ('info', 'sweep'));

ALTER TABLE spot_checks DROP CONSTRAINT spot_checks_result_check;
UPDATE spot_checks SET result = CASE result WHEN '合格' THEN 'pass' WHEN '不合格' THEN 'fail' ELSE result END
WHERE result <> '';
ALTER TABLE spot_checks ADD CONSTRAINT spot_checks_result_check CHECK (result IN ('', 'pass', 'fail'));

-- registry_history is append-only (00500): the rewrite of its words is the one exception. A
-- 变更 keeps the fields its word named (变更：村、风险状态) in fields, which are not personal
-- data (detail may be sealed, docs/encryption.md).
ALTER TABLE registry_history ADD COLUMN fields text[] NOT NULL DEFAULT '{}';
ALTER TABLE registry_history DISABLE TRIGGER registry_history_append_only;
UPDATE registry_history SET
    fields = CASE WHEN change LIKE '变更：%' THEN string_to_array(substr(change, 4), '、') ELSE '{}' END,
    change = CASE change WHEN '死亡' THEN 'death' WHEN '出生' THEN 'birth' WHEN '迁入' THEN 'move_in' WHEN '迁出' THEN 'move_out'
        WHEN '新增' THEN 'added' WHEN '迁户' THEN 'moved' WHEN '退出' THEN 'removed'
        ELSE CASE WHEN change LIKE '变更%' THEN 'changed' ELSE change END END;
ALTER TABLE registry_history ENABLE TRIGGER registry_history_append_only;
ALTER TABLE registry_history ADD CONSTRAINT registry_history_change_check CHECK (change IN
    ('death', 'birth', 'move_in', 'move_out', 'added', 'moved', 'removed', 'changed'));

-- +goose Down
ALTER TABLE registry_history DROP CONSTRAINT registry_history_change_check;
ALTER TABLE registry_history DISABLE TRIGGER registry_history_append_only;
UPDATE registry_history SET change = CASE change WHEN 'death' THEN '死亡' WHEN 'birth' THEN '出生' WHEN 'move_in' THEN '迁入'
    WHEN 'move_out' THEN '迁出' WHEN 'added' THEN '新增' WHEN 'moved' THEN '迁户' WHEN 'removed' THEN '退出'
    WHEN 'changed' THEN '变更' || CASE WHEN cardinality(fields) > 0 THEN '：' || array_to_string(fields, '、') ELSE '' END
    ELSE change END;
ALTER TABLE registry_history ENABLE TRIGGER registry_history_append_only;
ALTER TABLE registry_history DROP COLUMN fields;

ALTER TABLE spot_checks DROP CONSTRAINT spot_checks_result_check;
UPDATE spot_checks SET result = CASE result WHEN 'pass' THEN '合格' WHEN 'fail' THEN '不合格' ELSE result END
WHERE result <> '';
ALTER TABLE spot_checks ADD CONSTRAINT spot_checks_result_check CHECK (result IN ('', '合格', '不合格'));

ALTER TABLE cases
    DROP CONSTRAINT cases_kind_check,
    DROP CONSTRAINT cases_result_check,
    DROP CONSTRAINT cases_source_check,
    DROP CONSTRAINT cases_exclude_reason_check,
    DROP CONSTRAINT cases_verified_result_check,
    ALTER COLUMN source SET DEFAULT '部门筛查';
UPDATE cases SET
    kind = CASE kind WHEN 'new' THEN '新增' WHEN 'update' THEN '更新' WHEN 'info' THEN '信息变更' WHEN 'sweep' THEN '区域排查' ELSE kind END,
    result = CASE result WHEN 'include' THEN '纳入' WHEN 'monitored' THEN '已在监测' WHEN 'exclude' THEN '不纳入' ELSE result END,
    source = CASE source WHEN 'screening' THEN '部门筛查' WHEN 'applied' THEN '农户申报' WHEN 'visit' THEN '干部走访'
        WHEN 'population' THEN '人员变动' ELSE source END;
ALTER TABLE cases
    ADD CONSTRAINT cases_kind_check CHECK (kind IN ('新增', '更新', '信息变更', '区域排查')),
    ADD CONSTRAINT cases_result_check CHECK (result IN ('', '纳入', '已在监测', '不纳入')),
    ADD CONSTRAINT cases_check1 CHECK (result <> '不纳入' OR reason <> ''),
    ADD CONSTRAINT cases_verified_result_check CHECK (
        status NOT IN ('verified', 'closed') OR result <> '' OR kind IN ('信息变更', '区域排查'));
