package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Patrol rounds, visits, emergency periods and tallies (storage.Patrol,
// v1.6).

var _ storage.Patrol = (*Store)(nil)

const roundCols = `id, member_id, village_id, kind, started_at, ended_at, summary, points, distance_m,
	last_lat, last_lng, last_at, reports`

func scanRound(sc interface{ Scan(...any) error }) (storage.Round, error) {
	var r storage.Round
	var lat, lng sql.NullFloat64
	var lastAt *time.Time
	err := sc.Scan(&r.ID, &r.MemberID, &r.VillageID, &r.Kind, timeCol{&r.StartedAt}, timePtrCol{&r.EndedAt}, &r.Summary,
		&r.Points, &r.DistanceM, &lat, &lng, timePtrCol{&lastAt}, &r.Reports)
	if lat.Valid && lng.Valid && lastAt != nil {
		r.Last = &storage.TrackPoint{Lat: lat.Float64, Lng: lng.Float64, At: *lastAt}
	}
	return r, err
}

// idsArg is the json_each argument of a list of ids.
func idsArg(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// StartRound stores an open round.
func (s *Store) StartRound(ctx context.Context, r *storage.Round, ev *storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: start round")
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rounds (id, member_id, village_id, kind, started_at)
			VALUES (?, ?, ?, ?, ?)`, r.ID, r.MemberID, r.VillageID, r.Kind, tv(r.StartedAt)); err != nil {
			return mapErr(err)
		}
		return appendOptionalEvent(ctx, tx, ev)
	})
}

// appendOptionalEvent appends ev, when not nil, inside tx.
func appendOptionalEvent(ctx context.Context, tx *sql.Tx, ev *storage.Event) error {
	if ev == nil {
		return nil
	}
	if !ev.Addressed() {
		return storage.ErrNotAddressed
	}
	return appendEvent(ctx, tx, ev)
}

// OpenRound returns the member's open round.
func (s *Store) OpenRound(ctx context.Context, memberID string) (_ storage.Round, ok bool, err error) {
	defer errd.Wrap(&err, "sqlite: open round")
	r, err := scanRound(s.readRow(ctx, `SELECT `+roundCols+` FROM rounds WHERE member_id = ? AND ended_at IS NULL`, memberID))
	if err == sql.ErrNoRows {
		return storage.Round{}, false, nil
	}
	return r, err == nil, err
}

// AddTrackPoint appends a point to an open round.
func (s *Store) AddTrackPoint(ctx context.Context, id string, p storage.TrackPoint, distM float64, maxPoints int) (added bool, err error) {
	defer errd.Wrap(&err, "sqlite: add track point")
	err = s.write(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `UPDATE rounds SET points = points + 1, distance_m = distance_m + ?,
			last_lat = ?, last_lng = ?, last_at = ? WHERE id = ? AND ended_at IS NULL AND points < ? RETURNING points`,
			distM, p.Lat, p.Lng, tv(p.At), id, maxPoints).Scan(&n)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO round_points (round_id, n, lat, lng, at) VALUES (?, ?, ?, ?, ?)`,
			id, n, p.Lat, p.Lng, tv(p.At))
		added = err == nil
		return err
	})
	return added, err
}

// EndRound ends an open round and links its reports.
func (s *Store) EndRound(ctx context.Context, id string, at time.Time, summary string, mkEvent func(storage.Round) *storage.Event) (_ storage.Round, err error) {
	defer errd.Wrap(&err, "sqlite: end round")
	err = s.write(ctx, func(tx *sql.Tx) error {
		r, err := scanRound(tx.QueryRowContext(ctx, `SELECT `+roundCols+` FROM rounds WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "round "+id)
		}
		if r.EndedAt != nil {
			return fmt.Errorf("round %s has ended: %w", id, storage.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO round_reports (round_id, report_id)
			SELECT ?, id FROM reports WHERE member_id = ? AND created_at >= ? AND created_at <= ?`,
			id, r.MemberID, tv(r.StartedAt), tv(at)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rounds SET ended_at = ?, summary = ?,
			reports = (SELECT count(*) FROM round_reports WHERE round_id = ?) WHERE id = ?`, tv(at), summary, id, id); err != nil {
			return err
		}
		if mkEvent == nil {
			return nil
		}
		ended, err := scanRound(tx.QueryRowContext(ctx, `SELECT `+roundCols+` FROM rounds WHERE id = ?`, id))
		if err != nil {
			return err
		}
		return appendOptionalEvent(ctx, tx, mkEvent(ended))
	})
	if err != nil {
		return storage.Round{}, err
	}
	return s.GetRound(ctx, id)
}

// GetRound returns a round.
func (s *Store) GetRound(ctx context.Context, id string) (_ storage.Round, err error) {
	defer errd.Wrap(&err, "sqlite: get round")
	r, err := scanRound(s.readRow(ctx, `SELECT `+roundCols+` FROM rounds WHERE id = ?`, id))
	if err != nil {
		return storage.Round{}, notFound(err, "round "+id)
	}
	return r, nil
}

// RoundTrack returns a round's track.
func (s *Store) RoundTrack(ctx context.Context, id string) (_ []storage.TrackPoint, err error) {
	defer errd.Wrap(&err, "sqlite: round track")
	rows, err := s.readRows(ctx, `SELECT lat, lng, at FROM round_points WHERE round_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.TrackPoint{}
	for rows.Next() {
		var p storage.TrackPoint
		if err := rows.Scan(&p.Lat, &p.Lng, timeCol{&p.At}); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RoundReports returns the reports linked to a round.
func (s *Store) RoundReports(ctx context.Context, id string) (_ []string, err error) {
	defer errd.Wrap(&err, "sqlite: round reports")
	rows, err := s.readRows(ctx, `SELECT report_id FROM round_reports WHERE round_id = ? ORDER BY report_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ListRounds returns rounds newest first.
func (s *Store) ListRounds(ctx context.Context, f storage.RoundFilter) (_ []storage.Round, err error) {
	defer errd.Wrap(&err, "sqlite: list rounds")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	where := []string{"1=1"}
	var args []any
	if f.MemberID != "" {
		where, args = append(where, "member_id = ?"), append(args, f.MemberID)
	}
	if f.VillageIDs != nil {
		where, args = append(where, "village_id IN (SELECT value FROM json_each(?))"), append(args, idsArg(f.VillageIDs))
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if !f.From.IsZero() {
		where, args = append(where, "started_at >= ?"), append(args, tv(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "started_at < ?"), append(args, tv(f.To))
	}
	if f.Before != "" {
		where = append(where, "(started_at, id) < (SELECT started_at, id FROM rounds WHERE id = ?)")
		args = append(args, f.Before)
	}
	args = append(args, f.Limit)
	rows, err := s.readRows(ctx, `SELECT `+roundCols+` FROM rounds WHERE `+strings.Join(where, " AND ")+
		` ORDER BY started_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Round{}
	for rows.Next() {
		r, err := scanRound(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EraseTracks deletes the track points of a member's rounds.
func (s *Store) EraseTracks(ctx context.Context, memberID string) (n int, err error) {
	defer errd.Wrap(&err, "sqlite: erase tracks")
	err = s.write(ctx, func(tx *sql.Tx) error {
		if n, err = execN(ctx, tx, `DELETE FROM round_points WHERE round_id IN (SELECT id FROM rounds WHERE member_id = ?)`,
			memberID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE rounds SET last_lat = NULL, last_lng = NULL, last_at = NULL
			WHERE member_id = ? AND last_at IS NOT NULL`, memberID)
		return err
	})
	return n, err
}

const visitCols = `id, household_id, village_id, member_id, round_id, note, photos, at`

func scanVisit(sc interface{ Scan(...any) error }) (storage.Visit, error) {
	var v storage.Visit
	var photos string
	if err := sc.Scan(&v.ID, &v.HouseholdID, &v.VillageID, &v.MemberID, &v.RoundID, &v.Note, &photos, timeCol{&v.At}); err != nil {
		return v, err
	}
	return v, json.Unmarshal([]byte(photos), &v.Photos)
}

// AddVisit stores a visit.
func (s *Store) AddVisit(ctx context.Context, v *storage.Visit, ev *storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: add visit")
	photos := v.Photos
	if photos == nil {
		photos = []string{}
	}
	pj, err := json.Marshal(photos)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO visits (`+visitCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ID, v.HouseholdID, v.VillageID, v.MemberID, v.RoundID, v.Note, string(pj), tv(v.At)); err != nil {
			return mapErr(err)
		}
		// The photos are the visit's now: no longer orphan uploads.
		if _, err := tx.ExecContext(ctx, `UPDATE media SET report_id = ?
			WHERE report_id IS NULL AND id IN (SELECT value FROM json_each(?))`, v.ID, string(pj)); err != nil {
			return err
		}
		return appendOptionalEvent(ctx, tx, ev)
	})
}

// ListVisits returns a household's visits newest first.
func (s *Store) ListVisits(ctx context.Context, householdID string, limit int) (_ []storage.Visit, err error) {
	defer errd.Wrap(&err, "sqlite: list visits")
	if limit <= 0 {
		limit = 100
	}
	return s.visits(ctx, `SELECT `+visitCols+` FROM visits WHERE household_id = ? ORDER BY at DESC, id DESC LIMIT ?`,
		householdID, limit)
}

func (s *Store) visits(ctx context.Context, q string, args ...any) ([]storage.Visit, error) {
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Visit{}
	for rows.Next() {
		v, err := scanVisit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// LastVisits returns each household's last visit.
func (s *Store) LastVisits(ctx context.Context, householdIDs []string) (_ map[string]storage.Visit, err error) {
	defer errd.Wrap(&err, "sqlite: last visits")
	vs, err := s.visits(ctx, `SELECT `+visitCols+` FROM (SELECT *, row_number() OVER (PARTITION BY household_id
		ORDER BY at DESC, id DESC) AS rn FROM visits WHERE household_id IN (SELECT value FROM json_each(?))) WHERE rn = 1`,
		idsArg(householdIDs))
	if err != nil {
		return nil, err
	}
	out := make(map[string]storage.Visit, len(vs))
	for _, v := range vs {
		out[v.HouseholdID] = v
	}
	return out, nil
}

// VisitHasPhoto reports whether a visit of villageID carries mediaID.
func (s *Store) VisitHasPhoto(ctx context.Context, mediaID, villageID string) (ok bool, err error) {
	defer errd.Wrap(&err, "sqlite: visit photo")
	err = s.readRow(ctx, `SELECT EXISTS (SELECT 1 FROM visits v, json_each(v.photos) p
		WHERE v.village_id = ? AND p.value = ?)`, villageID, mediaID).Scan(&ok)
	return ok, err
}

// CreateEmergency stores an emergency period.
func (s *Store) CreateEmergency(ctx context.Context, e *storage.Emergency) (err error) {
	defer errd.Wrap(&err, "sqlite: create emergency")
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO emergencies (id, name, from_at, to_at, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, e.ID, e.Name, tv(e.From), tv(e.To), e.CreatedBy, tv(e.CreatedAt))
		return mapErr(err)
	})
}

const emergencyCols = `id, name, from_at, to_at, created_by, created_at`

func scanEmergency(sc interface{ Scan(...any) error }) (storage.Emergency, error) {
	var e storage.Emergency
	err := sc.Scan(&e.ID, &e.Name, timeCol{&e.From}, timeCol{&e.To}, &e.CreatedBy, timeCol{&e.CreatedAt})
	return e, err
}

// GetEmergency returns an emergency period.
func (s *Store) GetEmergency(ctx context.Context, id string) (_ storage.Emergency, err error) {
	defer errd.Wrap(&err, "sqlite: get emergency")
	e, err := scanEmergency(s.readRow(ctx, `SELECT `+emergencyCols+` FROM emergencies WHERE id = ?`, id))
	return e, notFound(err, "emergency "+id)
}

// ListEmergencies returns the emergency periods, newest first.
func (s *Store) ListEmergencies(ctx context.Context) (_ []storage.Emergency, err error) {
	defer errd.Wrap(&err, "sqlite: list emergencies")
	rows, err := s.readRows(ctx, `SELECT `+emergencyCols+` FROM emergencies ORDER BY from_at DESC, id DESC LIMIT 1000`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Emergency{}
	for rows.Next() {
		e, err := scanEmergency(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Tallies counts reports, notices, rounds and visits per village.
func (s *Store) Tallies(ctx context.Context, from, to time.Time, villageIDs []string) (_ map[string]storage.Tally, err error) {
	defer errd.Wrap(&err, "sqlite: tallies")
	in, all := idsArg(villageIDs), villageIDs == nil
	part := func(table, col string) string {
		return `SELECT village_id, count(*) FROM ` + table + ` WHERE ` + col + ` >= ? AND ` + col + ` < ?
			AND (? OR village_id IN (SELECT value FROM json_each(?))) GROUP BY village_id`
	}
	q := `SELECT 0, * FROM (` + part("reports", "created_at") + `) UNION ALL SELECT 1, * FROM (` + part("bulletins", "published_at") +
		`) UNION ALL SELECT 2, * FROM (` + part("rounds", "started_at") + `) UNION ALL SELECT 3, * FROM (` + part("visits", "at") + `)`
	var args []any
	for range 4 {
		args = append(args, tv(from), tv(to), all, in)
	}
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]storage.Tally{}
	for rows.Next() {
		var what, n int
		var v string
		if err := rows.Scan(&what, &v, &n); err != nil {
			return nil, err
		}
		t := out[v]
		switch what {
		case 0:
			t.Reports = n
		case 1:
			t.Notices = n
		case 2:
			t.Rounds = n
		case 3:
			t.Visits = n
		}
		out[v] = t
	}
	return out, rows.Err()
}

// PatrolDays counts rounds and visits per day in UTC+8.
func (s *Store) PatrolDays(ctx context.Context, from, to time.Time, villageIDs []string) (_ []storage.DayCount, err error) {
	defer errd.Wrap(&err, "sqlite: patrol days")
	in, all := idsArg(villageIDs), villageIDs == nil
	day := func(col string) string { return `date(` + col + ` / 1000000 + 28800, 'unixepoch')` }
	part := func(table, col string) string {
		return `SELECT ` + day(col) + ` AS d, count(*) AS n FROM ` + table + ` WHERE ` + col + ` >= ? AND ` + col + ` < ?
			AND (? OR village_id IN (SELECT value FROM json_each(?))) GROUP BY d`
	}
	rows, err := s.readRows(ctx, `SELECT d, sum(r), sum(v) FROM (SELECT d, n AS r, 0 AS v FROM (`+part("rounds", "started_at")+
		`) UNION ALL SELECT d, 0, n FROM (`+part("visits", "at")+`)) GROUP BY d ORDER BY d`,
		tv(from), tv(to), all, in, tv(from), tv(to), all, in)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.DayCount{}
	for rows.Next() {
		var d storage.DayCount
		if err := rows.Scan(&d.Date, &d.Rounds, &d.Visits); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
