package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// appendEvent inserts ev into the log inside tx and sets ev.Seq. The seq is
// the AUTOINCREMENT key: SQLite serializes write transactions (and this
// store has one writer connection), so seq order is commit order and no
// reader can see seq n before every smaller seq.
func appendEvent(ctx context.Context, tx *sql.Tx, ev *storage.Event) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO events
		(type, alert_id, village_id, member_id, body, created_at, to_village) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.Type, ev.AlertID, ev.VillageID, ev.MemberID, rawBlob(ev.Body), tv(ev.CreatedAt), ev.ToVillage)
	if err != nil {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	// An addressed event's readers (v1.6), in the same transaction.
	for _, id := range ev.To {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO event_members (member_id, seq) VALUES (?, ?)`,
			id, seq); err != nil {
			return err
		}
	}
	ev.Seq = seq
	return nil
}

const eventCols = `e.seq, e.type, e.alert_id, e.village_id, e.member_id, e.body, e.created_at, e.to_village`

func scanEvents(rows *sql.Rows) ([]storage.Event, error) {
	defer rows.Close()
	out := []storage.Event{}
	for rows.Next() {
		var e storage.Event
		if err := rows.Scan(&e.Seq, &e.Type, &e.AlertID, &e.VillageID, &e.MemberID,
			rawCol{&e.Body}, timeCol{&e.CreatedAt}, &e.ToVillage); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LatestSeq returns the newest seq, 0 when the log is empty.
func (s *Store) LatestSeq(ctx context.Context) (seq int64, err error) {
	defer errd.Wrap(&err, "sqlite: latest seq")
	err = s.readRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&seq)
	return seq, err
}

// EventsSince returns the events addressed to a with seq > since, in seq
// order, at most limit of them (storage.Audience has the rules). A limit of
// zero or less means 1000.
func (s *Store) EventsSince(ctx context.Context, a storage.Audience, since int64, limit int) (_ []storage.Event, err error) {
	defer errd.Wrap(&err, "sqlite: events since")
	if limit <= 0 {
		limit = 1000
	}
	seesAllReports := a.Role == storage.RoleCommander || a.Role == storage.RoleAdmin
	cadreVillage := "" // matches no report village when not a cadre
	if a.Role == storage.RoleCadre {
		cadreVillage = a.VillageID
	}
	// One indexed branch per audience rule; IN removes an event that two
	// branches find (a cadre's own report in its village).
	var out []storage.Event
	err = s.consistentRead(ctx, func() error {
		rows, err := s.readRows(ctx, `SELECT `+eventCols+` FROM events e WHERE e.seq IN (
			SELECT ev.seq FROM deliveries d JOIN events ev ON ev.alert_id = d.alert_id
				WHERE d.member_id = :member AND ev.seq > :since
				AND (ev.type IN ('alert', 'alert_cancel') OR (ev.type = 'alert_update' AND ev.member_id = ''))
			UNION ALL
			SELECT seq FROM events WHERE type = 'alert_update' AND member_id = :member AND seq > :since
			UNION ALL
			SELECT seq FROM events WHERE type = 'bulletin' AND village_id = '' AND seq > :since
			UNION ALL
			SELECT seq FROM events WHERE type = 'bulletin' AND :village <> '' AND village_id = :village AND seq > :since
			UNION ALL
			SELECT seq FROM events WHERE type = 'report' AND member_id = :member AND seq > :since
			UNION ALL
			SELECT seq FROM events WHERE type = 'report' AND :all AND seq > :since
			UNION ALL
			SELECT seq FROM events WHERE type = 'report' AND :cadre <> '' AND village_id = :cadre AND seq > :since
			UNION ALL
			SELECT seq FROM events WHERE to_village = 1 AND :village <> '' AND village_id = :village AND seq > :since
			UNION ALL
			SELECT seq FROM event_members WHERE member_id = :member AND seq > :since
		)
		ORDER BY e.seq LIMIT :limit`,
			sql.Named("since", since), sql.Named("member", a.MemberID), sql.Named("village", a.VillageID),
			sql.Named("all", seesAllReports), sql.Named("cadre", cadreVillage), sql.Named("limit", limit))
		if err != nil {
			return err
		}
		out, err = scanEvents(rows)
		return err
	})
	return out, err
}

// ActiveAlertsFor returns the alert events of the alerts addressed to the
// member that are active at now (status active and ExpiresAt after now), in
// seq order.
func (s *Store) ActiveAlertsFor(ctx context.Context, memberID string, now time.Time) (_ []storage.Event, err error) {
	defer errd.Wrap(&err, "sqlite: active alerts for")
	var out []storage.Event
	err = s.consistentRead(ctx, func() error {
		rows, err := s.readRows(ctx, `SELECT `+eventCols+`
		FROM deliveries d
		JOIN alerts a ON a.id = d.alert_id
		JOIN events e ON e.seq IN (a.seq, a.update_seq)
		WHERE d.member_id = ? AND a.status = 'active' AND a.expires_at > ?
		ORDER BY e.seq`, memberID, now.UnixMicro())
		if err != nil {
			return err
		}
		out, err = scanEvents(rows)
		return err
	})
	return out, err
}

// AppendEvent appends an addressed event with no record of its own.
func (s *Store) AppendEvent(ctx context.Context, ev *storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: append event")
	if !ev.Addressed() {
		return storage.ErrNotAddressed
	}
	return s.write(ctx, func(tx *sql.Tx) error { return appendEvent(ctx, tx, ev) })
}
