-- +goose Up
-- Fixes that came a few per technician (one-fix requests: OsmAnd,
-- OwnTracks, phones at 1 Hz) land here first, in arrival order, so a commit
-- writes a few pages rather than each technician's page of positions; they
-- are merged into positions in sorted batches (sqlite.Store). Made from
-- positions, so its columns are the same in the same order (the merge
-- copies SELECT *); no key, no index.
CREATE TABLE positions_recent AS SELECT * FROM positions WHERE 0;

-- +goose Down
INSERT OR IGNORE INTO positions SELECT * FROM positions_recent;
DROP TABLE positions_recent;
