-- +goose Up
-- A spot check's row keeps its latest result; failures counts every 不合格 so that a case
-- that failed, was redone and then passed still counts as a failure in the assessment.
-- sampled tells a case drawn by `fangpin spotcheck` from one a supervisor checked on their own.
ALTER TABLE spot_checks
    ADD COLUMN failures int NOT NULL DEFAULT 0,
    ADD COLUMN sampled boolean NOT NULL DEFAULT false;
CREATE INDEX spot_checks_month ON spot_checks (month);

-- +goose Down
DROP INDEX spot_checks_month;
ALTER TABLE spot_checks DROP COLUMN failures, DROP COLUMN sampled;
