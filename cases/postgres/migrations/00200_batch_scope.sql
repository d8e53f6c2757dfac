-- +goose Up
-- Spec §2, §5a, §10, §11: a push counts the rows outside its category's scope, says whether
-- it came after its deadline (late), and a 人员变动 push how many registry members it updated
-- and how many rows named nobody in the registry.
ALTER TABLE batches
    ADD COLUMN out_of_scope int NOT NULL DEFAULT 0,
    ADD COLUMN late boolean NOT NULL DEFAULT false,
    ADD COLUMN registry_updates int NOT NULL DEFAULT 0,
    ADD COLUMN not_in_registry int NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE batches DROP COLUMN out_of_scope, DROP COLUMN late, DROP COLUMN registry_updates, DROP COLUMN not_in_registry;
