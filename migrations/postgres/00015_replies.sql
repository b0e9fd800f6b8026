-- +goose Up
-- Customers' replies: texts to the company's number that are not keywords,
-- stored on the job whose text they answer (NULL when Enroute never texted
-- the number). One per provider message id: a webhook delivered twice
-- stores one reply.
CREATE TABLE replies (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        bigint REFERENCES jobs (id),
    assignment_id bigint REFERENCES assignments (id),
    customer_id   bigint REFERENCES customers (id),
    from_addr     text NOT NULL,
    body          text NOT NULL,
    provider_id   text NOT NULL DEFAULT '',
    received_at   timestamptz NOT NULL
);
CREATE INDEX replies_job_id ON replies (job_id);
CREATE UNIQUE INDEX replies_provider_id ON replies (provider_id) WHERE provider_id <> '';
-- Finding the latest text sent to a number.
CREATE INDEX messages_to_addr ON messages (to_addr, id) WHERE channel = 'sms';

-- Messages a dispatcher writes or resends: who did, and which message a
-- resend repeats. Only what Enroute sends on its own is once per
-- assignment, kind and channel.
ALTER TABLE messages ADD COLUMN author text NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN resend_of bigint REFERENCES messages (id);
CREATE INDEX messages_resend_of ON messages (resend_of) WHERE resend_of IS NOT NULL;
ALTER TABLE messages DROP CONSTRAINT messages_assignment_id_kind_channel_key;
CREATE UNIQUE INDEX messages_once ON messages (assignment_id, kind, channel) WHERE kind <> 'manual' AND resend_of IS NULL;

-- +goose Down
DELETE FROM messages WHERE kind = 'manual' OR resend_of IS NOT NULL;
DROP INDEX messages_once;
ALTER TABLE messages ADD CONSTRAINT messages_assignment_id_kind_channel_key UNIQUE (assignment_id, kind, channel);
DROP INDEX messages_resend_of;
ALTER TABLE messages DROP COLUMN resend_of;
ALTER TABLE messages DROP COLUMN author;
DROP INDEX messages_to_addr;
DROP TABLE replies;
