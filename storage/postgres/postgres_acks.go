package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/longyou/hub/storage"
)

// AckHistory lists the kept answers of a member to an alert, oldest first.
func (s *Store) AckHistory(ctx context.Context, alertID, memberID string) (_ []storage.Ack, err error) {
	defer wrapErr(&err, "ack history")
	rows, _ := s.pool.Query(ctx, `SELECT response, eta_min, note, at, by_id FROM acks
		WHERE alert_id = $1 AND member_id = $2 ORDER BY id`, alertID, memberID)
	var out []storage.Ack
	var a storage.Ack
	var eta pgtype.Int4
	_, err = pgx.ForEachRow(rows, []any{&a.Response, &eta, &a.Note, &a.At, &a.By}, func() error {
		x := storage.Ack{AlertID: alertID, MemberID: memberID, Response: a.Response, Note: a.Note, At: a.At.UTC(), By: a.By}
		if eta.Valid {
			n := int(eta.Int32)
			x.EtaMin = &n
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// MediaInfo reads a media row's metadata, not its bytes.
func (s *Store) MediaInfo(ctx context.Context, id string) (_ storage.Media, err error) {
	defer wrapErr(&err, "media info")
	var m storage.Media
	err = s.pool.QueryRow(ctx, `SELECT id, content_type, size, owner_id, created_at
		FROM media WHERE id = $1`, id).Scan(&m.ID, &m.ContentType, &m.Size, &m.OwnerID, &m.CreatedAt)
	if err != nil {
		return storage.Media{}, err
	}
	return m, nil
}
