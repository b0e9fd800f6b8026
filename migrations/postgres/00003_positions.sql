-- +goose Up
CREATE TABLE positions (
    device_id     bigint NOT NULL,
    technician_id bigint NOT NULL,
    ts            timestamptz NOT NULL,
    lat           double precision NOT NULL,
    lng           double precision NOT NULL,
    accuracy_m    double precision NOT NULL,
    speed_mps     double precision NOT NULL,
    heading_deg   double precision NOT NULL,
    altitude_m    double precision NOT NULL,
    battery       double precision NOT NULL,
    received_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id, ts)
);
CREATE INDEX positions_technician_ts ON positions (technician_id, ts);
CREATE INDEX positions_ts ON positions (ts);

-- +goose Down
DROP TABLE positions;
