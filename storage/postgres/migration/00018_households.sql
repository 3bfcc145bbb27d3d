-- +goose Up
-- Households (v1.6, issue 16): the homes of a village with their members,
-- and the watched ones patrols visit.
CREATE TABLE households (
    id text COLLATE "C" PRIMARY KEY,
    village_id text COLLATE "C" NOT NULL,
    name text NOT NULL,
    watch text NOT NULL DEFAULT '',
    created_by text COLLATE "C" NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX households_village ON households (village_id, id);
-- A member belongs to at most one household.
CREATE TABLE household_members (
    member_id text COLLATE "C" PRIMARY KEY REFERENCES members (id),
    household_id text COLLATE "C" NOT NULL REFERENCES households (id)
);
CREATE INDEX household_members_household ON household_members (household_id);

-- +goose Down
DROP TABLE household_members;
DROP TABLE households;
