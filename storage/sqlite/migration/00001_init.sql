-- The first schema of the embedded store.
--
-- Every table is STRICT, so a value of the wrong type is an error instead of
-- a silent conversion. Times are INTEGER microseconds since the Unix epoch
-- (UTC), NULL for the zero time: microseconds match PostgreSQL's timestamptz,
-- so both backends return the same instants, and integers compare and index
-- faster than text. JSON documents (area, villages, roles, photos) are TEXT
-- so that SQLite's json functions read them as JSON (a BLOB would be taken
-- for JSONB); event bodies are BLOBs that are never looked into.

-- +goose Up
CREATE TABLE villages (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	township   TEXT NOT NULL,
	lat        REAL NOT NULL,
	lng        REAL NOT NULL,
	demo       INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER
) STRICT;

CREATE TABLE members (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	-- NULL when the member has no phone: UNIQUE ignores NULLs, so only
	-- real numbers collide.
	phone           TEXT UNIQUE,
	role            TEXT NOT NULL,
	village_id      TEXT NOT NULL DEFAULT '',
	home_lat        REAL,
	home_lng        REAL,
	lang            TEXT NOT NULL DEFAULT '',
	demo            INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER,
	live_lat        REAL,
	live_lng        REAL,
	live_accuracy_m REAL,
	live_at         INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX members_role ON members (role);

CREATE TABLE tokens (
	hash      BLOB PRIMARY KEY,
	member_id TEXT NOT NULL REFERENCES members (id)
) STRICT, WITHOUT ROWID;

CREATE INDEX tokens_member ON tokens (member_id);

-- events is the deployment-wide log. AUTOINCREMENT (rather than a plain
-- rowid) guarantees a seq is never handed out twice, even if the newest
-- rows were ever deleted.
CREATE TABLE events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	type       TEXT NOT NULL,
	alert_id   TEXT NOT NULL DEFAULT '',
	village_id TEXT NOT NULL DEFAULT '',
	member_id  TEXT NOT NULL DEFAULT '',
	body       BLOB,
	created_at INTEGER
) STRICT;

CREATE TABLE alerts (
	id                   TEXT PRIMARY KEY,
	kind                 TEXT NOT NULL,
	severity             TEXT NOT NULL,
	title                TEXT NOT NULL,
	body                 TEXT NOT NULL,
	area                 TEXT,
	villages             TEXT,
	roles                TEXT,
	created_by           TEXT NOT NULL,
	created_at           INTEGER,
	expires_at           INTEGER,
	status               TEXT NOT NULL,
	cancelled_at         INTEGER,
	sms_fallback_after_s INTEGER,
	seq                  INTEGER NOT NULL,
	cancel_seq           INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX alerts_status ON alerts (status, expires_at);

-- deliveries has one row per (alert, member) the alert is addressed to. It
-- also holds the member's latest answer, so progress and recipient lists
-- read one row per member; acks keeps every answer.
--
-- Only the member is a foreign key. Alerts are never deleted and every path
-- that writes a delivery, an ack or an SMS row has just written or checked
-- its alert, so checking the alert again per row (50,000 rows for a big
-- alert) would only cost time.
CREATE TABLE deliveries (
	alert_id     TEXT NOT NULL,
	member_id    TEXT NOT NULL REFERENCES members (id),
	targeted_at  INTEGER,
	delivered_at INTEGER,
	response     TEXT NOT NULL DEFAULT '',
	responded_at INTEGER,
	eta_min      INTEGER,
	note         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (alert_id, member_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX deliveries_member ON deliveries (member_id);
CREATE INDEX deliveries_response ON deliveries (alert_id, response);

CREATE TABLE acks (
	id        INTEGER PRIMARY KEY,
	alert_id  TEXT NOT NULL,
	member_id TEXT NOT NULL,
	response  TEXT NOT NULL,
	eta_min   INTEGER,
	note      TEXT NOT NULL DEFAULT '',
	at        INTEGER -- RecordAcks writes only answers of targeted members
) STRICT;

CREATE TABLE reports (
	id         TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	text       TEXT NOT NULL,
	lat        REAL NOT NULL,
	lng        REAL NOT NULL,
	photos     TEXT NOT NULL DEFAULT '[]',
	member_id  TEXT NOT NULL,
	village_id TEXT NOT NULL DEFAULT '',
	status     TEXT NOT NULL,
	feedback   TEXT NOT NULL DEFAULT '',
	created_at INTEGER,
	updated_at INTEGER,
	due_at     INTEGER,
	seq        INTEGER NOT NULL
) STRICT;

CREATE INDEX reports_village_status ON reports (village_id, status);
CREATE INDEX reports_status ON reports (status);
CREATE INDEX reports_member ON reports (member_id);

CREATE TABLE bulletins (
	id           TEXT PRIMARY KEY,
	village_id   TEXT NOT NULL DEFAULT '',
	category     TEXT NOT NULL,
	title        TEXT NOT NULL,
	body         TEXT NOT NULL,
	author_id    TEXT NOT NULL,
	published_at INTEGER,
	seq          INTEGER NOT NULL
) STRICT;

CREATE INDEX bulletins_village ON bulletins (village_id, seq);

CREATE TABLE media (
	id           TEXT PRIMARY KEY,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	owner_id     TEXT NOT NULL,
	created_at   INTEGER,
	data         BLOB NOT NULL
) STRICT;

-- sms is the outbox, one row per (alert, member, kind).
CREATE TABLE sms (
	alert_id    TEXT NOT NULL, -- checked by its writers, as for deliveries
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
	PRIMARY KEY (alert_id, member_id, kind)
) STRICT, WITHOUT ROWID;

-- sms_due serves ClaimDueSMS (state = 'pending' in priority, due order) and
-- ClaimedSMS (state = 'claimed').
CREATE INDEX sms_due ON sms (state, priority DESC, due_at);
CREATE INDEX sms_provider ON sms (provider_id) WHERE provider_id IS NOT NULL;

-- +goose Down
DROP TABLE sms;
DROP TABLE media;
DROP TABLE bulletins;
DROP TABLE reports;
DROP TABLE acks;
DROP TABLE deliveries;
DROP TABLE alerts;
DROP TABLE events;
DROP TABLE tokens;
DROP TABLE members;
DROP TABLE villages;
