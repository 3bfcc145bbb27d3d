// Package sqlite is the embedded storage.Store: one SQLite file, written
// through a single connection and read through a pool.
//
// SQLite allows one writer at a time. Rather than let several connections
// race for the write lock and retry on SQLITE_BUSY, every write goes through
// one connection (a database/sql pool with MaxOpenConns 1), so writers queue
// in Go, in order, and a write transaction never waits on SQLite's lock. Reads
// use a separate pool of read-only connections: in WAL mode they see the last
// committed state and never wait behind the writer queue.
//
// Because writers are serialized, the seq of an event (the AUTOINCREMENT key
// of the events table, assigned inside the writing transaction) is also the
// order in which transactions commit: when a reader sees seq n, every event
// with a smaller seq is already visible. That is the property resume relies
// on (storage.go: "seq order equals visibility order").
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

var _ storage.Store = (*Store)(nil)

// Store is the SQLite storage.Store. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // the one writer connection
	r      *sql.DB // read-only connections
	reads  stmtCache
	logger *slog.Logger

	// deferred: big alerts whose delivery rows are still being written
	// (sqlite_deferred.go); deferMin is the size from which they are.
	deferred *deferred
	deferMin int
	// beforeMaterialize, when set (tests), runs before each deferred alert
	// is materialized.
	beforeMaterialize func(alertID string)

	started bool // the materializer runs

	// ck is the checkpointer's connection (checkpoint.go).
	ck        *sql.DB
	ckStop    chan struct{}
	ckDone    chan struct{}
	pageSize  int
	closeOnce sync.Once
	closeErr  error
}

// busyTimeoutMS bounds how long a connection waits for a lock SQLite holds
// briefly outside our control (a WAL checkpoint, another process such as the
// sqlite3 shell). Our own writers never contend: they share one connection.
const busyTimeoutMS = 10000

// Open opens (creating if needed) the database file at path, creating the
// folder holding it if missing, and applies the pending migrations.
func Open(ctx context.Context, path string, logger *slog.Logger) (_ *Store, err error) {
	defer errd.Wrap(&err, "sqlite: open "+path)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("invalid database path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}

	// Writer: WAL so readers never block it nor it them; synchronous=FULL so
	// that a commit is fsynced to the WAL before it returns (NORMAL would
	// only be safe against a process crash, not a power cut); BEGIN
	// IMMEDIATE so a transaction holds the write lock from its start, which
	// matters only if another process writes the file.
	wq := url.Values{}
	wq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(FULL)")
	wq.Add("_pragma", "foreign_keys(1)")
	wq.Add("_pragma", "cache_size(-32000)") // 32 MB: big alerts touch many pages
	wq.Add("_pragma", "temp_store(MEMORY)")
	wq.Add("_pragma", "wal_autocheckpoint(0)") // checkpoints run in the background (checkpoint.go)
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, logger: logger, deferred: newDeferred(), deferMin: deferTargetsMin}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, err
	}
	if !strings.EqualFold(mode, "wal") {
		return nil, fmt.Errorf("journal_mode is %q, not wal (is the folder on a local file system?)", mode)
	}
	if err := migrate(ctx, w, logger); err != nil {
		return nil, err
	}

	// Readers: query_only, so a bug cannot write around the writer queue.
	rq := url.Values{}
	rq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	rq.Add("_pragma", "foreign_keys(1)")
	rq.Add("_pragma", "temp_store(MEMORY)")
	rq.Set("_query_only", "1")
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		return nil, err
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	s.reads.db = r
	if err := r.PingContext(ctx); err != nil {
		return nil, err
	}
	if err := s.recoverDeferred(ctx); err != nil {
		return nil, err
	}
	if err := s.startCheckpointer(ctx, path); err != nil {
		return nil, err
	}
	s.started = true
	go s.materializer()
	logger.Info("sqlite store open", slog.String("path", path))
	return s, nil
}

// startCheckpointer opens the checkpointer's connection and starts it.
func (s *Store) startCheckpointer(ctx context.Context, path string) error {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "synchronous(FULL)") // the checkpoint fsyncs the database file
	ck, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return err
	}
	ck.SetMaxOpenConns(1)
	ck.SetConnMaxLifetime(0)
	ck.SetConnMaxIdleTime(0)
	if err := ck.QueryRowContext(ctx, "PRAGMA page_size").Scan(&s.pageSize); err != nil {
		ck.Close()
		return err
	}
	s.ck, s.ckStop, s.ckDone = ck, make(chan struct{}), make(chan struct{})
	go s.checkpointer(ck, s.ckStop, s.ckDone)
	return nil
}

// Ping checks that the file can be read (the schema version lives in its
// header). It uses the read pool, so a readiness probe does not queue
// behind a big write.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer errd.Wrap(&err, "sqlite: ping")
	var v int64
	return s.r.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&v)
}

// Close closes both pools. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.started {
			close(s.deferred.stop)
			<-s.deferred.done
		}
		if s.ck != nil {
			close(s.ckStop)
			<-s.ckDone
			errs = append(errs, s.ck.Close())
		}
		s.reads.close()
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			// Let SQLite refresh the statistics its planner uses, as it
			// recommends before closing a long-lived connection; cheap
			// when nothing changed much, and never worth failing Close.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, _ = s.w.ExecContext(ctx, "PRAGMA optimize")
			cancel()
			errs = append(errs, s.w.Close())
		}
		s.closeErr = errors.Join(errs...)
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// write runs fn in one write transaction on the writer connection and
// commits it. With synchronous=FULL the commit is on disk when write returns
// nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// read runs fn in one read transaction, so that its queries see one
// snapshot.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// mapErr turns constraint violations into the storage sentinels: a unique or
// primary key that is taken is storage.ErrConflict, a reference to a record
// that does not exist is storage.ErrNotFound. The SQLite error stays in the
// chain.
func mapErr(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", storage.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	}
	return err
}

// notFound maps sql.ErrNoRows to storage.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	}
	return err
}
