-- +goose Up
-- What a warning row costs the import (issue 18, docs/performance.md). A profile of the COPY
-- backend on 220,147 warning rows showed, besides the rows themselves: 37 % in index inserts
-- (three indexes), 8 % in the three CHECKs (a regular expression per row for the period) and
-- 8 % in the foreign key on case_id, whose trigger is queued and run for every inserted row
-- although an import never sets case_id. The same rules now cost per statement, not per row.

-- 1. Dispatch finds the warnings no case holds yet through the batches that may still hold
--    some, by the batch index every row has anyway (2.), instead of an index of its own that
--    cost every imported row an entry. A batch is marked dispatched when a dispatch leaves
--    none of its warnings without a case. The few warnings of no batch (申报/走访) keep a
--    partial index, which no imported row enters.
ALTER TABLE batches ADD COLUMN undispatched boolean NOT NULL DEFAULT true;
UPDATE batches b SET undispatched = EXISTS
    (SELECT 1 FROM warnings w WHERE w.batch_id = b.id AND w.case_id IS NULL AND w.rule <> '');
CREATE INDEX batches_undispatched ON batches (id) WHERE undispatched;
DROP INDEX warnings_undispatched;
CREATE INDEX warnings_undispatched_unbatched ON warnings (id) WHERE batch_id IS NULL AND case_id IS NULL AND rule <> '';
-- 2. The same uniqueness, keyed on a 64-bit hash of the batch id rather than the id's text:
--    a B-tree whose key starts with text cost the import about 1 µs of the server's time per
--    warning row, a third of all it did (dropping the index took a million-row import from
--    2.6 to 1.9 times psql's copy; this key, to 2.3). A warning's batch is found by
--    batch_key(batch_id) = batch_key(…) AND batch_id = …; two ids with one key would only make
--    the index refuse a row that was not a duplicate (about one chance in 10^11 in a county's
--    decades of batches). NULL batches (申报/走访) stay distinct.
-- +goose StatementBegin
CREATE FUNCTION batch_key(batch_id text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended(batch_id, 0)
$$;
-- +goose StatementEnd
DROP INDEX warnings_batch_row;
CREATE UNIQUE INDEX warnings_batch_row ON warnings (batch_key(batch_id), row_no, category);

-- 3. The category, period and held-round checks and the case reference move into the
--    statement-level check of migrations 00550/00570, which already reads a statement's rows
--    once: it now checks each distinct value once, under the constraints' old names and codes.
ALTER TABLE warnings DROP CONSTRAINT warnings_category_check, DROP CONSTRAINT warnings_period_check,
    DROP CONSTRAINT warnings_held_round_check, DROP CONSTRAINT warnings_case;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bs text[];
    ts int[];
    cs bigint[];
    cats text[];
    months text[];
    bad_b text;
    bad_t int;
    bad_c bigint;
    bad text;
BEGIN
    -- one hashed pass over the rows; the arrays are then built from the few distinct values
    SELECT array_agg(DISTINCT s.b) FILTER (WHERE s.b IS NOT NULL), array_agg(DISTINCT s.t),
           array_agg(DISTINCT s.c) FILTER (WHERE s.c IS NOT NULL), array_agg(DISTINCT s.cat),
           array_agg(DISTINCT s.p) || array_agg(DISTINCT s.h) FILTER (WHERE s.h <> '')
        INTO bs, ts, cs, cats, months
        FROM (SELECT DISTINCT n.batch_id AS b, n.township_id AS t, n.case_id AS c, n.category AS cat,
                  n.period AS p, n.held_round AS h FROM new_warnings n) s;
    SELECT x INTO bad FROM unnest(cats) x WHERE x IS NULL OR x NOT IN
        ('medical', 'serious_illness', 'education', 'disaster', 'epidemic', 'industry', 'employment', 'assistance', 'assurance', 'population')
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'new row for relation "warnings" violates check constraint "warnings_category_check": category %', bad
            USING ERRCODE = 'check_violation', TABLE = 'warnings', CONSTRAINT = 'warnings_category_check';
    END IF;
    -- periods, then held rounds: a bad value names the constraint of its column
    SELECT x INTO bad FROM unnest(months) x WHERE x IS NULL OR x !~ '^[0-9]{4}-(0[1-9]|1[0-2])$' LIMIT 1;
    IF FOUND THEN
        IF EXISTS (SELECT 1 FROM new_warnings n WHERE n.period = bad) THEN
            RAISE EXCEPTION 'new row for relation "warnings" violates check constraint "warnings_period_check": period %', bad
                USING ERRCODE = 'check_violation', TABLE = 'warnings', CONSTRAINT = 'warnings_period_check';
        END IF;
        RAISE EXCEPTION 'new row for relation "warnings" violates check constraint "warnings_held_round_check": held_round %', bad
            USING ERRCODE = 'check_violation', TABLE = 'warnings', CONSTRAINT = 'warnings_held_round_check';
    END IF;
    PERFORM 1 FROM batches b WHERE b.id = ANY (bs) FOR KEY SHARE;
    PERFORM 1 FROM townships t WHERE t.id = ANY (ts) FOR KEY SHARE;
    PERFORM 1 FROM cases c WHERE c.id = ANY (cs) FOR KEY SHARE;
    SELECT x INTO bad_b FROM unnest(bs) x WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = x) LIMIT 1;
    SELECT x INTO bad_t FROM unnest(ts) x WHERE x IS NULL OR NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = x) LIMIT 1;
    SELECT x INTO bad_c FROM unnest(cs) x WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = x) LIMIT 1;
    IF bad_b IS NOT NULL OR bad_t IS NOT NULL OR bad_c IS NOT NULL OR array_position(ts, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'warning names a batch (%), township (%) or case (%) that does not exist', bad_b, bad_t, bad_c
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;

-- A case named by warnings is never deleted, and no case's id ever changes.
CREATE FUNCTION cases_warnings_delete_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone bigint;
BEGIN
    SELECT o.id INTO gone FROM old_rows o WHERE EXISTS (SELECT 1 FROM warnings w WHERE w.case_id = o.id) LIMIT 1;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION 'case % is still named by warnings', gone USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION cases_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'a case''s id never changes (% to %)', OLD.id, NEW.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
-- A deleted or renumbered batch is looked up in warnings by its key, as the index has it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text;
BEGIN
    IF TG_TABLE_NAME = 'batches' THEN
        SELECT o.id INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = o.id)
          AND EXISTS (SELECT 1 FROM warnings w WHERE batch_key(w.batch_id) = batch_key(o.id) AND w.batch_id = o.id)
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
CREATE TRIGGER cases_warnings_delete AFTER DELETE ON cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cases_warnings_delete_check();
CREATE TRIGGER cases_id_fixed BEFORE UPDATE OF id ON cases FOR EACH ROW EXECUTE FUNCTION cases_id_fixed();

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TRIGGER cases_id_fixed ON cases;
DROP TRIGGER cases_warnings_delete ON cases;
DROP FUNCTION cases_id_fixed();
DROP FUNCTION cases_warnings_delete_check();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_refs_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bs text[];
    ts int[];
    bad_b text;
    bad_t int;
BEGIN
    SELECT array_agg(DISTINCT s.b) FILTER (WHERE s.b IS NOT NULL), array_agg(DISTINCT s.t) INTO bs, ts
        FROM (SELECT DISTINCT n.batch_id AS b, n.township_id AS t FROM new_warnings n) s;
    PERFORM 1 FROM batches b WHERE b.id = ANY (bs) FOR KEY SHARE;
    PERFORM 1 FROM townships t WHERE t.id = ANY (ts) FOR KEY SHARE;
    SELECT x INTO bad_b FROM unnest(bs) x WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = x) LIMIT 1;
    SELECT x INTO bad_t FROM unnest(ts) x WHERE x IS NULL OR NOT EXISTS (SELECT 1 FROM townships t WHERE t.id = x) LIMIT 1;
    IF bad_b IS NOT NULL OR bad_t IS NOT NULL OR array_position(ts, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'warning names a batch (%) or township (%) that does not exist', bad_b, bad_t
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
ALTER TABLE warnings ADD CONSTRAINT warnings_category_check CHECK (category IN
    ('medical', 'serious_illness', 'education', 'disaster', 'epidemic', 'industry', 'employment', 'assistance', 'assurance', 'population'));
ALTER TABLE warnings ADD CONSTRAINT warnings_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE warnings ADD CONSTRAINT warnings_held_round_check CHECK (held_round = '' OR held_round ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
ALTER TABLE warnings ADD CONSTRAINT warnings_case FOREIGN KEY (case_id) REFERENCES cases (id);
DROP INDEX warnings_batch_row;
CREATE UNIQUE INDEX warnings_batch_row ON warnings (batch_id, row_no, category) WHERE batch_id IS NOT NULL;
DROP FUNCTION batch_key(text);
DROP INDEX warnings_undispatched_unbatched;
CREATE INDEX warnings_undispatched ON warnings (township_id) WHERE case_id IS NULL AND rule <> '';
DROP INDEX batches_undispatched;
ALTER TABLE batches DROP COLUMN undispatched;
