-- +goose Up
-- Delivery receipts: what the carrier reported of a sent text (Twilio's
-- status callback), and when. Receipts find their text by the provider's
-- message id.
ALTER TABLE messages ADD COLUMN delivery_status TEXT NOT NULL DEFAULT ''
    CHECK (delivery_status IN ('', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed'));
ALTER TABLE messages ADD COLUMN delivery_error_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN delivery_updated_at TIMESTAMP;
CREATE INDEX messages_provider_id ON messages (provider_id);

-- +goose Down
DROP INDEX messages_provider_id;
ALTER TABLE messages DROP COLUMN delivery_updated_at;
ALTER TABLE messages DROP COLUMN delivery_error_code;
ALTER TABLE messages DROP COLUMN delivery_status;
