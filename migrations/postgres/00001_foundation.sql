-- +goose Up
CREATE TABLE company (
    id         int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name       text NOT NULL,
    phone      text NOT NULL DEFAULT '',
    logo_url   text NOT NULL DEFAULT '',
    time_zone  text NOT NULL DEFAULT 'UTC',
    locale     text NOT NULL DEFAULT 'en-US',
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO company (name) VALUES ('My Company');

CREATE TABLE technicians (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    photo_url  text NOT NULL DEFAULT '',
    rating     double precision NOT NULL DEFAULT 0 CHECK (rating >= 0 AND rating <= 5),
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE devices (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    technician_id bigint NOT NULL REFERENCES technicians (id) ON DELETE CASCADE,
    identifier    text NOT NULL UNIQUE,
    token_hash    bytea NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX devices_technician_id ON devices (technician_id);

CREATE TABLE customers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    phone       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    language    text NOT NULL DEFAULT 'en',
    sms_opt_out boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX customers_phone ON customers (phone) WHERE phone <> '';

CREATE TABLE locations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    address     text NOT NULL,
    lat         double precision NOT NULL CHECK (lat >= -90 AND lat <= 90),
    lng         double precision NOT NULL CHECK (lng >= -180 AND lng <= 180),
    verified    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX locations_customer_id ON locations (customer_id);

CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number       text NOT NULL UNIQUE,
    customer_id  bigint NOT NULL REFERENCES customers (id),
    location_id  bigint NOT NULL REFERENCES locations (id),
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL CHECK (window_end >= window_start),
    notes        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX jobs_customer_id ON jobs (customer_id);
CREATE INDEX jobs_location_id ON jobs (location_id);

CREATE TABLE assignments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        bigint NOT NULL REFERENCES jobs (id),
    technician_id bigint NOT NULL REFERENCES technicians (id),
    status        text NOT NULL CHECK (status IN ('scheduled', 'dispatched', 'working', 'done', 'cancelled')),
    scheduled_at  timestamptz NOT NULL,
    dispatched_at timestamptz,
    working_at    timestamptz,
    done_at       timestamptz,
    cancelled_at  timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX assignments_job_id ON assignments (job_id);
CREATE INDEX assignments_technician_id ON assignments (technician_id, status);
-- A technician has at most one unfinished assignment per job.
CREATE UNIQUE INDEX assignments_open_per_job ON assignments (job_id, technician_id)
    WHERE status IN ('scheduled', 'dispatched', 'working');

CREATE TABLE api_keys (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'dispatcher')),
    prefix     text NOT NULL,
    key_hash   bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE TABLE idempotency_keys (
    api_key_id   bigint NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       int NOT NULL DEFAULT 0,
    content_type text NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz NOT NULL,
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
