package sqlite

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// EventsAfter returns every event with seq > since, in seq order, at most
// limit of them (zero or less: 1000), whoever they are addressed to: the
// node's catch-up read.
func (s *Store) EventsAfter(ctx context.Context, since int64, limit int) (_ []storage.Event, err error) {
	defer errd.Wrap(&err, "sqlite: events after")
	if limit <= 0 {
		limit = 1000
	}
	// Events only: no delivery rows are read, so no settling is needed.
	rows, err := s.readRows(ctx, `SELECT `+eventCols+` FROM events e
		WHERE e.seq > ? ORDER BY e.seq LIMIT ?`, since, limit)
	if err != nil {
		return nil, err
	}
	evs, err := scanEvents(rows)
	if err != nil || len(evs) == 0 {
		return evs, err
	}
	// The readers of the addressed events among them (a node routes them
	// by their To). They were committed with their events, so every event
	// read above has all of its rows.
	rows, err = s.readRows(ctx, `SELECT seq, member_id FROM event_members
		WHERE seq > ? AND seq <= ? ORDER BY seq, member_id`, since, evs[len(evs)-1].Seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type reader struct {
		seq int64
		id  string
	}
	var rs []reader
	for rows.Next() {
		var r reader
		if err := rows.Scan(&r.seq, &r.id); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	storage.AttachReaders(evs, func(yield func(int64, string) bool) {
		for _, r := range rs {
			if !yield(r.seq, r.id) {
				return
			}
		}
	})
	return evs, nil
}

// TargetsAmong returns those of members the alert is addressed to, each
// once.
func (s *Store) TargetsAmong(ctx context.Context, alertID string, members []string) (_ []string, err error) {
	defer errd.Wrap(&err, "sqlite: targets among")
	if len(members) == 0 {
		return nil, nil
	}
	if err := s.settle(ctx, alertID); err != nil {
		return nil, err
	}
	ids, err := json.Marshal(slices.Compact(slices.Sorted(slices.Values(members))))
	if err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT d.member_id FROM json_each(?) j
		JOIN deliveries d ON d.alert_id = ? AND d.member_id = j.value`, string(ids), alertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
