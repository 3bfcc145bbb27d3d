-- +goose Up
-- Invitations, login codes and the settings that sign links (docs/API.md
-- v1.5 "invitations and answer links", issue 12).

-- settings holds the store's own secrets (the link key): inserted once if
-- absent (ON CONFLICT DO NOTHING), so every node of a cluster signs with
-- the same key.
CREATE TABLE settings (
    name  text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

-- invitations are personal sign-in links; hash is the SHA-256 of the
-- link's secret (the secret itself is never stored).
CREATE TABLE invitations (
    id         text COLLATE "C" PRIMARY KEY,
    member_id  text COLLATE "C" NOT NULL REFERENCES members (id),
    hash       bytea       NOT NULL UNIQUE,
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz,
    token_id   text        NOT NULL DEFAULT ''
);

-- A new invitation revokes its member's open ones.
CREATE INDEX invitations_open ON invitations (member_id) WHERE used_at IS NULL AND revoked_at IS NULL;

-- login_codes are the codes sent to sign in by phone, and the requests
-- for numbers no member has (member_id ''), kept for the rate limits.
CREATE TABLE login_codes (
    id         text COLLATE "C" PRIMARY KEY,
    phone      text        NOT NULL,
    member_id  text COLLATE "C" NOT NULL DEFAULT '',
    hash       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    tries      integer     NOT NULL DEFAULT 0
);

CREATE INDEX login_codes_phone ON login_codes (phone, created_at);
CREATE INDEX login_codes_created ON login_codes (created_at);

-- "Signed in" is holding a token that was ever used.
CREATE INDEX tokens_used ON tokens (member_id) WHERE last_used_at IS NOT NULL;

-- +goose Down
DROP INDEX tokens_used;
DROP TABLE login_codes;
DROP TABLE invitations;
DROP TABLE settings;
