-- +goose Up
-- An import's COPY names one batch, inserted earlier in the same transaction, and only
-- townships the import has locked FOR KEY SHARE in that transaction and found there
-- (lockImportReferences, cases/postgres/batches.go): what warnings_refs_check would find of
-- every chunk's rows is known before the first row is sent. Checking it again over each
-- chunk's transition table was about a tenth of the server's work for an import
-- (docs/performance.md), so the import says it has checked, for its COPY alone, and the
-- statement check is skipped then. Every other insert is checked as before; the setting is
-- local to the import's transaction and cleared when its COPY ends.
DROP TRIGGER warnings_refs_insert ON warnings;
CREATE TRIGGER warnings_refs_insert AFTER INSERT ON warnings
    REFERENCING NEW TABLE AS new_warnings FOR EACH STATEMENT
    WHEN (current_setting('fangpin.import_refs_locked', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION warnings_refs_check();

-- +goose Down
DROP TRIGGER warnings_refs_insert ON warnings;
CREATE TRIGGER warnings_refs_insert AFTER INSERT ON warnings
    REFERENCING NEW TABLE AS new_warnings FOR EACH STATEMENT EXECUTE FUNCTION warnings_refs_check();
