-- +goose Up
-- The villager mailbox (v1.6, issue 16 part 3).
CREATE TABLE letters (
    id          TEXT PRIMARY KEY,
    village_id  TEXT NOT NULL,
    writer_id   TEXT NOT NULL,
    to_level    TEXT NOT NULL,
    level       TEXT NOT NULL,
    status      TEXT NOT NULL,
    overdue     INTEGER NOT NULL DEFAULT 0,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    answered_at INTEGER,
    closed_at   INTEGER,
    created_seq INTEGER NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX letters_writer ON letters (writer_id, created_seq);
CREATE INDEX letters_open ON letters (created_seq) WHERE status = 'open';
-- The thread and history of a letter, in order.
CREATE TABLE letter_entries (
    letter_id TEXT NOT NULL,
    n         INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    actor_id  TEXT NOT NULL DEFAULT '',
    body      TEXT NOT NULL DEFAULT '',
    level     TEXT NOT NULL DEFAULT '',
    member_id TEXT NOT NULL DEFAULT '',
    at        INTEGER NOT NULL,
    PRIMARY KEY (letter_id, n)
) WITHOUT ROWID;
-- Who may read a letter besides its writer, and why.
CREATE TABLE letter_readers (
    letter_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    reason    TEXT NOT NULL,
    by_id     TEXT NOT NULL DEFAULT '',
    at        INTEGER NOT NULL,
    PRIMARY KEY (letter_id, member_id)
) WITHOUT ROWID;
CREATE INDEX letter_readers_member ON letter_readers (member_id, letter_id);

-- +goose Down
DROP TABLE letter_readers;
DROP TABLE letter_entries;
DROP TABLE letters;
