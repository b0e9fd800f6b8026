-- +goose Up
-- Address verification (#23): how a location's address was verified, and
-- the geocoder's bookkeeping for the pending ones. Sites stored before
-- were placed by the caller: verified ones become a dispatcher's manual
-- verification, the others a dispatcher's unverified pin.
ALTER TABLE locations
    ADD COLUMN verification_status text NOT NULL DEFAULT 'unverified'
        CHECK (verification_status IN ('pending', 'verified', 'unverified', 'manual')),
    ADD COLUMN verification_source text NOT NULL DEFAULT 'dispatcher'
        CHECK (verification_source IN ('geocoder', 'dispatcher')),
    ADD COLUMN verification_reason text NOT NULL DEFAULT '',
    ADD COLUMN verification_match  text NOT NULL DEFAULT '',
    ADD COLUMN checked_at          timestamptz,
    ADD COLUMN geocode_at          timestamptz,
    ADD COLUMN geocode_attempts    integer NOT NULL DEFAULT 0,
    ADD COLUMN geocode_lease_until timestamptz;
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
ALTER TABLE locations
    DROP COLUMN verification_status,
    DROP COLUMN verification_source,
    DROP COLUMN verification_reason,
    DROP COLUMN verification_match,
    DROP COLUMN checked_at,
    DROP COLUMN geocode_at,
    DROP COLUMN geocode_attempts,
    DROP COLUMN geocode_lease_until;
