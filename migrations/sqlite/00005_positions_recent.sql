-- +goose Up
-- Fixes that came a few per technician (one-fix requests: OsmAnd,
-- OwnTracks, phones at 1 Hz) land here first, in arrival order, so a commit
-- writes a few pages rather than each technician's page of positions; they
-- are merged into positions in sorted batches (sqlite.Store). Same columns
-- in the same order as positions; no key, no index.
CREATE TABLE positions_recent (
    technician_id INTEGER NOT NULL,
    ts            INTEGER NOT NULL,
    device_id     INTEGER NOT NULL,
    lat           REAL NOT NULL,
    lng           REAL NOT NULL,
    accuracy_m    REAL NOT NULL,
    speed_mps     REAL NOT NULL,
    heading_deg   REAL NOT NULL,
    altitude_m    REAL NOT NULL,
    battery       REAL NOT NULL,
    received_at   INTEGER NOT NULL
);

-- +goose Down
INSERT OR IGNORE INTO positions SELECT * FROM positions_recent;
DROP TABLE positions_recent;
