-- +goose Up
-- "logged": what the development (log) providers took, which left the
-- server for nowhere; "sent" means a provider accepted it. SQLite cannot
-- change a CHECK constraint, so the table is built anew (nothing refers to
-- it) and its rows copied, in the migration's transaction.
CREATE TABLE messages_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id   INTEGER NOT NULL REFERENCES assignments (id),
    job_id          INTEGER NOT NULL REFERENCES jobs (id),
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'logged', 'failed', 'suppressed', 'skipped')),
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
INSERT INTO messages_new (id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at) SELECT id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_job_id ON messages (job_id);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';

-- +goose Down
CREATE TABLE messages_old (
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
INSERT INTO messages_old (id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at)
    SELECT id, assignment_id, job_id, customer_id, kind, channel, CASE status WHEN 'logged' THEN 'sent' ELSE status END, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE INDEX messages_job_id ON messages (job_id);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';
