-- +goose Up
-- Each nextval of warnings_id_seq now reserves a block of 1,024 ids: an import takes a block
-- for 1,024 of its rows and sends their ids with them (importIDs, cases/postgres/
-- copywarnings.go), where calling nextval for every row of its COPY was about a twentieth
-- of the server's work (docs/performance.md). An insert that leaves the id to its default
-- uses the first id of its block. Ids still grow in the order they were handed out, so
-- ordering warnings by id still orders them as they arrived.
ALTER SEQUENCE warnings_id_seq INCREMENT BY 1024;

-- +goose Down
ALTER SEQUENCE warnings_id_seq INCREMENT BY 1;
