-- +goose Up
-- The roster (issue 12). A member can be deactivated (inactive: no alert
-- targets it, nothing is sent to it, its tokens do not sign in); a
-- village can carry its administrative division code, unique when set
-- ('' is none); an import matches the members without a phone by village,
-- name and address, through members_village_name.
ALTER TABLE members ADD COLUMN inactive boolean NOT NULL DEFAULT false;
ALTER TABLE villages ADD COLUMN code text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX villages_code ON villages (code) WHERE code <> '';
CREATE INDEX villages_township_name ON villages (township, name);
CREATE INDEX members_village_name ON members (village_id, name);

-- +goose Down
DROP INDEX members_village_name;
DROP INDEX villages_township_name;
DROP INDEX villages_code;
ALTER TABLE villages DROP COLUMN code;
ALTER TABLE members DROP COLUMN inactive;
