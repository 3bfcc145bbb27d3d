-- +goose Up
-- Voice calls and SMS replies (issue 12): an alert's voice_after_s (NULL:
-- no calls), and the inbound SMS the hub has handled, by the provider's
-- id, so a retried webhook is handled once and a member gets at most one
-- help SMS per alert. The calls themselves are outbox rows of channel
-- 'voice'. The text of a reply is not kept.
ALTER TABLE alerts ADD COLUMN voice_after_s integer;

CREATE TABLE inbound_sms (
    sid       text PRIMARY KEY,
    member_id text NOT NULL REFERENCES members (id),
    alert_id  text NOT NULL DEFAULT '',
    outcome   text NOT NULL,
    response  text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL
);
CREATE INDEX inbound_sms_member ON inbound_sms (member_id, alert_id, outcome);

-- +goose Down
DROP TABLE inbound_sms;
ALTER TABLE alerts DROP COLUMN voice_after_s;
