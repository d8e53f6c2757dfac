-- +goose Up
-- A batch's warnings are found by the range of warning ids its rows took, kept on the batch
-- (first_warning, last_warning), through the primary key, and no longer by the unique index
-- warnings_batch_row on (batch_key(batch_id), row_no, category): that index cost an import
-- about a quarter of the server's work for each row (docs/performance.md), more than any
-- other part of storing it. An import numbers its rows from reserved blocks (migration 00991),
-- so a batch's rows lie in one range, which the import records; rows of other batches that
-- a concurrent import interleaved are told apart by batch_id. What the index made sure of, a
-- row of a push giving at most one warning of each category, the import makes sure of for
-- its own rows (copyWarnings), and the statement check below for every other insert,
-- refusing a duplicate under the index's name as before.
ALTER TABLE batches ADD COLUMN first_warning bigint, ADD COLUMN last_warning bigint;
UPDATE batches b SET first_warning = s.lo, last_warning = s.hi
    FROM (SELECT batch_id, min(id) AS lo, max(id) AS hi FROM warnings WHERE batch_id IS NOT NULL GROUP BY batch_id) s
    WHERE s.batch_id = b.id;
DROP INDEX warnings_batch_row;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_refs_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $$
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
    dup record;
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
    IF TG_OP = 'INSERT' AND bs IS NOT NULL THEN
        -- The batches' ranges of warning ids take in the new rows (an import's COPY, which
        -- skips this check, sets its batch's range itself).
        UPDATE batches b SET first_warning = least(b.first_warning, s.lo), last_warning = greatest(b.last_warning, s.hi)
            FROM (SELECT n.batch_id, min(n.id) AS lo, max(n.id) AS hi FROM new_warnings n
                  WHERE n.batch_id IS NOT NULL GROUP BY n.batch_id) s
            WHERE b.id = s.batch_id AND (b.first_warning IS NULL OR s.lo < b.first_warning OR s.hi > b.last_warning);
        -- A row of a push gives at most one warning of each category (the unique index
        -- warnings_batch_row until migration 00992, under whose name a duplicate is refused).
        SELECT w.batch_id, w.row_no, w.category INTO dup
            FROM batches b JOIN warnings w ON w.id BETWEEN b.first_warning AND b.last_warning AND w.batch_id = b.id
            WHERE b.id = ANY (bs)
            GROUP BY w.batch_id, w.row_no, w.category HAVING count(*) > 1 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'duplicate key value violates unique constraint "warnings_batch_row"'
                USING ERRCODE = 'unique_violation', TABLE = 'warnings', CONSTRAINT = 'warnings_batch_row',
                      DETAIL = format('Key (batch_id, row_no, category)=(%s, %s, %s) already exists.', dup.batch_id, dup.row_no, dup.category);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_referenced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    gone text;
BEGIN
    IF TG_TABLE_NAME = 'batches' THEN
        SELECT o.id INTO gone FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = o.id)
          AND EXISTS (SELECT 1 FROM warnings w WHERE w.id BETWEEN o.first_warning AND o.last_warning AND w.batch_id = o.id)
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
DROP FUNCTION batch_key(text);

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION batch_key(batch_id text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended(batch_id, 0)
$$;
-- +goose StatementEnd
CREATE UNIQUE INDEX warnings_batch_row ON warnings (batch_key(batch_id), row_no, category);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_refs_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $$
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
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION warnings_referenced_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $$
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
ALTER TABLE batches DROP COLUMN first_warning, DROP COLUMN last_warning;
