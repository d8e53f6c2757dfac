-- +goose Up
-- Personal data at rest (docs/encryption.md): registry_members.id_number,
-- registry_households.head_id_number and registry_history.id_number hold the keyed hash of
-- the ID number (64 hex digits, computed by the application: no key is in the database), so
-- every join and look-up stays an equality; a member's number itself is sealed in id_sealed
-- (a head's is their member row's), names in place. registry_history.detail names the
-- member by the same hash, the rest of it is household numbers, township names and field
-- names: nothing to seal.
-- Rows stored before this migration keep their plain values until `fangpin keys rotate`
-- hashes and seals them; the history's guard lets it (in a transaction that sets
-- fangpin.reseal, as for case_events in 00930) replace a plain ID number, and the detail
-- naming it, by the hash, and nothing else.
-- 00930 (the warnings' sealing) may have added id_sealed already.
ALTER TABLE registry_members ADD COLUMN IF NOT EXISTS id_sealed text NOT NULL DEFAULT '';

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION registry_history_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'township_id') = (to_jsonb(OLD) - 'township_id') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND current_setting('fangpin.reseal', true) = 'on'
        AND (to_jsonb(NEW) - 'id_number' - 'detail') = (to_jsonb(OLD) - 'id_number' - 'detail')
        AND OLD.id_number !~ '^[0-9a-f]{64}$' AND NEW.id_number ~ '^[0-9a-f]{64}$' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% of % refused: the table keeps history (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION registry_history_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'township_id') = (to_jsonb(OLD) - 'township_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% of % refused: the table keeps history (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd
ALTER TABLE registry_members DROP COLUMN IF EXISTS id_sealed;
