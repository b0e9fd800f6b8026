-- +goose Up
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    api_key_id INTEGER NOT NULL REFERENCES api_keys (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE sessions;
