-- +goose Up
-- Patrol rounds, their tracks and reports, visits to watched households,
-- and named emergency periods (v1.6, issue 16 parts 4 and 6).
CREATE TABLE rounds (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    village_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    summary TEXT NOT NULL DEFAULT '',
    points INTEGER NOT NULL DEFAULT 0,
    distance_m REAL NOT NULL DEFAULT 0,
    last_lat REAL,
    last_lng REAL,
    last_at INTEGER,
    reports INTEGER NOT NULL DEFAULT 0
);
-- One open round per member.
CREATE UNIQUE INDEX rounds_open ON rounds (member_id) WHERE ended_at IS NULL;
CREATE INDEX rounds_village ON rounds (village_id, started_at);
CREATE INDEX rounds_started ON rounds (started_at);
CREATE INDEX rounds_member ON rounds (member_id, started_at);
CREATE TABLE round_points (
    round_id TEXT NOT NULL REFERENCES rounds (id),
    n INTEGER NOT NULL,
    lat REAL NOT NULL,
    lng REAL NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (round_id, n)
);
CREATE TABLE round_reports (
    round_id TEXT NOT NULL REFERENCES rounds (id),
    report_id TEXT NOT NULL,
    PRIMARY KEY (round_id, report_id)
);
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL REFERENCES households (id),
    village_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    round_id TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    photos TEXT NOT NULL DEFAULT '[]',
    at INTEGER NOT NULL
);
CREATE INDEX visits_household ON visits (household_id, at);
CREATE INDEX visits_village ON visits (village_id, at);
CREATE INDEX visits_at ON visits (at);
CREATE TABLE emergencies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    from_at INTEGER NOT NULL,
    to_at INTEGER NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE emergencies;
DROP TABLE visits;
DROP TABLE round_reports;
DROP TABLE round_points;
DROP TABLE rounds;
