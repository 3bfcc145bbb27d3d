-- +goose Up
-- The village board (v1.6, issue 16 part 2): a report's visibility, its
-- rectification photos and its like and urge counts; good deeds; one
-- reaction (like or urge) per member and item.
ALTER TABLE reports ADD COLUMN visibility text NOT NULL DEFAULT 'private';
ALTER TABLE reports ADD COLUMN rectification_photos text[] NOT NULL DEFAULT '{}';
ALTER TABLE reports ADD COLUMN likes integer NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN urges integer NOT NULL DEFAULT 0;
CREATE INDEX reports_board ON reports (village_id, created_seq) WHERE visibility = 'public';
CREATE TABLE deeds (
    n bigserial PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    village_id text COLLATE "C" NOT NULL,
    title text NOT NULL,
    text text NOT NULL DEFAULT '',
    photos text[] NOT NULL DEFAULT '{}',
    about text NOT NULL DEFAULT '',
    household_id text COLLATE "C" NOT NULL DEFAULT '',
    author_id text COLLATE "C" NOT NULL,
    status text NOT NULL,
    decided_by text COLLATE "C" NOT NULL DEFAULT '',
    decided_at timestamptz,
    created_at timestamptz NOT NULL,
    likes integer NOT NULL DEFAULT 0,
    seq bigint NOT NULL DEFAULT 0
);
CREATE INDEX deeds_village ON deeds (village_id, status, n);
CREATE INDEX deeds_board ON deeds (village_id, seq) WHERE status = 'confirmed';
CREATE INDEX deeds_author ON deeds (author_id, n);
CREATE TABLE reactions (
    item text NOT NULL,
    item_id text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (item, item_id, kind, member_id)
);
CREATE INDEX reactions_member ON reactions (member_id, item, item_id);

-- +goose Down
DROP TABLE reactions;
DROP TABLE deeds;
DROP INDEX reports_board;
ALTER TABLE reports DROP COLUMN urges;
ALTER TABLE reports DROP COLUMN likes;
ALTER TABLE reports DROP COLUMN rectification_photos;
ALTER TABLE reports DROP COLUMN visibility;
