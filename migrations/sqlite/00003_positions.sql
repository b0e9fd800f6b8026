-- +goose Up
-- Times are Unix microseconds: compact, and fast to write and compare.
-- The key is unique exactly when (device_id, ts) is, since a device belongs
-- to one technician, and it serves the per-technician queries: one B-tree
-- per row, no secondary index (BENCHMARKS.md, history writes). Retention
-- deletes scan, hourly.
CREATE TABLE positions (
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
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (technician_id, ts, device_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE positions;
