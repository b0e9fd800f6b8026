-- +goose Up
-- Times are Unix microseconds: compact, and fast to write and compare.
CREATE TABLE positions (
    device_id     INTEGER NOT NULL,
    technician_id INTEGER NOT NULL,
    ts            INTEGER NOT NULL,
    lat           REAL NOT NULL,
    lng           REAL NOT NULL,
    accuracy_m    REAL NOT NULL,
    speed_mps     REAL NOT NULL,
    heading_deg   REAL NOT NULL,
    altitude_m    REAL NOT NULL,
    battery       REAL NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (device_id, ts)
) WITHOUT ROWID;
-- No index on ts alone: only the hourly retention delete would use it, and
-- every insert would pay for it (BENCHMARKS.md, history writes).
CREATE INDEX positions_technician_ts ON positions (technician_id, ts);

-- +goose Down
DROP TABLE positions;
