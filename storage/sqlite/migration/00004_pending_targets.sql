-- +goose Up
-- pending_targets holds the target list of a big alert between the
-- transaction that accepts it and the one that writes its delivery and SMS
-- rows (sqlite_deferred.go). A row here after a crash is expanded when the
-- store is opened again.
CREATE TABLE pending_targets (
	alert_id    TEXT PRIMARY KEY,
	targeted_at INTEGER,
	targets     BLOB NOT NULL -- JSON array of {"m": member, "d": SMS due (unix µs), "p": priority}
) STRICT;

-- +goose Down
DROP TABLE pending_targets;
