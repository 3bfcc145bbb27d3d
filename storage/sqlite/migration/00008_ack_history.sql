-- Answers are idempotent and their history is bounded (issue 13): a
-- RecordAcks that stores an answer keeps the newest 20 of its (alert,
-- member) (storage.AckHistoryMax) and deletes the rest, so it must find a
-- pair's rows without scanning the table. The rowid (id) comes with every
-- index entry, so this index also orders a pair's rows by id.
--
-- Histories already longer than the bound (one client looping on "ack"
-- stored 16,000 rows) are cut to it here; the latest answer itself is on
-- the delivery row and is not touched.

-- +goose Up
CREATE INDEX acks_alert_member ON acks (alert_id, member_id);

DELETE FROM acks WHERE id IN (
	SELECT id FROM (
		SELECT id, row_number() OVER (PARTITION BY alert_id, member_id ORDER BY id DESC) AS n FROM acks)
	WHERE n > 20);

-- +goose Down
-- The answers cut by Up are gone; the index goes.
DROP INDEX acks_alert_member;
