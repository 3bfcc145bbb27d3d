-- +goose Up
-- Township scope and addressed events (v1.6, issue 16).
-- A cadre or commander may govern a township (every village whose
-- township is this name); '' is no township scope.
ALTER TABLE members ADD COLUMN township TEXT NOT NULL DEFAULT '';
CREATE INDEX members_township ON members (township) WHERE township <> '';
-- An addressed event names its readers when it is written: event_members
-- lists them (one row per reader), and to_village = 1 addresses it also to
-- every member of its village_id. Events written before this version keep
-- their per-type rules (to_village 0, no rows).
ALTER TABLE events ADD COLUMN to_village INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_to_village ON events (village_id, seq) WHERE to_village = 1;
CREATE TABLE event_members (
    member_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (member_id, seq)
) WITHOUT ROWID;
CREATE INDEX event_members_seq ON event_members (seq);

-- +goose Down
DROP TABLE event_members;
DROP INDEX events_to_village;
ALTER TABLE events DROP COLUMN to_village;
DROP INDEX members_township;
ALTER TABLE members DROP COLUMN township;
