-- +goose Up
-- Households (v1.6, issue 16): the homes of a village with their members,
-- and the watched ones patrols visit.
CREATE TABLE households (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    name TEXT NOT NULL,
    watch TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX households_village ON households (village_id, id);
-- A member belongs to at most one household.
CREATE TABLE household_members (
    member_id TEXT PRIMARY KEY REFERENCES members (id),
    household_id TEXT NOT NULL REFERENCES households (id)
);
CREATE INDEX household_members_household ON household_members (household_id);

-- +goose Down
DROP TABLE household_members;
DROP TABLE households;
