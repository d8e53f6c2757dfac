-- +goose Up
-- A batch stores up to hundreds of thousands of warning rows in one COPY. Its two foreign
-- keys (batch, township) each fired a trigger and a look-up per row, about 40 % of the
-- server's work for the import (docs/performance.md). The same rules are now checked once
-- a statement, over the statement's rows together: a warning names an existing batch (or
-- none) and an existing township, and neither may be deleted, nor its id changed, while a
-- warning names it. The referenced rows are locked FOR KEY SHARE as a foreign key does, so
-- a concurrent delete waits for the insert and then fails its own check.
ALTER TABLE warnings DROP CONSTRAINT warnings_batch_id_fkey, DROP CONSTRAINT warnings_township_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION warnings_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    PERFORM 1 FROM batches b WHERE b.id IN (SELECT DISTINCT n.batch_id FROM new_warnings n) FOR KEY SHARE;
    PERFORM 1 FROM townships t WHERE t.id IN (SELECT DISTINCT n.township_id FROM new_warnings n) FOR KEY SHARE;
    SELECT n.batch_id, n.township_id INTO bad FROM new_warnings n
    WHERE (n.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = n.batch_id))
       OR NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = n.township_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'warning names a batch (%) or township (%) that does not exist', bad.batch_id, bad.township_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION warnings_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text;
BEGIN
    IF TG_TABLE_NAME = 'batches' THEN
        SELECT o.id INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = o.id)
          AND EXISTS (SELECT 1 FROM warnings w WHERE w.batch_id = o.id)
        LIMIT 1;
    ELSE
        SELECT o.id INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = o.id)
          AND EXISTS (SELECT 1 FROM warnings w WHERE w.township_id = o.id)
        LIMIT 1;
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION '% % is still named by warnings', TG_TABLE_NAME, gone
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER warnings_refs_insert AFTER INSERT ON warnings
    REFERENCING NEW TABLE AS new_warnings FOR EACH STATEMENT EXECUTE FUNCTION warnings_refs_check();
CREATE TRIGGER warnings_refs_update AFTER UPDATE ON warnings
    REFERENCING NEW TABLE AS new_warnings FOR EACH STATEMENT EXECUTE FUNCTION warnings_refs_check();
CREATE TRIGGER batches_warnings_delete AFTER DELETE ON batches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION warnings_referenced_check();
CREATE TRIGGER batches_warnings_update AFTER UPDATE ON batches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION warnings_referenced_check();
CREATE TRIGGER townships_warnings_delete AFTER DELETE ON townships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION warnings_referenced_check();
CREATE TRIGGER townships_warnings_update AFTER UPDATE ON townships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION warnings_referenced_check();

-- +goose Down
DROP TRIGGER townships_warnings_update ON townships;
DROP TRIGGER townships_warnings_delete ON townships;
DROP TRIGGER batches_warnings_update ON batches;
DROP TRIGGER batches_warnings_delete ON batches;
DROP TRIGGER warnings_refs_update ON warnings;
DROP TRIGGER warnings_refs_insert ON warnings;
DROP FUNCTION warnings_referenced_check();
DROP FUNCTION warnings_refs_check();
ALTER TABLE warnings ADD CONSTRAINT warnings_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES batches (id),
    ADD CONSTRAINT warnings_township_id_fkey FOREIGN KEY (township_id) REFERENCES townships (id);
