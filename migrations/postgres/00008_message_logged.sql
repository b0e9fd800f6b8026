-- +goose Up
-- "logged": what the development (log) providers took, which left the
-- server for nowhere; "sent" means a provider accepted it.
ALTER TABLE messages DROP CONSTRAINT messages_status_check,
    ADD CONSTRAINT messages_status_check CHECK (status IN ('queued', 'sent', 'logged', 'failed', 'suppressed', 'skipped'));

-- +goose Down
UPDATE messages SET status = 'sent' WHERE status = 'logged';
ALTER TABLE messages DROP CONSTRAINT messages_status_check,
    ADD CONSTRAINT messages_status_check CHECK (status IN ('queued', 'sent', 'failed', 'suppressed', 'skipped'));
