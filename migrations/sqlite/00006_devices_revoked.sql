-- +goose Up
-- Nodes ask every few seconds which devices were revoked lately, to drop
-- them from their caches (httpapi's deviceCache): a small index, since
-- few devices are ever revoked.
CREATE INDEX devices_revoked_at ON devices (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP INDEX devices_revoked_at;
