-- +goose Up
-- Household inspections, boards and credit points (v1.6, issue 16 part 5).
CREATE TABLE inspections (
    household_id text COLLATE "C" NOT NULL REFERENCES households (id),
    month text COLLATE "C" NOT NULL,
    village_id text COLLATE "C" NOT NULL,
    scores jsonb NOT NULL,
    total integer NOT NULL,
    recorded_by text COLLATE "C" NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (household_id, month)
);
CREATE INDEX inspections_village ON inspections (village_id, month, household_id);
-- A published board freezes its month's inspections.
CREATE TABLE board_publications (
    village_id text COLLATE "C" NOT NULL,
    month text COLLATE "C" NOT NULL,
    published_by text COLLATE "C" NOT NULL DEFAULT '',
    published_at timestamptz NOT NULL,
    PRIMARY KEY (village_id, month)
);
-- Append-only: a correction is a new entry. A key (when not NULL) is
-- used once: a board place earns its points once.
CREATE TABLE credit_entries (
    id bigserial PRIMARY KEY,
    household_id text COLLATE "C" NOT NULL REFERENCES households (id),
    village_id text COLLATE "C" NOT NULL,
    points integer NOT NULL,
    rule text NOT NULL DEFAULT '',
    reason text NOT NULL DEFAULT '',
    key text COLLATE "C" UNIQUE,
    recorded_by text COLLATE "C" NOT NULL DEFAULT '',
    at timestamptz NOT NULL
);
CREATE INDEX credit_entries_household ON credit_entries (household_id, id);

-- +goose Down
DROP TABLE credit_entries;
DROP TABLE board_publications;
DROP TABLE inspections;
