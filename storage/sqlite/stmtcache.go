package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the read statement cache; the store's read queries
// are a fixed set of texts, so this is never reached in practice.
const maxCachedStmts = 256

// stmtCache keeps prepared read statements. Without it every read parses
// its SQL again: on the connect path (token lookup, latest seq, active
// alerts) SQLite's parser was a fifth of the hub's CPU in profiles.
// database/sql prepares each statement once per pooled connection.
type stmtCache struct {
	db *sql.DB

	mu    sync.Mutex // guards stmts
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*sql.Stmt)
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	c.stmts = nil
}

// readRow runs a one-row read query through the statement cache.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, err := s.reads.get(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, query, args...)
}

// readRows runs a read query through the statement cache.
func (s *Store) readRows(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.reads.get(ctx, query)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.r.QueryContext(ctx, query, args...)
}
