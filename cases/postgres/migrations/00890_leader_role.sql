-- +goose Up
-- County leaders (扶贫开发领导小组) read progress, totals and overdue cases; they change nothing.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('liaison', 'office', 'cadre', 'supervisor', 'leader', 'former'));

-- +goose Down
UPDATE users SET role = 'former', former_role = 'leader', deactivated_at = COALESCE(deactivated_at, now()) WHERE role = 'leader';
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('liaison', 'office', 'cadre', 'supervisor', 'former'));
