-- +goose Up
-- Patrol rounds, their tracks and reports, visits to watched households,
-- and named emergency periods (v1.6, issue 16 parts 4 and 6).
CREATE TABLE rounds (
    id text COLLATE "C" PRIMARY KEY,
    member_id text COLLATE "C" NOT NULL,
    village_id text COLLATE "C" NOT NULL DEFAULT '',
    kind text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    summary text NOT NULL DEFAULT '',
    points integer NOT NULL DEFAULT 0,
    distance_m double precision NOT NULL DEFAULT 0,
    last_lat double precision,
    last_lng double precision,
    last_at timestamptz,
    reports integer NOT NULL DEFAULT 0
);
-- One open round per member.
CREATE UNIQUE INDEX rounds_open ON rounds (member_id) WHERE ended_at IS NULL;
CREATE INDEX rounds_village ON rounds (village_id, started_at);
CREATE INDEX rounds_started ON rounds (started_at);
CREATE INDEX rounds_member ON rounds (member_id, started_at);
CREATE TABLE round_points (
    round_id text COLLATE "C" NOT NULL REFERENCES rounds (id),
    n integer NOT NULL,
    lat double precision NOT NULL,
    lng double precision NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (round_id, n)
);
CREATE TABLE round_reports (
    round_id text COLLATE "C" NOT NULL REFERENCES rounds (id),
    report_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (round_id, report_id)
);
CREATE TABLE visits (
    id text COLLATE "C" PRIMARY KEY,
    household_id text COLLATE "C" NOT NULL REFERENCES households (id),
    village_id text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    round_id text COLLATE "C" NOT NULL DEFAULT '',
    note text NOT NULL DEFAULT '',
    photos text[] NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL
);
CREATE INDEX visits_household ON visits (household_id, at);
CREATE INDEX visits_village ON visits (village_id, at);
CREATE INDEX visits_at ON visits (at);
CREATE TABLE emergencies (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz NOT NULL,
    created_by text COLLATE "C" NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE emergencies;
DROP TABLE visits;
DROP TABLE round_reports;
DROP TABLE round_points;
DROP TABLE rounds;
