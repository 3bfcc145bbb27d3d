-- +goose Up
-- Answers are idempotent and their history is bounded (issue 13): a
-- RecordAcks that stores an answer keeps the newest 20 of its (alert,
-- member) (storage.AckHistoryMax), found through acks_alert_member.
-- Histories already longer than that (one client looping on "ack" stored
-- 16,000 rows) are cut to it here; the latest answer itself is on the
-- delivery row and is not touched.
DELETE FROM acks WHERE id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY alert_id, member_id ORDER BY id DESC) AS n FROM acks) r
    WHERE n > 20);

-- +goose Down
-- The answers cut by Up are gone; there is nothing to undo.
SELECT 1;
