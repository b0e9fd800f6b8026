-- +goose Up
-- What the ETA model has learned (eta.Model.MarshalBinary), saved every few
-- minutes and at shutdown: a start relearns only the positions taken after
-- learned_until instead of the last two days alone.
CREATE TABLE eta_model (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    data          BLOB NOT NULL,
    learned_until TIMESTAMP NOT NULL,
    saved_at      TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE eta_model;
