-- +goose Up
-- CAP import, updates in place and exercises (docs/API.md v1.6, issue 14).
-- An exercise alert (演练) goes to staff roles only; meta keeps what a CAP
-- message said that the hub has no column for (its info blocks by
-- language, event, category, urgency, ...); update_seq is the seq of the
-- alert's latest alert_update event (0: never updated).
ALTER TABLE alerts ADD COLUMN exercise INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN meta TEXT;
ALTER TABLE alerts ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN updated_at INTEGER;
ALTER TABLE alerts ADD COLUMN update_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN cancelled_by TEXT NOT NULL DEFAULT '';

-- cap_imports maps each CAP message imported (sender, identifier) to the
-- alert it made, updated or cancelled, written in the same transaction:
-- the same message again answers with that alert.
CREATE TABLE cap_imports (
	sender      TEXT NOT NULL,
	identifier  TEXT NOT NULL,
	msg_type    TEXT NOT NULL,
	alert_id    TEXT NOT NULL,
	imported_at INTEGER,
	PRIMARY KEY (sender, identifier)
) STRICT, WITHOUT ROWID;

-- cap_pending holds the CAP messages read from a -cap-feed that wait for
-- a commander's approve or discard.
CREATE TABLE cap_pending (
	id          TEXT PRIMARY KEY,
	feed        TEXT NOT NULL,
	sender      TEXT NOT NULL,
	identifier  TEXT NOT NULL,
	doc         BLOB NOT NULL,
	headline    TEXT NOT NULL DEFAULT '',
	severity    TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT '',
	received_at INTEGER,
	status      TEXT NOT NULL,
	decided_by  TEXT NOT NULL DEFAULT '',
	decided_at  INTEGER,
	alert_id    TEXT NOT NULL DEFAULT '',
	UNIQUE (sender, identifier)
) STRICT;
CREATE INDEX cap_pending_status ON cap_pending (status, received_at);

-- +goose Down
DROP TABLE cap_pending;
DROP TABLE cap_imports;
ALTER TABLE alerts DROP COLUMN cancelled_by;
ALTER TABLE alerts DROP COLUMN update_seq;
ALTER TABLE alerts DROP COLUMN updated_at;
ALTER TABLE alerts DROP COLUMN updated_by;
ALTER TABLE alerts DROP COLUMN meta;
ALTER TABLE alerts DROP COLUMN exercise;
