package sqlite

import (
	"context"
	"database/sql"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

var _ storage.Settings = (*Store)(nil)

// Setting returns a setting's value (storage.Settings).
func (s *Store) Setting(ctx context.Context, name string) (_ []byte, err error) {
	defer errd.Wrap(&err, "sqlite: setting")
	var v []byte
	err = s.readRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	return v, notFound(err, "setting "+name)
}

// PutSetting stores a setting's value (storage.Settings).
func (s *Store) PutSetting(ctx context.Context, name string, value []byte) (err error) {
	defer errd.Wrap(&err, "sqlite: put setting")
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		return err
	})
}
