-- +goose Up

-- seq_counter is the one row that hands out the deployment-wide event seq.
-- Every event-writing transaction increments it as its last statement, so
-- the row lock orders commits by seq (see appendEvent in postgres.go).
CREATE TABLE seq_counter (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    value bigint  NOT NULL CHECK (value >= 0 AND value <= 9007199254740991)
);
INSERT INTO seq_counter (id, value) VALUES (true, 0);

-- Identifiers use the "C" collation so that ORDER BY id and id > $after
-- page in byte order, as the SQLite store does, whatever the database's
-- default collation.
CREATE TABLE villages (
    id         text COLLATE "C" PRIMARY KEY,
    name       text             NOT NULL,
    township   text             NOT NULL DEFAULT '',
    center_lat double precision NOT NULL,
    center_lng double precision NOT NULL,
    demo       boolean          NOT NULL DEFAULT false,
    created_at timestamptz      NOT NULL
);

CREATE TABLE members (
    id              text COLLATE "C" PRIMARY KEY,
    name            text             NOT NULL,
    phone           text             NOT NULL DEFAULT '',
    role            text             NOT NULL,
    village_id      text COLLATE "C" NOT NULL DEFAULT '',
    home_lat        double precision,
    home_lng        double precision,
    lang            text             NOT NULL DEFAULT '',
    demo            boolean          NOT NULL DEFAULT false,
    created_at      timestamptz      NOT NULL,
    live_lat        double precision,
    live_lng        double precision,
    live_accuracy_m double precision,
    live_at         timestamptz
);
CREATE UNIQUE INDEX members_phone ON members (phone) WHERE phone <> '';
CREATE INDEX members_role ON members (role);
CREATE INDEX members_village ON members (village_id);

CREATE TABLE tokens (
    hash      bytea PRIMARY KEY,
    member_id text COLLATE "C" NOT NULL REFERENCES members (id)
);
CREATE INDEX tokens_member ON tokens (member_id);

-- events is the log that resume replays; body is json (not jsonb) so that
-- clients get the bytes the hub wrote.
CREATE TABLE events (
    seq        bigint PRIMARY KEY,
    type       text             NOT NULL,
    alert_id   text COLLATE "C" NOT NULL DEFAULT '',
    village_id text COLLATE "C" NOT NULL DEFAULT '',
    member_id  text COLLATE "C" NOT NULL DEFAULT '',
    body       json,
    created_at timestamptz      NOT NULL
);

CREATE TABLE alerts (
    id                   text COLLATE "C" PRIMARY KEY,
    kind                 text        NOT NULL,
    severity             text        NOT NULL,
    title                text        NOT NULL,
    body                 text        NOT NULL,
    area                 json,
    villages             text[],
    roles                text[],
    created_by           text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    status               text        NOT NULL,
    cancelled_at         timestamptz,
    sms_fallback_after_s integer,
    seq                  bigint      NOT NULL DEFAULT 0,
    cancel_seq           bigint      NOT NULL DEFAULT 0
);
CREATE INDEX alerts_status ON alerts (status, expires_at);
CREATE INDEX alerts_created ON alerts (created_at);
CREATE INDEX alerts_villages ON alerts USING gin (villages);

-- deliveries holds one row per member an alert is addressed to, with the
-- member's latest answer.
--
-- deliveries and sms have no foreign keys: a 50,000-member alert writes
-- 100,000 rows, and a per-row foreign-key check (plus its KEY SHARE lock on
-- the member row) tripled the time of those COPYs. Alerts and members are
-- never deleted, so the store checks the references once per statement
-- instead (missingMember in postgres_alerts.go) and answers ErrNotFound as
-- a foreign key would.
CREATE TABLE deliveries (
    alert_id     text COLLATE "C" NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    targeted_at  timestamptz      NOT NULL,
    delivered_at timestamptz,
    response     text             NOT NULL DEFAULT '',
    responded_at timestamptz,
    eta_min      integer,
    note         text             NOT NULL DEFAULT '',
    PRIMARY KEY (alert_id, member_id)
);
CREATE INDEX deliveries_member ON deliveries (member_id);
CREATE INDEX deliveries_response ON deliveries (alert_id, response);

-- acks keeps every answer ever given (deliveries keeps the latest).
CREATE TABLE acks (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id  text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    response  text             NOT NULL,
    eta_min   integer,
    note      text             NOT NULL DEFAULT '',
    at        timestamptz      NOT NULL,
    FOREIGN KEY (alert_id, member_id) REFERENCES deliveries (alert_id, member_id)
);
CREATE INDEX acks_alert_member ON acks (alert_id, member_id);

CREATE TABLE reports (
    id         text COLLATE "C" PRIMARY KEY,
    kind       text             NOT NULL,
    text       text             NOT NULL DEFAULT '',
    lat        double precision NOT NULL,
    lng        double precision NOT NULL,
    photos     text[]           NOT NULL DEFAULT '{}',
    member_id  text COLLATE "C" NOT NULL DEFAULT '',
    village_id text COLLATE "C" NOT NULL DEFAULT '',
    status     text             NOT NULL,
    feedback   text             NOT NULL DEFAULT '',
    created_at timestamptz      NOT NULL,
    updated_at timestamptz      NOT NULL,
    due_at     timestamptz      NOT NULL,
    seq        bigint           NOT NULL DEFAULT 0
);
CREATE INDEX reports_village_status ON reports (village_id, status);
CREATE INDEX reports_status ON reports (status);
CREATE INDEX reports_member ON reports (member_id);

CREATE TABLE bulletins (
    id           text COLLATE "C" PRIMARY KEY,
    village_id   text COLLATE "C" NOT NULL DEFAULT '',
    category     text             NOT NULL DEFAULT '',
    title        text             NOT NULL,
    body         text             NOT NULL,
    author_id    text             NOT NULL DEFAULT '',
    published_at timestamptz      NOT NULL,
    seq          bigint           NOT NULL DEFAULT 0
);
CREATE INDEX bulletins_village ON bulletins (village_id, seq);

CREATE TABLE media (
    id           text COLLATE "C" PRIMARY KEY,
    content_type text        NOT NULL,
    size         integer     NOT NULL,
    owner_id     text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    data         bytea       NOT NULL
);

-- sms is the SMS outbox, one row per (alert, member, kind).
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
-- sms_due serves ClaimDueSMS in its exact claim order, tie-breakers
-- included: a big alert queues tens of thousands of rows with the same
-- priority and due time, and without the key columns every claim would sort
-- that whole group to take its first few hundred (240 ms against 5 ms for
-- 50,000 rows). It also serves ClaimedSMS (state = 'claimed').
CREATE INDEX sms_due ON sms (state, priority DESC, due_at, alert_id, member_id, kind);
CREATE INDEX sms_provider ON sms (provider_id) WHERE provider_id <> '';

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
DROP TABLE seq_counter;
