package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Patrol rounds, visits, emergency periods and tallies (storage.Patrol,
// v1.6).

var _ storage.Patrol = (*Store)(nil)

const roundCols = `id, member_id, village_id, kind, started_at, ended_at, summary, points, distance_m,
	last_lat, last_lng, last_at, reports`

func scanRound(row pgx.Row) (storage.Round, error) {
	var r storage.Round
	var lat, lng *float64
	var lastAt *time.Time
	err := row.Scan(&r.ID, &r.MemberID, &r.VillageID, &r.Kind, &r.StartedAt, &r.EndedAt, &r.Summary,
		&r.Points, &r.DistanceM, &lat, &lng, &lastAt, &r.Reports)
	r.StartedAt = r.StartedAt.UTC()
	if r.EndedAt != nil {
		t := r.EndedAt.UTC()
		r.EndedAt = &t
	}
	if lat != nil && lng != nil && lastAt != nil {
		r.Last = &storage.TrackPoint{Lat: *lat, Lng: *lng, At: lastAt.UTC()}
	}
	return r, err
}

// StartRound stores an open round.
func (s *Store) StartRound(ctx context.Context, r *storage.Round, ev *storage.Event) (err error) {
	defer wrapErr(&err, "start round")
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO rounds (id, member_id, village_id, kind, started_at)
			VALUES ($1, $2, $3, $4, $5)`, r.ID, r.MemberID, r.VillageID, r.Kind, r.StartedAt); err != nil {
			return err
		}
		return appendOptionalEvent(ctx, tx, ev)
	})
}

// appendOptionalEvent appends ev, when not nil, as the last statement of
// tx.
func appendOptionalEvent(ctx context.Context, tx pgx.Tx, ev *storage.Event) error {
	if ev == nil {
		return nil
	}
	if !ev.Addressed() {
		return storage.ErrNotAddressed
	}
	return appendAddressedEvent(ctx, tx, ev)
}

// OpenRound returns the member's open round.
func (s *Store) OpenRound(ctx context.Context, memberID string) (_ storage.Round, ok bool, err error) {
	defer wrapErr(&err, "open round")
	r, err := scanRound(s.pool.QueryRow(ctx, `SELECT `+roundCols+` FROM rounds WHERE member_id = $1 AND ended_at IS NULL`, memberID))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Round{}, false, nil
	}
	return r, err == nil, err
}

// AddTrackPoint appends a point to an open round.
func (s *Store) AddTrackPoint(ctx context.Context, id string, p storage.TrackPoint, distM float64, maxPoints int) (added bool, err error) {
	defer wrapErr(&err, "add track point")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		added = false
		var n int
		err := tx.QueryRow(ctx, `UPDATE rounds SET points = points + 1, distance_m = distance_m + $1,
			last_lat = $2, last_lng = $3, last_at = $4 WHERE id = $5 AND ended_at IS NULL AND points < $6 RETURNING points`,
			distM, p.Lat, p.Lng, p.At, id, maxPoints).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO round_points (round_id, n, lat, lng, at) VALUES ($1, $2, $3, $4, $5)`,
			id, n, p.Lat, p.Lng, p.At)
		added = err == nil
		return err
	})
	return added, err
}

// EndRound ends an open round and links its reports.
func (s *Store) EndRound(ctx context.Context, id string, at time.Time, summary string, mkEvent func(storage.Round) *storage.Event) (_ storage.Round, err error) {
	defer wrapErr(&err, "end round")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		r, err := scanRound(tx.QueryRow(ctx, `SELECT `+roundCols+` FROM rounds WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound("round", id)
		}
		if err != nil {
			return err
		}
		if r.EndedAt != nil {
			return fmt.Errorf("round %s has ended: %w", id, storage.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO round_reports (round_id, report_id)
			SELECT $1, id FROM reports WHERE member_id = $2 AND created_at >= $3 AND created_at <= $4
			ON CONFLICT DO NOTHING`, id, r.MemberID, r.StartedAt, at); err != nil {
			return err
		}
		ended, err := scanRound(tx.QueryRow(ctx, `UPDATE rounds SET ended_at = $1, summary = $2,
			reports = (SELECT count(*) FROM round_reports WHERE round_id = $3) WHERE id = $3 RETURNING `+roundCols, at, summary, id))
		if err != nil || mkEvent == nil {
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
	defer wrapErr(&err, "get round")
	r, err := scanRound(s.pool.QueryRow(ctx, `SELECT `+roundCols+` FROM rounds WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Round{}, errNotFound("round", id)
	}
	return r, err
}

// RoundTrack returns a round's track.
func (s *Store) RoundTrack(ctx context.Context, id string) (_ []storage.TrackPoint, err error) {
	defer wrapErr(&err, "round track")
	rows, _ := s.pool.Query(ctx, `SELECT lat, lng, at FROM round_points WHERE round_id = $1 ORDER BY n`, id)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.TrackPoint, error) {
		var p storage.TrackPoint
		err := r.Scan(&p.Lat, &p.Lng, &p.At)
		p.At = p.At.UTC()
		return p, err
	})
	if out == nil && err == nil {
		out = []storage.TrackPoint{}
	}
	return out, err
}

// RoundReports returns the reports linked to a round.
func (s *Store) RoundReports(ctx context.Context, id string) (_ []string, err error) {
	defer wrapErr(&err, "round reports")
	rows, _ := s.pool.Query(ctx, `SELECT report_id FROM round_reports WHERE round_id = $1 ORDER BY report_id`, id)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil && err == nil {
		out = []string{}
	}
	return out, err
}

// ListRounds returns rounds newest first.
func (s *Store) ListRounds(ctx context.Context, f storage.RoundFilter) (_ []storage.Round, err error) {
	defer wrapErr(&err, "list rounds")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	where := []string{"true"}
	var args []any
	cond := func(format string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(format, len(args)))
	}
	if f.MemberID != "" {
		cond("member_id = $%d", f.MemberID)
	}
	if f.VillageIDs != nil {
		cond("village_id = ANY($%d::text[])", f.VillageIDs)
	}
	if f.Kind != "" {
		cond("kind = $%d", f.Kind)
	}
	if !f.From.IsZero() {
		cond("started_at >= $%d", f.From)
	}
	if !f.To.IsZero() {
		cond("started_at < $%d", f.To)
	}
	if f.Before != "" {
		cond("(started_at, id) < (SELECT started_at, id FROM rounds WHERE id = $%d)", f.Before)
	}
	args = append(args, f.Limit)
	rows, _ := s.pool.Query(ctx, `SELECT `+roundCols+` FROM rounds WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY started_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Round, error) { return scanRound(r) })
	if out == nil && err == nil {
		out = []storage.Round{}
	}
	return out, err
}

// EraseTracks deletes the track points of a member's rounds.
func (s *Store) EraseTracks(ctx context.Context, memberID string) (n int, err error) {
	defer wrapErr(&err, "erase tracks")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM round_points WHERE round_id IN (SELECT id FROM rounds WHERE member_id = $1)`, memberID)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `UPDATE rounds SET last_lat = NULL, last_lng = NULL, last_at = NULL
			WHERE member_id = $1 AND last_at IS NOT NULL`, memberID)
		return err
	})
	return n, err
}

const visitCols = `id, household_id, village_id, member_id, round_id, note, photos, at`

func scanVisit(row pgx.Row) (storage.Visit, error) {
	var v storage.Visit
	err := row.Scan(&v.ID, &v.HouseholdID, &v.VillageID, &v.MemberID, &v.RoundID, &v.Note, &v.Photos, &v.At)
	v.At = v.At.UTC()
	if v.Photos == nil {
		v.Photos = []string{}
	}
	return v, err
}

// AddVisit stores a visit.
func (s *Store) AddVisit(ctx context.Context, v *storage.Visit, ev *storage.Event) (err error) {
	defer wrapErr(&err, "add visit")
	photos := v.Photos
	if photos == nil {
		photos = []string{}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO visits (`+visitCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			v.ID, v.HouseholdID, v.VillageID, v.MemberID, v.RoundID, v.Note, photos, v.At); err != nil {
			return err
		}
		// The photos are the visit's now: no longer orphan uploads.
		if _, err := tx.Exec(ctx, `UPDATE media SET report_id = $1 WHERE report_id IS NULL AND id = ANY($2::text[])`,
			v.ID, photos); err != nil {
			return err
		}
		return appendOptionalEvent(ctx, tx, ev)
	})
}

func (s *Store) visits(ctx context.Context, q string, args ...any) ([]storage.Visit, error) {
	rows, _ := s.pool.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Visit, error) { return scanVisit(r) })
	if out == nil && err == nil {
		out = []storage.Visit{}
	}
	return out, err
}

// ListVisits returns a household's visits newest first.
func (s *Store) ListVisits(ctx context.Context, householdID string, limit int) (_ []storage.Visit, err error) {
	defer wrapErr(&err, "list visits")
	if limit <= 0 {
		limit = 100
	}
	return s.visits(ctx, `SELECT `+visitCols+` FROM visits WHERE household_id = $1 ORDER BY at DESC, id DESC LIMIT $2`,
		householdID, limit)
}

// LastVisits returns each household's last visit.
func (s *Store) LastVisits(ctx context.Context, householdIDs []string) (_ map[string]storage.Visit, err error) {
	defer wrapErr(&err, "last visits")
	if householdIDs == nil {
		householdIDs = []string{}
	}
	vs, err := s.visits(ctx, `SELECT DISTINCT ON (household_id) `+visitCols+` FROM visits
		WHERE household_id = ANY($1::text[]) ORDER BY household_id, at DESC, id DESC`, householdIDs)
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
	defer wrapErr(&err, "visit photo")
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM visits WHERE village_id = $1 AND $2 = ANY(photos))`,
		villageID, mediaID).Scan(&ok)
	return ok, err
}

const emergencyCols = `id, name, from_at, to_at, created_by, created_at`

func scanEmergency(row pgx.Row) (storage.Emergency, error) {
	var e storage.Emergency
	err := row.Scan(&e.ID, &e.Name, &e.From, &e.To, &e.CreatedBy, &e.CreatedAt)
	e.From, e.To, e.CreatedAt = e.From.UTC(), e.To.UTC(), e.CreatedAt.UTC()
	return e, err
}

// CreateEmergency stores an emergency period.
func (s *Store) CreateEmergency(ctx context.Context, e *storage.Emergency) (err error) {
	defer wrapErr(&err, "create emergency")
	_, err = s.pool.Exec(ctx, `INSERT INTO emergencies (`+emergencyCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.ID, e.Name, e.From, e.To, e.CreatedBy, e.CreatedAt)
	return err
}

// GetEmergency returns an emergency period.
func (s *Store) GetEmergency(ctx context.Context, id string) (_ storage.Emergency, err error) {
	defer wrapErr(&err, "get emergency")
	e, err := scanEmergency(s.pool.QueryRow(ctx, `SELECT `+emergencyCols+` FROM emergencies WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Emergency{}, errNotFound("emergency", id)
	}
	return e, err
}

// ListEmergencies returns the emergency periods, newest first.
func (s *Store) ListEmergencies(ctx context.Context) (_ []storage.Emergency, err error) {
	defer wrapErr(&err, "list emergencies")
	rows, _ := s.pool.Query(ctx, `SELECT `+emergencyCols+` FROM emergencies ORDER BY from_at DESC, id DESC LIMIT 1000`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Emergency, error) { return scanEmergency(r) })
	if out == nil && err == nil {
		out = []storage.Emergency{}
	}
	return out, err
}

// Tallies counts reports, notices, rounds and visits per village.
func (s *Store) Tallies(ctx context.Context, from, to time.Time, villageIDs []string) (_ map[string]storage.Tally, err error) {
	defer wrapErr(&err, "tallies")
	part := func(what int, table, col string) string {
		return fmt.Sprintf(`SELECT %d, village_id, count(*) FROM %s WHERE %s >= $1 AND %s < $2
			AND ($3::text[] IS NULL OR village_id = ANY($3::text[])) GROUP BY village_id`, what, table, col, col)
	}
	rows, _ := s.pool.Query(ctx, part(0, "reports", "created_at")+` UNION ALL `+part(1, "bulletins", "published_at")+
		` UNION ALL `+part(2, "rounds", "started_at")+` UNION ALL `+part(3, "visits", "at"), from, to, villageIDs)
	out := map[string]storage.Tally{}
	var what int
	var v string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&what, &v, &n}, func() error {
		t := out[v]
		switch what {
		case 0:
			t.Reports = int(n)
		case 1:
			t.Notices = int(n)
		case 2:
			t.Rounds = int(n)
		case 3:
			t.Visits = int(n)
		}
		out[v] = t
		return nil
	})
	return out, err
}

// PatrolDays counts rounds and visits per day in UTC+8.
func (s *Store) PatrolDays(ctx context.Context, from, to time.Time, villageIDs []string) (_ []storage.DayCount, err error) {
	defer wrapErr(&err, "patrol days")
	part := func(table, col string) string {
		return fmt.Sprintf(`SELECT to_char(%s AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM-DD') AS d, count(*) AS n
			FROM %s WHERE %s >= $1 AND %s < $2 AND ($3::text[] IS NULL OR village_id = ANY($3::text[])) GROUP BY d`,
			col, table, col, col)
	}
	rows, _ := s.pool.Query(ctx, `SELECT d, sum(r)::bigint, sum(v)::bigint FROM (SELECT d, n AS r, 0 AS v FROM (`+
		part("rounds", "started_at")+`) a UNION ALL SELECT d, 0, n FROM (`+part("visits", "at")+`) b) c GROUP BY d ORDER BY d`,
		from, to, villageIDs)
	out := []storage.DayCount{}
	var d string
	var r, v int64
	_, err = pgx.ForEachRow(rows, []any{&d, &r, &v}, func() error {
		out = append(out, storage.DayCount{Date: d, Rounds: int(r), Visits: int(v)})
		return nil
	})
	return out, err
}
