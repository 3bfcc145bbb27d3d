-- +goose Up
-- Paging of the report, alert and bulletin lists (docs/API.md v1.4).
--
-- created_seq is the seq of the event that made a report. Unlike seq (the
-- report's latest event, which moves with every status change) it never
-- changes, it is unique and, as every seq, it grows in commit order, so it
-- is the key the lists are ordered and paged by: a page boundary holds
-- while reports are added or handled. Existing reports take the seq of
-- their first report event (its body carries the report id), or their
-- latest seq when the log holds none (both are unique: every event belongs
-- to one report).
ALTER TABLE reports ADD COLUMN created_seq bigint NOT NULL DEFAULT 0;
UPDATE reports r SET created_seq = m.seq
    FROM (SELECT (body ->> 'id') COLLATE "C" AS id, min(seq) AS seq
        FROM events WHERE type = 'report' GROUP BY 1) AS m
    WHERE m.id = r.id;
UPDATE reports SET created_seq = seq WHERE created_seq = 0;
CREATE UNIQUE INDEX reports_created ON reports (created_seq);
CREATE INDEX reports_status_created ON reports (status, created_seq);
CREATE INDEX reports_village_created ON reports (village_id, created_seq);
CREATE INDEX reports_member_created ON reports (member_id, created_seq);

-- Alerts and bulletins keep the seq of the event that made them: it pages
-- their lists.
CREATE INDEX alerts_seq ON alerts (seq);
CREATE INDEX bulletins_seq ON bulletins (seq);

-- +goose Down
DROP INDEX bulletins_seq;
DROP INDEX alerts_seq;
DROP INDEX reports_member_created;
DROP INDEX reports_village_created;
DROP INDEX reports_status_created;
DROP INDEX reports_created;
ALTER TABLE reports DROP COLUMN created_seq;
