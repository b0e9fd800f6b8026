-- +goose Up
-- The key is unique exactly when (device_id, ts) is, since a device belongs
-- to one technician, and it serves the per-technician queries, so no
-- separate technician index (BENCHMARKS.md, history writes).
CREATE TABLE positions (
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
    received_at   timestamptz NOT NULL,
    PRIMARY KEY (technician_id, ts, device_id)
);
CREATE INDEX positions_ts ON positions (ts);

-- +goose Down
DROP TABLE positions;
