package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// LatestSeq returns the newest seq (0 before the first event). The counter
// row is written by the same transaction as the event, so every event up to
// the value read is visible.
func (s *Store) LatestSeq(ctx context.Context) (seq int64, err error) {
	defer wrapErr(&err, "latest seq")
	err = s.pool.QueryRow(ctx, `SELECT value FROM seq_counter`).Scan(&seq)
	return seq, err
}

const eventCols = `e.seq, e.type, e.alert_id, e.village_id, e.member_id, e.body, e.created_at, e.to_village`

func scanEvent(row pgx.CollectableRow) (storage.Event, error) {
	var ev storage.Event
	var body []byte
	err := row.Scan(&ev.Seq, &ev.Type, &ev.AlertID, &ev.VillageID, &ev.MemberID, &body, &ev.CreatedAt, &ev.ToVillage)
	if len(body) > 0 {
		ev.Body = body
	}
	return ev, err
}

// EventsSince returns the events addressed to a with seq > since, in seq
// order, at most limit of them (zero or less: 1000). Who an event is
// addressed to follows storage.Audience: alert and alert_cancel to the
// members with a delivery row for the alert; bulletins to everyone
// (county-wide) or the village's members; reports to the reporter,
// commanders, admins and the cadres of the report's village; an addressed
// event to its To and, with ToVillage, to its village's members.
func (s *Store) EventsSince(ctx context.Context, a storage.Audience, since int64, limit int) (_ []storage.Event, err error) {
	defer wrapErr(&err, "events since")
	if limit <= 0 {
		limit = 1000
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events e
		WHERE e.seq > $1 AND (
			((e.type IN ('alert', 'alert_cancel') OR (e.type = 'alert_update' AND e.member_id = '')) AND EXISTS (
				SELECT 1 FROM deliveries d WHERE d.alert_id = e.alert_id AND d.member_id = $2))
			OR (e.type = 'alert_update' AND e.member_id = $2)
			OR (e.type = 'bulletin' AND (e.village_id = '' OR e.village_id = $4))
			OR (e.type = 'report' AND (
				e.member_id = $2
				OR $3 IN ('commander', 'admin')
				OR ($3 = 'cadre' AND $4 <> '' AND e.village_id = $4)))
			OR (e.to_village AND $4 <> '' AND e.village_id = $4)
			OR EXISTS (SELECT 1 FROM event_members em WHERE em.seq = e.seq AND em.member_id = $2)
		)
		ORDER BY e.seq LIMIT $5`, since, a.MemberID, string(a.Role), a.VillageID, limit)
	return pgx.CollectRows(rows, scanEvent)
}

// ActiveAlertsFor returns the alert events of the alerts active at now
// (status active and not expired) that are addressed to the member, in seq
// order.
func (s *Store) ActiveAlertsFor(ctx context.Context, memberID string, now time.Time) (_ []storage.Event, err error) {
	defer wrapErr(&err, "active alerts for")
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+`
		FROM deliveries d
		JOIN alerts a ON a.id = d.alert_id
		JOIN events e ON e.seq IN (a.seq, a.update_seq)
		WHERE d.member_id = $1 AND a.status = 'active' AND a.expires_at > $2
		ORDER BY e.seq`, memberID, now)
	return pgx.CollectRows(rows, scanEvent)
}

// AppendEvent appends an addressed event with no record of its own.
func (s *Store) AppendEvent(ctx context.Context, ev *storage.Event) (err error) {
	defer wrapErr(&err, "append event")
	if !ev.Addressed() {
		return storage.ErrNotAddressed
	}
	return s.pool.QueryRow(ctx, addressedEventCTE+`SELECT seq FROM e`, addressedEventArgs(ev)...).Scan(&ev.Seq)
}
