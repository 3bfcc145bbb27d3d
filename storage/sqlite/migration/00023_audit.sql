-- +goose Up
-- The audit trail and alert templates (issue 14, docs/API.md v1.6).

-- audit is append-only: one row per successful action that changed
-- something. The code never updates or deletes a row; the triggers refuse
-- it from anyone else too.
CREATE TABLE audit (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	actor_id   TEXT NOT NULL DEFAULT '',
	actor_role TEXT NOT NULL DEFAULT '',
	token_id   TEXT NOT NULL DEFAULT '',
	addr       TEXT NOT NULL DEFAULT '',
	method     TEXT NOT NULL,
	route      TEXT NOT NULL,
	target     TEXT NOT NULL DEFAULT '',
	status     INTEGER NOT NULL,
	before     TEXT,
	after      TEXT
) STRICT;

CREATE INDEX audit_actor ON audit (actor_id, seq);
CREATE INDEX audit_target ON audit (target, seq);
CREATE INDEX audit_at ON audit (at);

-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit is append-only');
END;
-- +goose StatementEnd

-- templates are the county's alert templates: its own, and its copies of
-- the built-in ones (same id).
CREATE TABLE templates (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	severity     TEXT NOT NULL,
	title        TEXT NOT NULL,
	body         TEXT NOT NULL,
	expiry_hours INTEGER NOT NULL,
	roles        TEXT,
	updated_by   TEXT NOT NULL DEFAULT '',
	updated_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Who last changed a report's status or feedback ('' before this version,
-- or the system). Who cancelled an alert (alerts.cancelled_by) is added by
-- the CAP import's migration before this one.
ALTER TABLE reports ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reports DROP COLUMN updated_by;
DROP TABLE templates;
DROP TABLE audit;
