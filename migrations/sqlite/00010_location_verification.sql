-- +goose Up
-- Address verification (#23): how a location's address was verified, and
-- the geocoder's bookkeeping for the pending ones. Sites stored before
-- were placed by the caller: verified ones become a dispatcher's manual
-- verification, the others a dispatcher's unverified pin. SQLite adds
-- one column a statement; a column's CHECK is tested on the rows there.
ALTER TABLE locations ADD COLUMN verification_status TEXT NOT NULL DEFAULT 'unverified'
    CHECK (verification_status IN ('pending', 'verified', 'unverified', 'manual'));
ALTER TABLE locations ADD COLUMN verification_source TEXT NOT NULL DEFAULT 'dispatcher'
    CHECK (verification_source IN ('geocoder', 'dispatcher'));
ALTER TABLE locations ADD COLUMN verification_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN verification_match TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN checked_at TIMESTAMP;
ALTER TABLE locations ADD COLUMN geocode_at TIMESTAMP;
ALTER TABLE locations ADD COLUMN geocode_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE locations ADD COLUMN geocode_lease_until TIMESTAMP;
UPDATE locations SET verification_status = 'manual', checked_at = updated_at WHERE verified;
UPDATE locations SET verification_reason = 'placed by a dispatcher, not verified', checked_at = updated_at WHERE NOT verified;
-- No pin ((0, 0): a site that was waiting for the geocoder before a
-- downgrade, then upgraded again) is the geocoder's to find.
UPDATE locations SET verification_status = 'pending', verification_source = 'geocoder', verification_reason = '',
    checked_at = NULL, geocode_at = updated_at WHERE NOT verified AND lat = 0 AND lng = 0;
CREATE INDEX locations_geocode_due ON locations (geocode_at) WHERE verification_status = 'pending';

-- +goose Down
-- Locations still waiting for the geocoder keep their empty pin (0, 0),
-- unverified.
DROP INDEX locations_geocode_due;
ALTER TABLE locations DROP COLUMN verification_status;
ALTER TABLE locations DROP COLUMN verification_source;
ALTER TABLE locations DROP COLUMN verification_reason;
ALTER TABLE locations DROP COLUMN verification_match;
ALTER TABLE locations DROP COLUMN checked_at;
ALTER TABLE locations DROP COLUMN geocode_at;
ALTER TABLE locations DROP COLUMN geocode_attempts;
ALTER TABLE locations DROP COLUMN geocode_lease_until;
