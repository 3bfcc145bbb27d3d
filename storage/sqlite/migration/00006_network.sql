-- +goose Up
-- A member's postal address and how they travel to a mobilization (walk,
-- bike, motorbike, drive; '' for the alert's own mode).
ALTER TABLE members ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN travel_mode TEXT NOT NULL DEFAULT '';

-- networks keeps every uploaded version of the travel network (roads,
-- water, bridges); the newest row is the current one. AUTOINCREMENT, as for
-- events, so a seq is never handed out twice. A removal is a row with a
-- NULL geojson and stats.
--
-- geojson (up to 32 MiB) is the last column on purpose: SQLite stores a
-- row's columns in order, spilling what does not fit its page onto a chain
-- of overflow pages, so the small columns before it are read from the
-- row's first page and NetworkHead and ListNetworks never walk the chain.
-- stats is TEXT so that SQLite's json functions read it as JSON.
CREATE TABLE networks (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	version    TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL DEFAULT '',
	created_at INTEGER,
	stats      TEXT,
	geojson    BLOB
) STRICT;

-- +goose Down
DROP TABLE networks;
ALTER TABLE members DROP COLUMN travel_mode;
ALTER TABLE members DROP COLUMN address;
