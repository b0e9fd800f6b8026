-- +goose Up
CREATE TABLE company (
    id         INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name       TEXT NOT NULL,
    phone      TEXT NOT NULL DEFAULT '',
    logo_url   TEXT NOT NULL DEFAULT '',
    time_zone  TEXT NOT NULL DEFAULT 'UTC',
    locale     TEXT NOT NULL DEFAULT 'en-US',
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO company (name) VALUES ('My Company');

CREATE TABLE technicians (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    photo_url  TEXT NOT NULL DEFAULT '',
    rating     REAL NOT NULL DEFAULT 0 CHECK (rating >= 0 AND rating <= 5),
    active     BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    technician_id INTEGER NOT NULL REFERENCES technicians (id) ON DELETE CASCADE,
    identifier    TEXT NOT NULL UNIQUE,
    token_hash    BLOB NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX devices_technician_id ON devices (technician_id);

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT 'en',
    sms_opt_out BOOLEAN NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX customers_phone ON customers (phone) WHERE phone <> '';

CREATE TABLE locations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    address     TEXT NOT NULL,
    lat         REAL NOT NULL CHECK (lat >= -90 AND lat <= 90),
    lng         REAL NOT NULL CHECK (lng >= -180 AND lng <= 180),
    verified    BOOLEAN NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX locations_customer_id ON locations (customer_id);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    number       TEXT NOT NULL UNIQUE,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    location_id  INTEGER NOT NULL REFERENCES locations (id),
    window_start TIMESTAMP NOT NULL,
    window_end   TIMESTAMP NOT NULL CHECK (window_end >= window_start),
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX jobs_customer_id ON jobs (customer_id);
CREATE INDEX jobs_location_id ON jobs (location_id);

CREATE TABLE assignments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        INTEGER NOT NULL REFERENCES jobs (id),
    technician_id INTEGER NOT NULL REFERENCES technicians (id),
    status        TEXT NOT NULL CHECK (status IN ('scheduled', 'dispatched', 'working', 'done', 'cancelled')),
    scheduled_at  TIMESTAMP NOT NULL,
    dispatched_at TIMESTAMP,
    working_at    TIMESTAMP,
    done_at       TIMESTAMP,
    cancelled_at  TIMESTAMP,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX assignments_job_id ON assignments (job_id);
CREATE INDEX assignments_technician_id ON assignments (technician_id, status);
-- A technician has at most one unfinished assignment per job.
CREATE UNIQUE INDEX assignments_open_per_job ON assignments (job_id, technician_id)
    WHERE status IN ('scheduled', 'dispatched', 'working');

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'dispatcher')),
    prefix     TEXT NOT NULL,
    key_hash   BLOB NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE TABLE idempotency_keys (
    api_key_id   INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    body         BLOB,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
DROP TABLE assignments;
DROP TABLE jobs;
DROP TABLE locations;
DROP TABLE customers;
DROP TABLE devices;
DROP TABLE technicians;
DROP TABLE company;
