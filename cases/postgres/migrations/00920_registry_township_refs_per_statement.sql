-- A member's and a history row's township (NULL unless 人员变动 set one) were foreign keys,
-- whose trigger ran for every inserted row even when the township is NULL: about 40 % of a
-- first import's server time storing its 300,000 members (docs/performance.md). They are
-- now checked once a statement, over the statement's rows, as 00700 did for the registry's
-- other references, refusing what the foreign keys refused, under their names and SQLSTATE
-- 23503; a township still named by a member or a history row cannot be deleted.

-- +goose Up
ALTER TABLE registry_members DROP CONSTRAINT registry_members_township_id_fkey;
ALTER TABLE registry_history DROP CONSTRAINT registry_history_township_id_fkey;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION registry_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    IF TG_TABLE_NAME = 'registry_members' THEN
        SELECT n.household_no INTO bad FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM registry_households h WHERE h.household_no = n.household_no) LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'registry member of unknown household %', bad
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_members_household_no_fkey';
        END IF;
    END IF;
    IF TG_TABLE_NAME IN ('registry_members', 'registry_history') THEN
        SELECT n.township_id::text INTO bad FROM new_rows n
        WHERE n.township_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = n.township_id) LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION '% row of unknown township %', TG_TABLE_NAME, bad
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_TABLE_NAME || '_township_id_fkey';
        END IF;
        RETURN NULL;
    END IF;
    SELECT n.township_id::text INTO bad FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = n.township_id) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'registry household of unknown township %', bad
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_households_township_id_fkey';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION registry_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text;
    ids int[];
BEGIN
    IF TG_TABLE_NAME = 'registry_households' THEN
        SELECT o.household_no INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM registry_households h WHERE h.household_no = o.household_no)
          AND EXISTS (SELECT 1 FROM registry_members m WHERE m.household_no = o.household_no)
        LIMIT 1;
        IF gone IS NOT NULL THEN
            RAISE EXCEPTION 'registry household % still has members', gone
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_members_household_no_fkey';
        END IF;
        RETURN NULL;
    END IF;
    -- Townships: only those really gone (an org file's update keeps them all) are looked
    -- for in the registry, whose members and history have no index on their township.
    SELECT array_agg(o.id) INTO ids FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = o.id);
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT h.township_id::text INTO gone FROM registry_households h WHERE h.township_id = ANY (ids) LIMIT 1;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'township % still has registry households', gone
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_households_township_id_fkey';
    END IF;
    SELECT m.township_id::text INTO gone FROM registry_members m WHERE m.township_id = ANY (ids) LIMIT 1;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'township % still has registry members', gone
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_members_township_id_fkey';
    END IF;
    SELECT r.township_id::text INTO gone FROM registry_history r WHERE r.township_id = ANY (ids) LIMIT 1;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'township % still has registry history', gone
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_history_township_id_fkey';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER registry_history_refs_insert AFTER INSERT ON registry_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_refs_check();
CREATE TRIGGER registry_history_refs_update AFTER UPDATE ON registry_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_refs_check();

-- +goose Down
DROP TRIGGER registry_history_refs_update ON registry_history;
DROP TRIGGER registry_history_refs_insert ON registry_history;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION registry_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    IF TG_TABLE_NAME = 'registry_members' THEN
        SELECT n.household_no INTO bad FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM registry_households h WHERE h.household_no = n.household_no) LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'registry member of unknown household %', bad
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_members_household_no_fkey';
        END IF;
    ELSE
        SELECT n.township_id::text INTO bad FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = n.township_id) LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'registry household of unknown township %', bad
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_households_township_id_fkey';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION registry_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text;
BEGIN
    IF TG_TABLE_NAME = 'registry_households' THEN
        SELECT o.household_no INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM registry_households h WHERE h.household_no = o.household_no)
          AND EXISTS (SELECT 1 FROM registry_members m WHERE m.household_no = o.household_no)
        LIMIT 1;
        IF gone IS NOT NULL THEN
            RAISE EXCEPTION 'registry household % still has members', gone
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_members_household_no_fkey';
        END IF;
    ELSE
        SELECT o.id::text INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = o.id)
          AND EXISTS (SELECT 1 FROM registry_households h WHERE h.township_id = o.id)
        LIMIT 1;
        IF gone IS NOT NULL THEN
            RAISE EXCEPTION 'township % still has registry households', gone
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'registry_households_township_id_fkey';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
ALTER TABLE registry_history ADD CONSTRAINT registry_history_township_id_fkey
    FOREIGN KEY (township_id) REFERENCES townships (id);
ALTER TABLE registry_members ADD CONSTRAINT registry_members_township_id_fkey
    FOREIGN KEY (township_id) REFERENCES townships (id);
