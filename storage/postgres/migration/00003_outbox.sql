-- +goose Up
-- outbox replaces sms: one row per message of any channel (sms now; voice,
-- invitations, replies next), about a ref (ref_type, ref_id: the alert for
-- the alert and all-clear SMS), unique per (channel, ref, member, kind).
-- The rows of sms move over as channel 'sms' about their alert, so a
-- deployment keeps its queue, in-doubt claims included, across the upgrade.
-- Like sms, it has no foreign keys (see deliveries in 00001_init.sql).
CREATE TABLE outbox (
    channel     text             NOT NULL,
    ref_type    text             NOT NULL,
    ref_id      text COLLATE "C" NOT NULL,
    member_id   text COLLATE "C" NOT NULL,
    kind        text             NOT NULL,
    state       text             NOT NULL,
    priority    integer          NOT NULL DEFAULT 0,
    due_at      timestamptz      NOT NULL,
    attempts    integer          NOT NULL DEFAULT 0,
    claimed_at  timestamptz,
    claimed_by  text             NOT NULL DEFAULT '',
    sent_at     timestamptz,
    provider_id text             NOT NULL DEFAULT '',
    status      text             NOT NULL DEFAULT '',
    error_code  text             NOT NULL DEFAULT '',
    segments    integer          NOT NULL DEFAULT 0,
    status_at   timestamptz,
    -- The ref leads: an alert's rows are together for its progress, its
    -- recipients, its cancel and its members' answers.
    PRIMARY KEY (ref_type, ref_id, member_id, kind, channel)
);

INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at, attempts,
    claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at)
SELECT 'sms', 'alert', alert_id, member_id, kind, state, priority, due_at, attempts,
    claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at
FROM sms;

DROP TABLE sms;

-- outbox_due serves ClaimDueMessages in its exact claim order, tie-breakers
-- included (see sms_due in 00001_init.sql for why), and ClaimedMessages.
CREATE INDEX outbox_due ON outbox (channel, state, priority DESC, due_at, ref_type, ref_id, member_id, kind);
CREATE INDEX outbox_provider ON outbox (provider_id) WHERE provider_id <> '';

-- +goose Down
CREATE TABLE sms (
    alert_id    text COLLATE "C" NOT NULL,
    member_id   text COLLATE "C" NOT NULL,
    kind        text             NOT NULL,
    state       text             NOT NULL,
    priority    integer          NOT NULL DEFAULT 0,
    due_at      timestamptz      NOT NULL,
    attempts    integer          NOT NULL DEFAULT 0,
    claimed_at  timestamptz,
    claimed_by  text             NOT NULL DEFAULT '',
    sent_at     timestamptz,
    provider_id text             NOT NULL DEFAULT '',
    status      text             NOT NULL DEFAULT '',
    error_code  text             NOT NULL DEFAULT '',
    segments    integer          NOT NULL DEFAULT 0,
    status_at   timestamptz,
    PRIMARY KEY (alert_id, member_id, kind)
);

-- Only the alert SMS fit the old table; other channels' rows are dropped.
INSERT INTO sms (alert_id, member_id, kind, state, priority, due_at, attempts,
    claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at)
SELECT ref_id, member_id, kind, state, priority, due_at, attempts,
    claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at
FROM outbox WHERE channel = 'sms' AND ref_type = 'alert';

DROP TABLE outbox;

CREATE INDEX sms_due ON sms (state, priority DESC, due_at, alert_id, member_id, kind);
CREATE INDEX sms_provider ON sms (provider_id) WHERE provider_id <> '';
