-- +goose Up
-- Tokens get metadata (docs/API.md v1.4): a public id (tk_...), how the
-- token came to be (kind), who issued it and when, an optional expiry, its
-- last use and its revocation. Revoked rows stay: a revoked secret must
-- never sign in again, and an admin sees when it was revoked.
--
-- The tokens stored before this step are kind 'legacy': their origin and
-- creator are unknown, their created_at is their member's, and they do not
-- expire (revoke or rotate them).
ALTER TABLE tokens ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'legacy';
ALTER TABLE tokens ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;

UPDATE tokens SET
	id = 'tk_' || lower(hex(randomblob(16))),
	created_at = COALESCE((SELECT m.created_at FROM members m WHERE m.id = tokens.member_id), 0);

CREATE UNIQUE INDEX tokens_id ON tokens (id);
-- "who holds a token" pages through every token in this order.
CREATE INDEX tokens_created ON tokens (created_at, id);

-- +goose Down
-- Going back forgets revocations: delete the revoked tokens first, so
-- that none of them signs in again under the old schema.
DELETE FROM tokens WHERE revoked_at IS NOT NULL;
DROP INDEX tokens_created;
DROP INDEX tokens_id;
ALTER TABLE tokens DROP COLUMN revoked_at;
ALTER TABLE tokens DROP COLUMN last_used_at;
ALTER TABLE tokens DROP COLUMN expires_at;
ALTER TABLE tokens DROP COLUMN created_by;
ALTER TABLE tokens DROP COLUMN created_at;
ALTER TABLE tokens DROP COLUMN kind;
ALTER TABLE tokens DROP COLUMN id;
