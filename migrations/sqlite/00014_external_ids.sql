-- +goose Up
-- The company's own ids (an FSM's), which imports upsert on.
ALTER TABLE technicians ADD COLUMN external_id text;
CREATE UNIQUE INDEX technicians_external_id ON technicians (external_id) WHERE external_id IS NOT NULL;
ALTER TABLE customers ADD COLUMN external_id text;
CREATE UNIQUE INDEX customers_external_id ON customers (external_id) WHERE external_id IS NOT NULL;
ALTER TABLE locations ADD COLUMN external_id text;
CREATE UNIQUE INDEX locations_external_id ON locations (external_id) WHERE external_id IS NOT NULL;
ALTER TABLE jobs ADD COLUMN external_id text;
CREATE UNIQUE INDEX jobs_external_id ON jobs (external_id) WHERE external_id IS NOT NULL;

-- +goose Down
DROP INDEX jobs_external_id;
ALTER TABLE jobs DROP COLUMN external_id;
DROP INDEX locations_external_id;
ALTER TABLE locations DROP COLUMN external_id;
DROP INDEX customers_external_id;
ALTER TABLE customers DROP COLUMN external_id;
DROP INDEX technicians_external_id;
ALTER TABLE technicians DROP COLUMN external_id;
