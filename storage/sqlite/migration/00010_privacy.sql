-- +goose Up
-- Personal data (issue 13). A member can be erased (its record stays,
-- pseudonymized, for the counts that refer to it); uploads know the
-- report they belong to, so that the ones attached to none (orphans) can
-- be found and deleted; the retention job and a member's export and
-- erasure find their rows through the partial indexes below, which hold
-- only the rows that still carry personal data; readiness writes the
-- heartbeat row to see that the store can write.
ALTER TABLE members ADD COLUMN erased_at INTEGER;
CREATE INDEX members_live_at ON members (live_at) WHERE live_at IS NOT NULL;

ALTER TABLE media ADD COLUMN report_id TEXT;
UPDATE media SET report_id = (SELECT r.id FROM reports r, json_each(r.photos) j WHERE j.value = media.id LIMIT 1)
WHERE id IN (SELECT j.value FROM reports r, json_each(r.photos) j);
-- media_owner covers the quota's sums (an owner's day, and all of them:
-- a scan of this index, not of the rows and their images).
CREATE INDEX media_owner ON media (owner_id, created_at, size);
CREATE INDEX media_orphan ON media (created_at) WHERE report_id IS NULL;
CREATE INDEX media_report ON media (report_id) WHERE report_id IS NOT NULL;

CREATE INDEX deliveries_note ON deliveries (responded_at) WHERE note <> '';
CREATE INDEX acks_note ON acks (at) WHERE note <> '';
CREATE INDEX acks_member ON acks (member_id);
CREATE INDEX reports_redactable ON reports (updated_at) WHERE text <> '' OR photos <> '[]';
CREATE INDEX outbox_member ON outbox (member_id);
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE provider_id IS NOT NULL;

CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER
) STRICT;
INSERT INTO heartbeat (id, at) VALUES (1, NULL);

-- +goose Down
DROP TABLE heartbeat;
DROP INDEX outbox_sent;
DROP INDEX outbox_member;
DROP INDEX reports_redactable;
DROP INDEX acks_member;
DROP INDEX acks_note;
DROP INDEX deliveries_note;
DROP INDEX media_report;
DROP INDEX media_orphan;
DROP INDEX media_owner;
ALTER TABLE media DROP COLUMN report_id;
DROP INDEX members_live_at;
ALTER TABLE members DROP COLUMN erased_at;
