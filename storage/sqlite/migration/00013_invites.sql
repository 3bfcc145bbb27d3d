-- +goose Up
-- Invitations, login codes and the settings that sign links (docs/API.md
-- v1.5 "invitations and answer links", issue 12).

-- settings holds the store's own secrets (the link key): inserted once if
-- absent, so every process on this database signs with the same key.
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- invitations are personal sign-in links; hash is the SHA-256 of the
-- link's secret (the secret itself is never stored).
CREATE TABLE invitations (
	id         TEXT PRIMARY KEY,
	member_id  TEXT NOT NULL REFERENCES members (id),
	hash       BLOB NOT NULL UNIQUE,
	created_by TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	revoked_at INTEGER,
	token_id   TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- A new invitation revokes its member's open ones.
CREATE INDEX invitations_open ON invitations (member_id) WHERE used_at IS NULL AND revoked_at IS NULL;

-- login_codes are the codes sent to sign in by phone, and the requests
-- for numbers no member has (member_id ''), kept for the rate limits.
CREATE TABLE login_codes (
	id         TEXT PRIMARY KEY,
	phone      TEXT NOT NULL,
	member_id  TEXT NOT NULL DEFAULT '',
	hash       BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	tries      INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX login_codes_phone ON login_codes (phone, created_at);
CREATE INDEX login_codes_created ON login_codes (created_at);

-- "Signed in" is holding a token that was ever used.
CREATE INDEX tokens_used ON tokens (member_id) WHERE last_used_at IS NOT NULL;

-- +goose Down
DROP INDEX tokens_used;
DROP TABLE login_codes;
DROP TABLE invitations;
DROP TABLE settings;
