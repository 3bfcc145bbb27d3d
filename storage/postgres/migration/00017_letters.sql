-- +goose Up
-- The villager mailbox (v1.6, issue 16 part 3).
CREATE TABLE letters (
    id          text COLLATE "C" PRIMARY KEY,
    village_id  text COLLATE "C" NOT NULL,
    writer_id   text COLLATE "C" NOT NULL,
    to_level    text NOT NULL,
    level       text NOT NULL,
    status      text NOT NULL,
    overdue     boolean NOT NULL DEFAULT false,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    answered_at timestamptz,
    closed_at   timestamptz,
    created_seq bigint NOT NULL,
    seq         bigint NOT NULL
);
CREATE INDEX letters_writer ON letters (writer_id, created_seq);
CREATE INDEX letters_open ON letters (created_seq) WHERE status = 'open';
-- The thread and history of a letter, in order.
CREATE TABLE letter_entries (
    letter_id text COLLATE "C" NOT NULL,
    n         integer NOT NULL,
    kind      text NOT NULL,
    actor_id  text NOT NULL DEFAULT '',
    body      text NOT NULL DEFAULT '',
    level     text NOT NULL DEFAULT '',
    member_id text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    PRIMARY KEY (letter_id, n)
);
-- Who may read a letter besides its writer, and why.
CREATE TABLE letter_readers (
    letter_id text COLLATE "C" NOT NULL,
    member_id text COLLATE "C" NOT NULL,
    reason    text NOT NULL,
    by_id     text NOT NULL DEFAULT '',
    at        timestamptz NOT NULL,
    PRIMARY KEY (letter_id, member_id)
);
CREATE INDEX letter_readers_member ON letter_readers (member_id, letter_id);

-- +goose Down
DROP TABLE letter_readers;
DROP TABLE letter_entries;
DROP TABLE letters;
