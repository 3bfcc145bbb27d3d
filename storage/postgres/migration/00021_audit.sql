-- +goose Up
-- The audit trail and alert templates (issue 14, docs/API.md v1.6).

-- audit is append-only: one row per successful action that changed
-- something. The code never updates or deletes a row; the triggers refuse
-- UPDATE, DELETE and TRUNCATE from anyone else too (an owner can still
-- drop the triggers: this guards against mistakes, not the DBA).
CREATE TABLE audit (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_id   text COLLATE "C" NOT NULL DEFAULT '',
    actor_role text NOT NULL DEFAULT '',
    token_id   text COLLATE "C" NOT NULL DEFAULT '',
    addr       text NOT NULL DEFAULT '',
    method     text NOT NULL,
    route      text NOT NULL,
    target     text COLLATE "C" NOT NULL DEFAULT '',
    status     integer NOT NULL,
    before     jsonb,
    after      jsonb
);

CREATE INDEX audit_actor ON audit (actor_id, seq);
CREATE INDEX audit_target ON audit (target, seq);
CREATE INDEX audit_at ON audit (at);

-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- templates are the county's alert templates: its own, and its copies of
-- the built-in ones (same id).
CREATE TABLE templates (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL,
    severity     text NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    expiry_hours integer NOT NULL,
    roles        jsonb,
    updated_by   text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL
);

-- Who last changed a report's status or feedback ('' before this version,
-- or the system). Who cancelled an alert (alerts.cancelled_by) is added by
-- the CAP import's migration before this one.
ALTER TABLE reports ADD COLUMN updated_by text COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reports DROP COLUMN updated_by;
DROP TABLE templates;
DROP TABLE audit;
DROP FUNCTION audit_append_only();
