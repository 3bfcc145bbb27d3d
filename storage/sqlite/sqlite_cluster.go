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
	return scanEvents(rows)
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
