-- +goose Up
-- The village board (v1.6, issue 16 part 2): a report's visibility, its
-- rectification photos and its like and urge counts; good deeds; one
-- reaction (like or urge) per member and item.
ALTER TABLE reports ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private';
ALTER TABLE reports ADD COLUMN rectification_photos TEXT NOT NULL DEFAULT '[]';
ALTER TABLE reports ADD COLUMN likes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN urges INTEGER NOT NULL DEFAULT 0;
CREATE INDEX reports_board ON reports (village_id, created_seq) WHERE visibility = 'public';
CREATE TABLE deeds (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    village_id TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    photos TEXT NOT NULL DEFAULT '[]',
    about TEXT NOT NULL DEFAULT '',
    household_id TEXT NOT NULL DEFAULT '',
    author_id TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at INTEGER,
    created_at INTEGER NOT NULL,
    likes INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deeds_village ON deeds (village_id, status, n);
CREATE INDEX deeds_board ON deeds (village_id, seq) WHERE status = 'confirmed';
CREATE INDEX deeds_author ON deeds (author_id, n);
CREATE TABLE reactions (
    item TEXT NOT NULL,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    member_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (item, item_id, kind, member_id)
) WITHOUT ROWID;
CREATE INDEX reactions_member ON reactions (member_id, item, item_id);

-- +goose Down
DROP TABLE reactions;
DROP TABLE deeds;
DROP INDEX reports_board;
ALTER TABLE reports DROP COLUMN urges;
ALTER TABLE reports DROP COLUMN likes;
ALTER TABLE reports DROP COLUMN rectification_photos;
ALTER TABLE reports DROP COLUMN visibility;
