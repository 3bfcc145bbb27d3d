-- +goose Up
-- A member's postal address and how they travel to a mobilization (walk,
-- bike, motorbike, drive; '' for the alert's own mode).
ALTER TABLE members ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN travel_mode text NOT NULL DEFAULT '';

-- networks keeps every uploaded version of the travel network (roads,
-- water, bridges); the newest row (highest seq) is the current one. A
-- removal is a row with a NULL geojson and stats. geojson (up to 32 MiB)
-- is TOASTed out of line, so reading the other columns (NetworkHead,
-- ListNetworks) never reads it. stats is json (not jsonb), as events.body,
-- so it comes back as written.
--
-- seq is an identity column: unlike the event seq (see eventCTE in
-- postgres.go) nothing reads "seq > N" here, readers only take the
-- highest, so a gap left by a rolled back upload, or two uploads of two
-- nodes committing out of seq order, harms nothing.
CREATE TABLE networks (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version    text        NOT NULL DEFAULT '',
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    stats      json,
    geojson    bytea
);

-- +goose Down
DROP TABLE networks;
ALTER TABLE members DROP COLUMN travel_mode;
ALTER TABLE members DROP COLUMN address;
