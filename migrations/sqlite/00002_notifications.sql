-- +goose Up
CREATE TABLE settings (
    id         INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO settings (value) VALUES ('{}');

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id   INTEGER NOT NULL REFERENCES assignments (id),
    job_id          INTEGER NOT NULL REFERENCES jobs (id),
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'skipped')),
    reason          TEXT NOT NULL DEFAULT '',
    to_addr         TEXT NOT NULL DEFAULT '',
    from_addr       TEXT NOT NULL DEFAULT '',
    from_name       TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    html            TEXT NOT NULL DEFAULT '',
    link_token      TEXT,
    provider_id     TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    UNIQUE (assignment_id, kind, channel)
);
CREATE INDEX messages_job_id ON messages (job_id);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';

CREATE TABLE tracking_links (
    token_hash    BLOB PRIMARY KEY,
    assignment_id INTEGER NOT NULL REFERENCES assignments (id),
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX tracking_links_assignment_id ON tracking_links (assignment_id);

-- +goose Down
DROP TABLE tracking_links;
DROP TABLE messages;
DROP TABLE settings;
