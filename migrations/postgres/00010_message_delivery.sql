-- +goose Up
-- Delivery receipts: what the carrier reported of a sent text (Twilio's
-- status callback), and when. Receipts find their text by the provider's
-- message id.
ALTER TABLE messages
    ADD COLUMN delivery_status text NOT NULL DEFAULT ''
        CHECK (delivery_status IN ('', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed')),
    ADD COLUMN delivery_error_code int NOT NULL DEFAULT 0,
    ADD COLUMN delivery_updated_at timestamptz;
CREATE INDEX messages_provider_id ON messages (provider_id);

-- +goose Down
DROP INDEX messages_provider_id;
ALTER TABLE messages DROP COLUMN delivery_status, DROP COLUMN delivery_error_code, DROP COLUMN delivery_updated_at;
