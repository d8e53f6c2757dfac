-- Personal data at rest (docs/encryption.md): the key columns of people (warnings.id_number,
-- head_id_number, cases.head_id_number) hold the keyed hash of the number, the number itself
-- is sealed in *_sealed, names and details are sealed in place. No keys here: the program
-- seals what an older version stored in plain on its first start (keys rotate's "seal
-- pending" step), so this migration only makes room.

-- +goose Up
ALTER TABLE warnings ADD COLUMN id_sealed text NOT NULL DEFAULT '';
-- 问题类型 of a 保障 warning decides which rows a later push replaces (supersede.go); with
-- the detail sealed, SQL reads it from a column of its own. It names a kind of problem
-- (住房、饮水 …), nothing about a person.
ALTER TABLE warnings ADD COLUMN problem text NOT NULL DEFAULT '';
UPDATE warnings SET problem = coalesce(detail::jsonb ->> '问题类型', '')
    WHERE category = 'assurance' AND detail LIKE '%问题类型%';
ALTER TABLE cases ADD COLUMN head_id_sealed text NOT NULL DEFAULT '';
-- The registry's own sealing (docs/encryption.md) keeps a member's number sealed here; added
-- only if the registry's migration has not added it already, so either may come first.
ALTER TABLE registry_members ADD COLUMN IF NOT EXISTS id_sealed text NOT NULL DEFAULT '';

-- The audit trail stays append-only, but keys rotate may re-seal an event's detail and
-- source_msg (same meaning, another key): only inside its own transaction, which says so.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION case_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('fangpin.retention', true) = 'on'
        AND (NEW.id, NEW.case_id, NEW.action, NEW.from_status, NEW.to_status, NEW.actor, NEW.actor_role, NEW.at)
            IS NOT DISTINCT FROM (OLD.id, OLD.case_id, OLD.action, OLD.from_status, OLD.to_status, OLD.actor, OLD.actor_role, OLD.at)
        AND EXISTS (SELECT 1 FROM cases c WHERE c.id = NEW.case_id AND c.status = 'closed') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND current_setting('fangpin.reseal', true) = 'on'
        AND (NEW.id, NEW.case_id, NEW.action, NEW.from_status, NEW.to_status, NEW.actor, NEW.actor_role, NEW.at)
            IS NOT DISTINCT FROM (OLD.id, OLD.case_id, OLD.action, OLD.from_status, OLD.to_status, OLD.actor, OLD.actor_role, OLD.at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% of % refused: the table keeps history (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd

-- +goose Down
-- No keys here to open what is sealed: a sealed detail stays sealed, as a JSON string, so
-- that earlier versions' migrations still read every detail as JSON.
UPDATE warnings SET detail = to_json(detail)::text WHERE detail LIKE 'fp1.%';
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION case_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('fangpin.retention', true) = 'on'
        AND (NEW.id, NEW.case_id, NEW.action, NEW.from_status, NEW.to_status, NEW.actor, NEW.actor_role, NEW.at)
            IS NOT DISTINCT FROM (OLD.id, OLD.case_id, OLD.action, OLD.from_status, OLD.to_status, OLD.actor, OLD.actor_role, OLD.at)
        AND EXISTS (SELECT 1 FROM cases c WHERE c.id = NEW.case_id AND c.status = 'closed') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% of % refused: the table keeps history (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd
ALTER TABLE cases DROP COLUMN head_id_sealed;
ALTER TABLE warnings DROP COLUMN problem;
ALTER TABLE warnings DROP COLUMN id_sealed;
