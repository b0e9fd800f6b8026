-- +goose Up
-- A phone that sends OwnTracks over MQTT is known by its topic's user and
-- device ("user/device" of owntracks/user/device): '' for the others. At
-- most one active device has an identity; a revoked one frees it for the
-- phone's new registration.
ALTER TABLE devices ADD COLUMN mqtt_identity TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX devices_mqtt_identity ON devices (mqtt_identity)
    WHERE mqtt_identity <> '' AND revoked_at IS NULL;

-- +goose Down
DROP INDEX devices_mqtt_identity;
ALTER TABLE devices DROP COLUMN mqtt_identity;
