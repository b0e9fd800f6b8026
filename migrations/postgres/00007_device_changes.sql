-- +goose Up
-- Every device revoked, given a new token, or deleted with its technician,
-- and when: nodes ask every few seconds what changed lately, to drop those
-- devices from their caches and close their open streams. A deleted
-- device leaves no row of its own to ask about, hence a table; it grows by
-- one row per such action of an administrator.
CREATE TABLE device_changes (
    device_id  bigint NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX device_changes_changed_at ON device_changes (changed_at);
INSERT INTO device_changes (device_id, changed_at)
    SELECT id, revoked_at FROM devices WHERE revoked_at IS NOT NULL;
DROP INDEX devices_revoked_at;

-- +goose Down
CREATE INDEX devices_revoked_at ON devices (revoked_at) WHERE revoked_at IS NOT NULL;
DROP TABLE device_changes;
