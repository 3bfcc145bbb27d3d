-- +goose Up
-- outbox replaces sms: one row per message of any channel (sms now; voice,
-- invitations, replies next), about a Ref (ref_type, ref_id: the alert for
-- the alert and all-clear SMS), unique per (channel, ref, member, kind).
-- The rows of sms move over as channel 'sms' about their alert, so a
-- deployment keeps its queue, in-doubt claims included, across the upgrade.
CREATE TABLE outbox (
	channel     TEXT NOT NULL,
	ref_type    TEXT NOT NULL,
	ref_id      TEXT NOT NULL, -- an alert is checked by the writers, as for deliveries
	member_id   TEXT NOT NULL REFERENCES members (id),
	kind        TEXT NOT NULL,
	state       TEXT NOT NULL,
	priority    INTEGER NOT NULL DEFAULT 0,
	due_at      INTEGER,
	attempts    INTEGER NOT NULL DEFAULT 0,
	claimed_at  INTEGER,
	claimed_by  TEXT NOT NULL DEFAULT '',
	sent_at     INTEGER,
	provider_id TEXT, -- NULL until the provider accepted the message
	status      TEXT NOT NULL DEFAULT '',
	error_code  TEXT NOT NULL DEFAULT '',
	segments    INTEGER NOT NULL DEFAULT 0,
	status_at   INTEGER, -- time of the last provider status callback
	-- The ref leads: an alert's rows are together for its progress, its
	-- recipients, its cancel and its members' answers.
	PRIMARY KEY (ref_type, ref_id, member_id, kind, channel)
) STRICT, WITHOUT ROWID;

INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at, attempts,
	claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at)
SELECT 'sms', 'alert', alert_id, member_id, kind, state, priority, due_at, attempts,
	claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at
FROM sms;

DROP TABLE sms;

-- outbox_due serves ClaimDueMessages (a channel's pending rows in priority,
-- due order) and ClaimedMessages (state = 'claimed').
CREATE INDEX outbox_due ON outbox (channel, state, priority DESC, due_at);
CREATE INDEX outbox_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL;

-- +goose Down
CREATE TABLE sms (
	alert_id    TEXT NOT NULL,
	member_id   TEXT NOT NULL REFERENCES members (id),
	kind        TEXT NOT NULL,
	state       TEXT NOT NULL,
	priority    INTEGER NOT NULL DEFAULT 0,
	due_at      INTEGER,
	attempts    INTEGER NOT NULL DEFAULT 0,
	claimed_at  INTEGER,
	claimed_by  TEXT NOT NULL DEFAULT '',
	sent_at     INTEGER,
	provider_id TEXT,
	status      TEXT NOT NULL DEFAULT '',
	error_code  TEXT NOT NULL DEFAULT '',
	segments    INTEGER NOT NULL DEFAULT 0,
	status_at   INTEGER,
	PRIMARY KEY (alert_id, member_id, kind)
) STRICT, WITHOUT ROWID;

-- Only the alert SMS fit the old table; other channels' rows are dropped.
INSERT INTO sms (alert_id, member_id, kind, state, priority, due_at, attempts,
	claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at)
SELECT ref_id, member_id, kind, state, priority, due_at, attempts,
	claimed_at, claimed_by, sent_at, provider_id, status, error_code, segments, status_at
FROM outbox WHERE channel = 'sms' AND ref_type = 'alert';

DROP TABLE outbox;

CREATE INDEX sms_due ON sms (state, priority DESC, due_at);
CREATE INDEX sms_provider ON sms (provider_id) WHERE provider_id IS NOT NULL;
