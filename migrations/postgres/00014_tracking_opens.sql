-- +goose Up
-- The tracking page's receipt: when the customer first opened it, and how
-- many times.
ALTER TABLE assignments ADD COLUMN tracking_opened_at timestamptz;
ALTER TABLE assignments ADD COLUMN tracking_opens integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE assignments DROP COLUMN tracking_opens;
ALTER TABLE assignments DROP COLUMN tracking_opened_at;
