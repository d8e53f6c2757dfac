-- +goose Up
-- A township merged into another (org file `formerly: [...]`) takes its registry history
-- along: the history rows keep every word they said, only their township becomes the
-- surviving one. Any other change to the history is still refused.
-- +goose StatementBegin
CREATE FUNCTION registry_history_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'township_id') = (to_jsonb(OLD) - 'township_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% of % refused: the table keeps history (append-only)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
-- +goose StatementEnd
DROP TRIGGER registry_history_append_only ON registry_history;
CREATE TRIGGER registry_history_append_only BEFORE UPDATE OR DELETE ON registry_history
    FOR EACH ROW EXECUTE FUNCTION registry_history_guard();

-- +goose Down
DROP TRIGGER registry_history_append_only ON registry_history;
CREATE TRIGGER registry_history_append_only BEFORE UPDATE OR DELETE ON registry_history
    FOR EACH ROW EXECUTE FUNCTION refuse_rewrite('append-only');
DROP FUNCTION registry_history_guard();
