-- +goose Up
-- What people type — a 核查 reason (cases.reason), a department's 措施 and the office's 转办
-- 说明 (department_tasks), a spot check's and a 区域排查's note — may hold an ID number or a
-- diagnosis, and is now sealed like the rest of a person's data (docs/encryption.md). The
-- next start seals what an older version stored in plain: the sealing row says nothing is
-- plain no more.
UPDATE sealing SET plain_sealed_at = NULL;

-- +goose Down
SELECT 1;
