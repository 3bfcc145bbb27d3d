// Package postgres is the PostgreSQL implementation of storage.Store, for
// deployments of several hub nodes that share one database.
//
// It speaks pgx (pgxpool) directly; database/sql appears only for the few
// milliseconds goose needs it at Open. Migrations are embedded and numbered
// (migration/*.sql), as river's riverpgxv5 and wtf's sqlite do.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Store is a storage.Store on a PostgreSQL database. It is safe for
// concurrent use, and several Stores (one per hub node) may share a database.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	// migrated is the number of migrations this Open applied (0 when another
	// node had applied them); tests read it.
	migrated int
}

var _ storage.Store = (*Store)(nil)

//go:embed migration/*.sql
var migrations embed.FS

// Open connects to the database at url (a postgres:// URL or a DSN that
// pgxpool.ParseConfig accepts, pool_* parameters included), applies the
// pending migrations and returns the store. A nil logger discards.
func Open(ctx context.Context, url string, logger *slog.Logger) (_ *Store, err error) {
	defer wrapErr(&err, "open postgres store")
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// pgx prepares and caches every statement; after five executions the
	// server may switch a prepared statement to a generic plan, one made
	// without the parameter values. For the bulk statements (arrays of
	// thousands of acks, a new alert's id) that plan is blind and can be
	// a hundred times slower: RecordAcks went from 0.1 s to 15 s per 1,000
	// acks. Planning each execution costs well under a millisecond here, so
	// every statement gets a custom plan (unless the URL says otherwise).
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		// Hand every timestamptz back in UTC, whatever the server's TimeZone.
		c.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, logger: logger}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	// A write is durable when its method returns (storage.go); with
	// synchronous_commit off the server acknowledges commits before they
	// reach the disk. The store does not override the server's choice (it
	// may be remote_apply, stronger than on) but says so.
	var syncCommit string
	if err := pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&syncCommit); err == nil && syncCommit == "off" {
		logger.Warn("synchronous_commit is off: acknowledged writes can be lost in a crash")
	}
	return s, nil
}

// migrate applies the embedded migrations.
//
// Why goose: its Provider API takes an fs.FS (our embed.FS), needs no global
// state, and its lock.NewPostgresSessionLocker holds a session-level advisory
// lock around "read the version table, apply what is missing", so hub nodes
// that start together against a fresh database do not race: one migrates,
// the others wait, re-read the version table and find nothing to do. Each
// migration runs in its own transaction. river's own migrator is tied to
// river's tables and golang-migrate's lock is per-driver and global; goose is
// the smallest piece that does exactly this.
func (s *Store) migrate(ctx context.Context) (err error) {
	defer wrapErr(&err, "migrate")
	fsys, err := fs.Sub(migrations, "migration")
	if err != nil {
		return err
	}
	// Retry the lock every second (goose's minimum) for up to five minutes:
	// a node that lost the race waits for the winner instead of failing.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(s.logger.With(slog.String("component", "goose"))),
	)
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return err
	}
	// goose logs each applied step through the logger (WithSlog).
	s.migrated = len(res)
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for the connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is what pgxpool.Pool, pgxpool.Conn and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction and commits it. A deadlock or serialization
// failure (the server aborted the transaction; nothing was written) is
// retried a few times, so fn must not change the caller's state: callers
// copy results out after inTx returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == 3 || !retryable(err) {
			return err
		}
		s.logger.Warn("retrying transaction", slog.Int("attempt", attempt), slog.Any("err", err))
	}
}

// retryable tells whether the server aborted a transaction that may succeed
// when run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", // serialization_failure
		"40P01": // deadlock_detected
		return true
	}
	return false
}

// eventCTE takes the next seq and appends the event, as the first two parts
// of a statement whose last part writes the record that carries the seq
// (reading it from "e"). Its parameters are $1 to $6 (see eventArgs).
//
// Seq order equals visibility order. A reader asks for "seq > N" and never
// looks below N again, so seq N+1 must not be visible to anyone before seq
// N is. A PostgreSQL sequence cannot promise that: nextval is not
// transactional, so a slow transaction holding seq 5 can commit after one
// holding seq 6 is visible, and a reader that saw 6 skips 5 forever. The
// store instead keeps the last seq in a single row and increments it with
// UPDATE ... RETURNING inside the transaction that writes the event:
//
//   - The UPDATE takes the row lock and holds it until commit, so event
//     writers take seqs one at a time; the next writer's UPDATE waits on our
//     transaction id and proceeds (reading our new value, under READ
//     COMMITTED) only after our commit is visible. So seq N+1 commits after
//     seq N is visible, and every snapshot that sees N+1 also sees N.
//   - A transaction that rolls back rolls back its increment: seqs have no
//     gaps and are never reused, and LatestSeq is simply the row's value.
//
// The price is that event writers are serialized for the tail of their
// transaction (this statement and the commit's WAL flush, about a
// millisecond), which is why every caller makes this its LAST statement: all
// the heavy work (50,000 delivery rows, SMS rows, validation) happens before,
// in parallel with other writers, and only the append waits. Events are
// alerts, cancels, bulletins and reports, tens per minute in a flood, far
// below the hundreds per second this allows. A watermark scheme (readers stop
// at the lowest in-flight seq) would let writers overlap but needs every
// reader to know the in-flight set; the counter keeps readers trivial and is
// correct by construction. TestSeqVisibilityOrder hammers it.
const eventCTE = `WITH s AS (
	UPDATE seq_counter SET value = value + 1 RETURNING value
), e AS (
	INSERT INTO events (seq, type, alert_id, village_id, member_id, body, created_at)
	SELECT value, $1, $2, $3, $4, $5, $6 FROM s
	RETURNING seq
)
`

// addressedEventCTE is eventCTE for an addressed event (storage.Event.To,
// ToVillage; v1.6): the same first two parts, with to_village as $7 and
// the readers as $8 (a text array) written to event_members in the same
// statement. Its parameters are $1 to $8 (addressedEventArgs); the caller's
// own start at $9. The same rule holds: make it the transaction's LAST
// statement.
const addressedEventCTE = `WITH s AS (
	UPDATE seq_counter SET value = value + 1 RETURNING value
), e AS (
	INSERT INTO events (seq, type, alert_id, village_id, member_id, body, created_at, to_village)
	SELECT value, $1, $2, $3, $4, $5, $6, $7 FROM s
	RETURNING seq
), em AS (
	INSERT INTO event_members (member_id, seq)
	SELECT DISTINCT m, e.seq FROM e, unnest($8::text[]) AS m
)
`

// addressedEventArgs are the parameters $1 to $8 of addressedEventCTE.
func addressedEventArgs(ev *storage.Event) []any {
	to := ev.To
	if to == nil {
		to = []string{}
	}
	return append(eventArgs(ev), ev.ToVillage, to)
}

// appendAddressedEvent appends an addressed event inside tx and sets
// ev.Seq: for writers whose record is written by earlier statements of tx
// (this must be the last one before the commit).
func appendAddressedEvent(ctx context.Context, tx pgx.Tx, ev *storage.Event) error {
	return tx.QueryRow(ctx, addressedEventCTE+`SELECT seq FROM e`, addressedEventArgs(ev)...).Scan(&ev.Seq)
}

// eventArgs are the parameters $1 to $6 of eventCTE.
func eventArgs(ev *storage.Event) []any {
	return []any{ev.Type, ev.AlertID, ev.VillageID, ev.MemberID, jsonArg(ev.Body), ev.CreatedAt}
}

// jsonArg passes raw JSON to a json column, nil as NULL.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// mapErr turns the expected database errors into the storage sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrNotFound
	}
	// The connection broke, timed out or could not be made: the database
	// is unavailable (503), not the request wrong or the hub broken.
	if pgconn.Timeout(err) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation: an id, phone or token is taken
			return fmt.Errorf("%w: %w", storage.ErrConflict, err)
		case "23503": // foreign_key_violation: a referenced record is missing
			return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
		}
	}
	return err
}

// wrapErr maps database errors to the storage sentinels, so that
// errors.Is(err, storage.ErrNotFound) works, then prefixes the error with
// what the function was doing (errd.Wrap). Deferred in every exported method.
func wrapErr(err *error, what string) {
	if *err != nil {
		*err = mapErr(*err)
	}
	errd.Wrap(err, "postgres: "+what)
}

// nullTime is the column value of a time that is NULL when zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// derefTime is the time of a nullable column, zero for NULL.
func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
