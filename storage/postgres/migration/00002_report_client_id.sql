-- +goose Up
-- A reporter's idempotency key: a report retried after a lost answer is
-- recognised instead of stored twice.
ALTER TABLE reports ADD COLUMN client_id text;
CREATE UNIQUE INDEX reports_member_client ON reports (member_id, client_id) WHERE client_id IS NOT NULL;

-- +goose Down
DROP INDEX reports_member_client;
ALTER TABLE reports DROP COLUMN client_id;
