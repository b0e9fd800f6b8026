-- +goose Up
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    api_key_id bigint NOT NULL REFERENCES api_keys (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sessions;
