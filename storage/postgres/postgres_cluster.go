package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// EventsAfter returns every event with seq > since, in seq order, at most
// limit of them (zero or less: 1000), whoever they are addressed to: a
// node's catch-up read. Seq order is visibility order (the counter row), so
// when it returns seq N every event before N is in the answer or earlier.
func (s *Store) EventsAfter(ctx context.Context, since int64, limit int) (_ []storage.Event, err error) {
	defer wrapErr(&err, "events after")
	if limit <= 0 {
		limit = 1000
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events e
		WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`, since, limit)
	evs, err := pgx.CollectRows(rows, scanEvent)
	if err != nil || len(evs) == 0 {
		return evs, err
	}
	// The readers of the addressed events among them (a node routes them
	// by their To).
	rows, _ = s.pool.Query(ctx, `SELECT seq, member_id FROM event_members
		WHERE seq > $1 AND seq <= $2 ORDER BY seq, member_id`, since, evs[len(evs)-1].Seq)
	type reader struct {
		Seq int64
		ID  string
	}
	rs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[reader])
	if err != nil {
		return nil, err
	}
	storage.AttachReaders(evs, func(yield func(int64, string) bool) {
		for _, r := range rs {
			if !yield(r.Seq, r.ID) {
				return
			}
		}
	})
	return evs, nil
}

// TargetsAmong returns those of members the alert is addressed to (each
// once, in no particular order): how a node finds its own recipients of an
// alert accepted elsewhere without the whole target list crossing the
// network.
func (s *Store) TargetsAmong(ctx context.Context, alertID string, members []string) (_ []string, err error) {
	defer wrapErr(&err, "targets among")
	if len(members) == 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT member_id FROM deliveries
		WHERE alert_id = $1 AND member_id = ANY($2::text[])`, alertID, members)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
