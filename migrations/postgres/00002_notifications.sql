-- +goose Up
CREATE TABLE settings (
    id         int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings (value) VALUES ('{}');

CREATE TABLE messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assignment_id   bigint NOT NULL REFERENCES assignments (id),
    job_id          bigint NOT NULL REFERENCES jobs (id),
    customer_id     bigint NOT NULL REFERENCES customers (id),
    kind            text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email')),
    status          text NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'skipped')),
    reason          text NOT NULL DEFAULT '',
    to_addr         text NOT NULL DEFAULT '',
    from_addr       text NOT NULL DEFAULT '',
    from_name       text NOT NULL DEFAULT '',
    subject         text NOT NULL DEFAULT '',
    body            text NOT NULL DEFAULT '',
    html            text NOT NULL DEFAULT '',
    link_token      text,
    provider_id     text NOT NULL DEFAULT '',
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    UNIQUE (assignment_id, kind, channel)
);
CREATE INDEX messages_job_id ON messages (job_id);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';

CREATE TABLE tracking_links (
    token_hash    bytea PRIMARY KEY,
    assignment_id bigint NOT NULL REFERENCES assignments (id),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX tracking_links_assignment_id ON tracking_links (assignment_id);

-- +goose Down
DROP TABLE tracking_links;
DROP TABLE messages;
DROP TABLE settings;
