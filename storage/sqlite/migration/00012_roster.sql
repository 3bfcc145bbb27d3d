-- +goose Up
-- The roster (issue 12). A member can be deactivated (inactive = 1: no
-- alert targets it, nothing is sent to it, its tokens do not sign in); a
-- village can carry its administrative division code, unique when set;
-- an import matches the members without a phone by village, name and
-- address, through members_village_name.
ALTER TABLE members ADD COLUMN inactive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE villages ADD COLUMN code TEXT;
CREATE UNIQUE INDEX villages_code ON villages (code) WHERE code IS NOT NULL;
CREATE INDEX villages_township_name ON villages (township, name);
CREATE INDEX members_village_name ON members (village_id, name);

-- +goose Down
DROP INDEX members_village_name;
DROP INDEX villages_township_name;
DROP INDEX villages_code;
ALTER TABLE villages DROP COLUMN code;
ALTER TABLE members DROP COLUMN inactive;
