package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

var _ storage.Settings = (*Store)(nil)

// Setting returns a setting's value (storage.Settings).
func (s *Store) Setting(ctx context.Context, name string) (_ []byte, err error) {
	defer wrapErr(&err, "setting")
	var v []byte
	err = s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound("setting", name)
	}
	return v, err
}

// PutSetting stores a setting's value (storage.Settings).
func (s *Store) PutSetting(ctx context.Context, name string, value []byte) (err error) {
	defer wrapErr(&err, "put setting")
	_, err = s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}
