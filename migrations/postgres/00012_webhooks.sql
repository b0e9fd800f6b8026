-- +goose Up
-- Outbound webhooks (#23). Signing secrets are stored sealed (AES-256-GCM
-- under the server's key, see webhook.Sealer), never in the clear.
CREATE TABLE webhook_endpoints (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url                    text NOT NULL,
    description            text NOT NULL DEFAULT '',
    events                 text NOT NULL,
    enabled                boolean NOT NULL DEFAULT true,
    disabled_reason        text NOT NULL DEFAULT '',
    failing_since          timestamptz,
    secret_sealed          bytea NOT NULL,
    previous_secret_sealed bytea,
    previous_secret_until  timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id      bigint NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    payload          text NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'delivered', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_error       text NOT NULL DEFAULT '',
    last_status_code int NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'queued';
CREATE INDEX webhook_deliveries_event_id ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    status_code  int NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    duration_ms  bigint NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_delivery_id ON webhook_attempts (delivery_id);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
