-- +goose Up
-- Tokens get metadata (docs/API.md v1.4): a public id (tk_...), how the
-- token came to be (kind), who issued it and when, an optional expiry, its
-- last use and its revocation. Revoked rows stay: a revoked secret must
-- never sign in again, and an admin sees when it was revoked.
--
-- The tokens stored before this step are kind 'legacy': their origin and
-- creator are unknown, their created_at is their member's, and they do not
-- expire (revoke or rotate them).
ALTER TABLE tokens
    ADD COLUMN id           text COLLATE "C",
    ADD COLUMN kind         text        NOT NULL DEFAULT 'legacy',
    ADD COLUMN created_at   timestamptz,
    ADD COLUMN created_by   text        NOT NULL DEFAULT '',
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN revoked_at   timestamptz;

UPDATE tokens t SET
    id = 'tk_' || replace(gen_random_uuid()::text, '-', ''),
    created_at = m.created_at
FROM members m WHERE m.id = t.member_id;

ALTER TABLE tokens
    ALTER COLUMN id SET NOT NULL,
    ALTER COLUMN created_at SET NOT NULL;

CREATE UNIQUE INDEX tokens_id ON tokens (id);
-- "who holds a token" pages through every token in this order.
CREATE INDEX tokens_created ON tokens (created_at, id);

-- +goose Down
-- Going back forgets revocations: delete the revoked tokens first, so
-- that none of them signs in again under the old schema.
DELETE FROM tokens WHERE revoked_at IS NOT NULL;
DROP INDEX tokens_created;
DROP INDEX tokens_id;
ALTER TABLE tokens
    DROP COLUMN revoked_at,
    DROP COLUMN last_used_at,
    DROP COLUMN expires_at,
    DROP COLUMN created_by,
    DROP COLUMN created_at,
    DROP COLUMN kind,
    DROP COLUMN id;
