-- +goose Up
-- Household inspections, boards and credit points (v1.6, issue 16 part 5).
CREATE TABLE inspections (
    household_id TEXT NOT NULL REFERENCES households (id),
    month TEXT NOT NULL,
    village_id TEXT NOT NULL,
    scores TEXT NOT NULL,
    total INTEGER NOT NULL,
    recorded_by TEXT NOT NULL DEFAULT '',
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (household_id, month)
);
CREATE INDEX inspections_village ON inspections (village_id, month, household_id);
-- A published board freezes its month's inspections.
CREATE TABLE board_publications (
    village_id TEXT NOT NULL,
    month TEXT NOT NULL,
    published_by TEXT NOT NULL DEFAULT '',
    published_at INTEGER NOT NULL,
    PRIMARY KEY (village_id, month)
);
-- Append-only: a correction is a new entry. A key (when not NULL) is
-- used once: a board place earns its points once.
CREATE TABLE credit_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id TEXT NOT NULL REFERENCES households (id),
    village_id TEXT NOT NULL,
    points INTEGER NOT NULL,
    rule TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    key TEXT UNIQUE,
    recorded_by TEXT NOT NULL DEFAULT '',
    at INTEGER NOT NULL
);
CREATE INDEX credit_entries_household ON credit_entries (household_id, id);

-- +goose Down
DROP TABLE credit_entries;
DROP TABLE board_publications;
DROP TABLE inspections;
