-- +goose Up
-- The history, partitioned by UTC day (positions_20261206 holds that day's
-- fixes), so retention drops a whole day's table instead of deleting rows,
-- and in compact columns (84 bytes a row in the table instead of 117):
-- coordinates in 1e-7 degrees (1.1 cm at most), accuracy and altitude in
-- tenths of a metre, speed in cm/s, heading in tenths of a degree (0 to
-- 3599), battery in tenths of a percent, as the embedded store keeps them
-- (internal/fixunits). An unknown optional value (negative) is -1.
-- The columns are ordered widest first so that no byte is padding.
-- postgres.Store makes the days ahead (EnsurePartitions) and drops the days
-- past retention; a fix of a day with no table of its own (a phone's clock
-- far off, a backfill) goes to positions_default, never refused.
ALTER TABLE positions RENAME TO positions_v17;

CREATE TABLE positions (
    technician_id    bigint NOT NULL,
    ts               timestamptz NOT NULL,
    device_id        bigint NOT NULL,
    received_at      timestamptz NOT NULL,
    lat_e7           integer NOT NULL,
    lng_e7           integer NOT NULL,
    accuracy_dm      integer NOT NULL,
    altitude_dm      integer NOT NULL,
    speed_cmps       smallint NOT NULL,
    heading_ddeg     smallint NOT NULL,
    battery_pm       smallint NOT NULL
) PARTITION BY RANGE (ts);
CREATE TABLE positions_default PARTITION OF positions DEFAULT;

-- A day's table for every day that holds fixes, found by walking the old
-- table's index on ts: one probe per day, not a scan.
-- +goose StatementBegin
DO $$
DECLARE
    day timestamptz := date_trunc('day', (SELECT min(ts) FROM positions_v17), 'UTC');
BEGIN
    WHILE day IS NOT NULL LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF positions FOR VALUES FROM (%L) TO (%L)',
            'positions_' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'),
            to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' 00:00:00+00',
            to_char((day + interval '24 hours') AT TIME ZONE 'UTC', 'YYYY-MM-DD') || ' 00:00:00+00');
        day := date_trunc('day', (SELECT min(ts) FROM positions_v17 WHERE ts >= day + interval '24 hours'), 'UTC');
    END LOOP;
END $$;
-- +goose StatementEnd

-- v in units of 1/per, rounded half away from zero (a numeric's round,
-- as fixunits.Scaled), held to [lo, hi]; NaN becomes nan, and when opt (an
-- optional value) a negative one -1. The migration never fails on a
-- value: one outside a column's range is stored at its end.
-- +goose StatementBegin
CREATE FUNCTION pg_temp.scaled(v double precision, per double precision, lo bigint, hi bigint, nan bigint, opt boolean)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN v = 'NaN' THEN nan WHEN opt AND v < 0 THEN -1
        ELSE greatest(lo, least(hi, round(v::numeric * per::numeric)))::bigint END
$$;
-- +goose StatementEnd

INSERT INTO positions
SELECT technician_id, ts, device_id, received_at,
    pg_temp.scaled(lat, 1e7, -2147483648, 2147483647, 0, false),
    pg_temp.scaled(lng, 1e7, -2147483648, 2147483647, 0, false),
    pg_temp.scaled(accuracy_m, 10, -2147483648, 2147483647, -1, true),
    pg_temp.scaled(altitude_m, 10, -2147483648, 2147483647, 0, false),
    pg_temp.scaled(speed_mps, 100, -32768, 32767, -1, true),
    pg_temp.scaled(heading_deg, 10, -32768, 32767, -1, true) % 3600, -- 359.95 and up is north
    pg_temp.scaled(battery, 10, -32768, 32767, -1, true)
FROM positions_v17
ORDER BY ts; -- each day in time order, as ingest writes it: the BRIN on ts stays tight

DROP FUNCTION pg_temp.scaled;
DROP TABLE positions_v17;

-- The key serves every per-technician query (and holds the partition key,
-- as a partitioned table's key must). Rows arrive in time order, so a BRIN
-- index on ts serves the reads across technicians by time: a million
-- fixes of 1,000 technicians, 0.2 bytes a fix against a B-tree's 22.6; a
-- 6-hour window of them 264 ms against 296; only the oldest fix since a
-- time is slower, 43 ms against 0.2 (the ETA model's relearning asks it
-- once per gap in the history). Retention needs no index.
ALTER TABLE positions ADD PRIMARY KEY (technician_id, ts, device_id);
CREATE INDEX positions_ts ON positions USING brin (ts);

-- +goose Down
CREATE TABLE positions_v18 (
    technician_id bigint NOT NULL,
    ts            timestamptz NOT NULL,
    device_id     bigint NOT NULL,
    lat           double precision NOT NULL,
    lng           double precision NOT NULL,
    accuracy_m    double precision NOT NULL,
    speed_mps     double precision NOT NULL,
    heading_deg   double precision NOT NULL,
    altitude_m    double precision NOT NULL,
    battery       double precision NOT NULL,
    received_at   timestamptz NOT NULL
);
-- Division of the integers is exact to the nearest double, as in Go: a
-- lat_e7 of 411579123 is 41.1579123 again.
INSERT INTO positions_v18
SELECT technician_id, ts, device_id,
    lat_e7 / 1e7::double precision, lng_e7 / 1e7::double precision,
    CASE WHEN accuracy_dm < 0 THEN -1 ELSE accuracy_dm / 10::double precision END,
    CASE WHEN speed_cmps < 0 THEN -1 ELSE speed_cmps / 100::double precision END,
    CASE WHEN heading_ddeg < 0 THEN -1 ELSE heading_ddeg / 10::double precision END,
    altitude_dm / 10::double precision,
    CASE WHEN battery_pm < 0 THEN -1 ELSE battery_pm / 10::double precision END, received_at
FROM positions;
DROP TABLE positions; -- and its partitions
ALTER TABLE positions_v18 RENAME TO positions;
ALTER TABLE positions ADD PRIMARY KEY (technician_id, ts, device_id);
CREATE INDEX positions_ts ON positions (ts);
