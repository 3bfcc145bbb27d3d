package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// migrations are the numbered schema steps, embedded so the binary carries
// its schema (wtf sqlite/sqlite.go, river riversqlite/migration/).
//
//go:embed migration/*.sql
var migrations embed.FS

// migrate applies the pending migrations.
//
// Why goose: it records applied versions in a table (goose_db_version) so
// running it again is a no-op, runs each step in its own transaction, reads
// plain numbered .sql files that a person can review and run by hand, and
// its Provider API takes an fs.FS and a *sql.DB without any global state, so
// the PostgreSQL backend uses the same tool over its own folder.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	_, err := applyMigrations(ctx, db, logger)
	return err
}

// applyMigrations is migrate that also returns the versions it applied.
func applyMigrations(ctx context.Context, db *sql.DB, logger *slog.Logger) ([]int64, error) {
	sub, err := fs.Sub(migrations, "migration")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithSlog(logger),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, err
	}
	// goose logs each applied step through logger (WithSlog).
	versions := make([]int64, 0, len(res))
	for _, r := range res {
		versions = append(versions, r.Source.Version)
	}
	return versions, nil
}
