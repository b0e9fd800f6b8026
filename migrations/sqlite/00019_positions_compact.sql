-- +goose Up
-- The history in scaled integers, which SQLite stores in 1 to 8 bytes by
-- magnitude where a REAL takes 8: a fix takes 47 bytes rather than 93
-- (54 rather than 105 as written; sqlite's BenchmarkHistoryBytes, a
-- million fixes). The scales are PostgreSQL's too, so both stores round a
-- fix alike (sqlite.Store converts):
--   lat_e7, lng_e7     1e-7 degrees (about 1 cm)
--   accuracy_dm        decimetres; -1 unknown
--   speed_cmps         centimetres a second; -1 unknown
--   heading_ddeg       tenths of a degree, 0 to 3599; -1 unknown
--   altitude_dm        decimetres
--   battery_pm         tenths of a percent, 0 to 1000; -1 unknown
--   received_after_us  received_at - ts in microseconds: a few bytes where
--                      a second time would take 8
-- Times stay Unix microseconds. Rows are copied in key order, so the new
-- history's pages are full; the old one's become free pages, which the
-- history reuses as it grows (`enroute backup` writes a compacted copy).
CREATE TABLE positions_compact (
    technician_id     INTEGER NOT NULL,
    ts                INTEGER NOT NULL,
    device_id         INTEGER NOT NULL,
    lat_e7            INTEGER NOT NULL,
    lng_e7            INTEGER NOT NULL,
    accuracy_dm       INTEGER NOT NULL,
    speed_cmps        INTEGER NOT NULL,
    heading_ddeg      INTEGER NOT NULL,
    altitude_dm       INTEGER NOT NULL,
    battery_pm        INTEGER NOT NULL,
    received_after_us INTEGER NOT NULL,
    PRIMARY KEY (technician_id, ts, device_id)
) WITHOUT ROWID;
INSERT INTO positions_compact
SELECT technician_id, ts, device_id,
    CAST(round(lat * 10000000) AS INTEGER),
    CAST(round(lng * 10000000) AS INTEGER),
    CASE WHEN accuracy_m < 0 THEN -1 ELSE CAST(round(accuracy_m * 10) AS INTEGER) END,
    CASE WHEN speed_mps < 0 THEN -1 ELSE CAST(round(speed_mps * 100) AS INTEGER) END,
    CASE WHEN heading_deg < 0 THEN -1 ELSE CAST(round(heading_deg * 10) AS INTEGER) % 3600 END,
    CAST(round(altitude_m * 10) AS INTEGER),
    CASE WHEN battery < 0 THEN -1 ELSE CAST(round(battery * 10) AS INTEGER) END,
    received_at - ts
FROM positions ORDER BY technician_id, ts, device_id;

-- Staging (00005): the same columns in the same order (the merge copies
-- SELECT *), no key; its fixes kept in arrival order.
CREATE TABLE positions_recent_compact (
    technician_id     INTEGER NOT NULL,
    ts                INTEGER NOT NULL,
    device_id         INTEGER NOT NULL,
    lat_e7            INTEGER NOT NULL,
    lng_e7            INTEGER NOT NULL,
    accuracy_dm       INTEGER NOT NULL,
    speed_cmps        INTEGER NOT NULL,
    heading_ddeg      INTEGER NOT NULL,
    altitude_dm       INTEGER NOT NULL,
    battery_pm        INTEGER NOT NULL,
    received_after_us INTEGER NOT NULL
);
INSERT INTO positions_recent_compact
SELECT technician_id, ts, device_id,
    CAST(round(lat * 10000000) AS INTEGER),
    CAST(round(lng * 10000000) AS INTEGER),
    CASE WHEN accuracy_m < 0 THEN -1 ELSE CAST(round(accuracy_m * 10) AS INTEGER) END,
    CASE WHEN speed_mps < 0 THEN -1 ELSE CAST(round(speed_mps * 100) AS INTEGER) END,
    CASE WHEN heading_deg < 0 THEN -1 ELSE CAST(round(heading_deg * 10) AS INTEGER) % 3600 END,
    CAST(round(altitude_m * 10) AS INTEGER),
    CASE WHEN battery < 0 THEN -1 ELSE CAST(round(battery * 10) AS INTEGER) END,
    received_at - ts
FROM positions_recent ORDER BY rowid;

DROP TABLE positions;
DROP TABLE positions_recent;
ALTER TABLE positions_compact RENAME TO positions;
ALTER TABLE positions_recent_compact RENAME TO positions_recent;

-- +goose Down
-- Back to REAL columns (00003, 00005), each value the scaled one's
-- decimal: what the API returned.
CREATE TABLE positions_real (
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
INSERT INTO positions_real
SELECT technician_id, ts, device_id,
    lat_e7 / 10000000.0,
    lng_e7 / 10000000.0,
    CASE WHEN accuracy_dm < 0 THEN -1.0 ELSE accuracy_dm / 10.0 END,
    CASE WHEN speed_cmps < 0 THEN -1.0 ELSE speed_cmps / 100.0 END,
    CASE WHEN heading_ddeg < 0 THEN -1.0 ELSE heading_ddeg / 10.0 END,
    altitude_dm / 10.0,
    CASE WHEN battery_pm < 0 THEN -1.0 ELSE battery_pm / 10.0 END,
    ts + received_after_us
FROM positions ORDER BY technician_id, ts, device_id;
CREATE TABLE positions_recent_real AS SELECT * FROM positions_real WHERE 0;
INSERT INTO positions_recent_real
SELECT technician_id, ts, device_id,
    lat_e7 / 10000000.0,
    lng_e7 / 10000000.0,
    CASE WHEN accuracy_dm < 0 THEN -1.0 ELSE accuracy_dm / 10.0 END,
    CASE WHEN speed_cmps < 0 THEN -1.0 ELSE speed_cmps / 100.0 END,
    CASE WHEN heading_ddeg < 0 THEN -1.0 ELSE heading_ddeg / 10.0 END,
    altitude_dm / 10.0,
    CASE WHEN battery_pm < 0 THEN -1.0 ELSE battery_pm / 10.0 END,
    ts + received_after_us
FROM positions_recent ORDER BY rowid;
DROP TABLE positions;
DROP TABLE positions_recent;
ALTER TABLE positions_real RENAME TO positions;
ALTER TABLE positions_recent_real RENAME TO positions_recent;
