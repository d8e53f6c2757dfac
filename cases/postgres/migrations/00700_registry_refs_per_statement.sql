-- A registry import inserts a county's registry at once (100,000 households, 300,000
-- members): the foreign keys from members to households and from households to townships
-- ran a trigger and locked the referenced row for every inserted row, about 40 % of the
-- members' insert. The same references are now checked once a statement, over the
-- statement's rows (as 00550/00600 did for warnings), refusing what the foreign keys
-- refused, under their names and SQLSTATE 23503 (docs/performance.md).

-- +goose Up
ALTER TABLE registry_members DROP CONSTRAINT registry_members_household_no_fkey;
ALTER TABLE registry_households DROP CONSTRAINT registry_households_township_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION registry_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE FUNCTION registry_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER registry_members_refs_insert AFTER INSERT ON registry_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_refs_check();
CREATE TRIGGER registry_members_refs_update AFTER UPDATE ON registry_members
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_refs_check();
CREATE TRIGGER registry_households_refs_insert AFTER INSERT ON registry_households
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_refs_check();
CREATE TRIGGER registry_households_refs_update AFTER UPDATE ON registry_households
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_refs_check();
CREATE TRIGGER registry_households_referenced_delete AFTER DELETE ON registry_households
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_referenced_check();
CREATE TRIGGER registry_households_referenced_update AFTER UPDATE ON registry_households
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_referenced_check();
CREATE TRIGGER townships_registry_delete AFTER DELETE ON townships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_referenced_check();
CREATE TRIGGER townships_registry_update AFTER UPDATE ON townships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_referenced_check();

-- +goose Down
DROP TRIGGER townships_registry_update ON townships;
DROP TRIGGER townships_registry_delete ON townships;
DROP TRIGGER registry_households_referenced_update ON registry_households;
DROP TRIGGER registry_households_referenced_delete ON registry_households;
DROP TRIGGER registry_households_refs_update ON registry_households;
DROP TRIGGER registry_households_refs_insert ON registry_households;
DROP TRIGGER registry_members_refs_update ON registry_members;
DROP TRIGGER registry_members_refs_insert ON registry_members;
DROP FUNCTION registry_referenced_check();
DROP FUNCTION registry_refs_check();
ALTER TABLE registry_households ADD CONSTRAINT registry_households_township_id_fkey
    FOREIGN KEY (township_id) REFERENCES townships (id);
ALTER TABLE registry_members ADD CONSTRAINT registry_members_household_no_fkey
    FOREIGN KEY (household_no) REFERENCES registry_households (household_no);
