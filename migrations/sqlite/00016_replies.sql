-- +goose Up
-- Customers' replies: texts to the company's number that are not keywords,
-- stored on the job whose text they answer (NULL when Enroute never texted
-- the number). One per provider message id: a webhook delivered twice
-- stores one reply.
CREATE TABLE replies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        INTEGER REFERENCES jobs (id),
    assignment_id INTEGER REFERENCES assignments (id),
    customer_id   INTEGER REFERENCES customers (id),
    from_addr     TEXT NOT NULL,
    body          TEXT NOT NULL,
    provider_id   TEXT NOT NULL DEFAULT '',
    received_at   TIMESTAMP NOT NULL
);
CREATE INDEX replies_job_id ON replies (job_id);
CREATE UNIQUE INDEX replies_provider_id ON replies (provider_id) WHERE provider_id <> '';

-- Messages a dispatcher writes or resends: who did, and which message a
-- resend repeats. Only what Enroute sends on its own is once per
-- assignment, kind and channel. SQLite cannot drop a table's UNIQUE
-- constraint, so the table is built anew (nothing refers to it) and its
-- rows copied, in the migration's transaction.
CREATE TABLE messages_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id       INTEGER NOT NULL REFERENCES assignments (id),
    job_id              INTEGER NOT NULL REFERENCES jobs (id),
    customer_id         INTEGER NOT NULL REFERENCES customers (id),
    kind                TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    status              TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'logged', 'failed', 'suppressed', 'skipped')),
    reason              TEXT NOT NULL DEFAULT '',
    to_addr             TEXT NOT NULL DEFAULT '',
    from_addr           TEXT NOT NULL DEFAULT '',
    from_name           TEXT NOT NULL DEFAULT '',
    subject             TEXT NOT NULL DEFAULT '',
    body                TEXT NOT NULL DEFAULT '',
    html                TEXT NOT NULL DEFAULT '',
    link_token          TEXT,
    provider_id         TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMP NOT NULL,
    lease_until         TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    finished_at         TIMESTAMP,
    delivery_status     TEXT NOT NULL DEFAULT ''
        CHECK (delivery_status IN ('', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed')),
    delivery_error_code INTEGER NOT NULL DEFAULT 0,
    delivery_updated_at TIMESTAMP,
    author              TEXT NOT NULL DEFAULT '',
    resend_of           INTEGER REFERENCES messages (id)
);
-- Indexed before the old table is dropped: with foreign keys on, each row
-- the drop deletes is looked up in messages_new.resend_of (unindexed, 10k
-- messages took 11 s, 20k 54 s).
CREATE INDEX messages_resend_of ON messages_new (resend_of);
INSERT INTO messages_new (id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at, delivery_status, delivery_error_code, delivery_updated_at)
    SELECT id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at, delivery_status, delivery_error_code, delivery_updated_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_job_id ON messages (job_id);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_provider_id ON messages (provider_id);
CREATE UNIQUE INDEX messages_once ON messages (assignment_id, kind, channel) WHERE kind <> 'manual' AND resend_of IS NULL;
-- Finding the latest text sent to a number.
CREATE INDEX messages_to_addr ON messages (to_addr, id) WHERE channel = 'sms';

-- +goose Down
DELETE FROM messages WHERE kind = 'manual' OR resend_of IS NOT NULL;
CREATE TABLE messages_old (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id       INTEGER NOT NULL REFERENCES assignments (id),
    job_id              INTEGER NOT NULL REFERENCES jobs (id),
    customer_id         INTEGER NOT NULL REFERENCES customers (id),
    kind                TEXT NOT NULL,
    channel             TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    status              TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'logged', 'failed', 'suppressed', 'skipped')),
    reason              TEXT NOT NULL DEFAULT '',
    to_addr             TEXT NOT NULL DEFAULT '',
    from_addr           TEXT NOT NULL DEFAULT '',
    from_name           TEXT NOT NULL DEFAULT '',
    subject             TEXT NOT NULL DEFAULT '',
    body                TEXT NOT NULL DEFAULT '',
    html                TEXT NOT NULL DEFAULT '',
    link_token          TEXT,
    provider_id         TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TIMESTAMP NOT NULL,
    lease_until         TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    finished_at         TIMESTAMP,
    delivery_status     TEXT NOT NULL DEFAULT ''
        CHECK (delivery_status IN ('', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed')),
    delivery_error_code INTEGER NOT NULL DEFAULT 0,
    delivery_updated_at TIMESTAMP,
    UNIQUE (assignment_id, kind, channel)
);
INSERT INTO messages_old (id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at, delivery_status, delivery_error_code, delivery_updated_at)
    SELECT id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name, subject, body, html, link_token, provider_id, attempts, next_attempt_at, lease_until, created_at, finished_at, delivery_status, delivery_error_code, delivery_updated_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_old RENAME TO messages;
CREATE INDEX messages_job_id ON messages (job_id);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_provider_id ON messages (provider_id);
DROP TABLE replies;
