-- +goose Up
-- CAP import, updates in place and exercises (docs/API.md v1.6, issue 14).
-- See the SQLite migration 00022 for the columns. An update removes the
-- delivery rows of the members no longer in the area while their answers
-- stay in acks: acks no longer refers to deliveries (RecordAcks writes
-- only answers of targeted members, checked in its transaction).
ALTER TABLE alerts ADD COLUMN exercise boolean NOT NULL DEFAULT false;
ALTER TABLE alerts ADD COLUMN meta jsonb;
ALTER TABLE alerts ADD COLUMN updated_by text NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN updated_at timestamptz;
ALTER TABLE alerts ADD COLUMN update_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN cancelled_by text NOT NULL DEFAULT '';
ALTER TABLE acks DROP CONSTRAINT IF EXISTS acks_alert_id_member_id_fkey;

CREATE TABLE cap_imports (
    sender      text COLLATE "C" NOT NULL,
    identifier  text COLLATE "C" NOT NULL,
    msg_type    text NOT NULL,
    alert_id    text COLLATE "C" NOT NULL,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (sender, identifier)
);

CREATE TABLE cap_pending (
    id          text COLLATE "C" PRIMARY KEY,
    feed        text NOT NULL,
    sender      text COLLATE "C" NOT NULL,
    identifier  text COLLATE "C" NOT NULL,
    doc         bytea NOT NULL,
    headline    text NOT NULL DEFAULT '',
    severity    text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,
    status      text NOT NULL,
    decided_by  text NOT NULL DEFAULT '',
    decided_at  timestamptz,
    alert_id    text NOT NULL DEFAULT '',
    UNIQUE (sender, identifier)
);
CREATE INDEX cap_pending_status ON cap_pending (status, received_at);

-- +goose Down
DROP TABLE cap_pending;
DROP TABLE cap_imports;
ALTER TABLE acks ADD FOREIGN KEY (alert_id, member_id) REFERENCES deliveries (alert_id, member_id) NOT VALID;
ALTER TABLE alerts DROP COLUMN cancelled_by;
ALTER TABLE alerts DROP COLUMN update_seq;
ALTER TABLE alerts DROP COLUMN updated_at;
ALTER TABLE alerts DROP COLUMN updated_by;
ALTER TABLE alerts DROP COLUMN meta;
ALTER TABLE alerts DROP COLUMN exercise;
