-- +goose Up
-- Quiet hours: a message that fell inside them waits until they end, and
-- is dropped then if it is no longer true.
ALTER TABLE messages ADD COLUMN quiet_until TIMESTAMP;

-- +goose Down
ALTER TABLE messages DROP COLUMN quiet_until;
