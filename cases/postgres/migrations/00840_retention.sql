-- Retention (docs/operations.md): cases closed long ago are anonymized once, and say when.
-- The audit trail stays append-only, except that the retention run may clear an event's
-- free text (detail, source_msg) while everything the assessment counts stays as it was.

-- +goose Up
ALTER TABLE cases ADD COLUMN anonymized_at timestamptz;
CREATE INDEX cases_retention_due ON cases (closed_at) WHERE status = 'closed' AND anonymized_at IS NULL;

-- +goose StatementBegin
CREATE FUNCTION case_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TRIGGER case_events_append_only ON case_events;
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_guard();

-- +goose Down
DROP TRIGGER case_events_append_only ON case_events;
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite('append-only');
DROP FUNCTION case_events_guard();
DROP INDEX cases_retention_due;
ALTER TABLE cases DROP COLUMN anonymized_at;
