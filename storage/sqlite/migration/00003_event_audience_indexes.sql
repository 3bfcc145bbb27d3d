-- +goose Up
-- EventsSince reads each audience branch through its own index instead of
-- filtering every event after the reader's seq (a reconnect storm after a
-- network outage replays for thousands of members at once).
CREATE INDEX events_alert ON events (alert_id, seq) WHERE alert_id <> '';
CREATE INDEX events_type_village ON events (type, village_id, seq);
CREATE INDEX events_type_member ON events (type, member_id, seq);

-- +goose Down
DROP INDEX events_alert;
DROP INDEX events_type_village;
DROP INDEX events_type_member;
