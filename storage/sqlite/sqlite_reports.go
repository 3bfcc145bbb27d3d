package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// CreateReport stores a report and its event in one transaction; r.Seq is
// set. A taken id is storage.ErrConflict.
func (s *Store) CreateReport(ctx context.Context, r *storage.Report, ev *storage.Event, also ...*storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: create report")
	photos := r.Photos
	if photos == nil {
		photos = []string{}
	}
	pj, err := json.Marshal(photos)
	if err != nil {
		return err
	}
	e := *ev
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := appendEvent(ctx, tx, &e); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO reports
			(id, kind, text, lat, lng, photos, member_id, village_id, status, feedback,
			 created_at, updated_at, due_at, seq, client_id, created_seq,
			 reporter_village_id, assignee_id, level, overdue, reminded, remind_at, escalate_at, county_at, closed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Kind, r.Text, r.Lat, r.Lng, string(pj), r.MemberID, r.VillageID, r.Status, r.Feedback,
			tv(r.CreatedAt), tv(r.UpdatedAt), tv(r.DueAt), e.Seq, nullString(r.ClientID), e.Seq,
			r.ReporterVillageID, r.AssigneeID, reportLevel(r.Level), r.Overdue, r.Reminded, tv(r.RemindAt),
			tv(r.EscalateAt), tv(r.CountyAt), tv(r.ClosedAt))
		if err != nil {
			return fmt.Errorf("report %s: %w", r.ID, mapErr(err))
		}
		// Its history starts with its creation, by its reporter (v1.6).
		if err := insertHistory(ctx, tx, []storage.ReportHistory{{ReportID: r.ID, At: r.CreatedAt,
			Actor: r.MemberID, Change: storage.ChangeCreated, To: r.Status}}); err != nil {
			return err
		}
		if len(photos) > 0 { // the photos become the report's (no longer orphans: sqlite_privacy.go)
			_, err = tx.ExecContext(ctx, `UPDATE media SET report_id = ?
				WHERE report_id IS NULL AND id IN (SELECT value FROM json_each(?))`, r.ID, string(pj))
			if err != nil {
				return err
			}
		}
		return createReportBoard(ctx, tx, r, also) // sqlite_board.go
	})
	if err != nil {
		return err
	}
	ev.Seq, r.Seq, r.CreatedSeq, r.Photos = e.Seq, e.Seq, e.Seq, photos
	return nil
}

// UpdateReport replaces status, feedback and UpdatedAt of r.ID if its status
// is still fromStatus, and appends ev; r.Seq is set to ev's seq.
// storage.ErrNotFound for an unknown report, storage.ErrConflict when its
// status is no longer fromStatus.
func (s *Store) UpdateReport(ctx context.Context, r *storage.Report, fromStatus string, ev *storage.Event, also ...*storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: update report")
	e := *ev
	err = s.write(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM reports WHERE id = ?`, r.ID).Scan(&status); err != nil {
			return notFound(err, "report "+r.ID)
		}
		if status != fromStatus {
			return fmt.Errorf("report %s is %s, not %s: %w", r.ID, status, fromStatus, storage.ErrConflict)
		}
		if err := appendEvent(ctx, tx, &e); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE reports SET status = ?, feedback = ?, updated_at = ?, seq = ?,
			updated_by = ? WHERE id = ?`, r.Status, r.Feedback, tv(r.UpdatedAt), e.Seq, r.UpdatedBy, r.ID)
		if err != nil {
			return err
		}
		return appendAlso(ctx, tx, also) // sqlite_board.go
	})
	if err != nil {
		return err
	}
	ev.Seq, r.Seq = e.Seq, e.Seq
	return nil
}

const reportCols = `id, kind, text, lat, lng, photos, member_id, village_id, status, feedback,
	created_at, updated_at, due_at, seq, COALESCE(client_id, ''), created_seq, updated_by,
	reporter_village_id, assignee_id, level, overdue, reminded, remind_at, escalate_at, county_at, closed_at,
	visibility, rectification_photos, likes, urges`

func scanReport(sc interface{ Scan(...any) error }) (storage.Report, error) {
	var r storage.Report
	err := sc.Scan(&r.ID, &r.Kind, &r.Text, &r.Lat, &r.Lng, jsonCol[[]string]{&r.Photos}, &r.MemberID,
		&r.VillageID, &r.Status, &r.Feedback, timeCol{&r.CreatedAt}, timeCol{&r.UpdatedAt},
		timeCol{&r.DueAt}, &r.Seq, &r.ClientID, &r.CreatedSeq, &r.UpdatedBy,
		&r.ReporterVillageID, &r.AssigneeID, &r.Level, &r.Overdue, &r.Reminded, timeCol{&r.RemindAt},
		timeCol{&r.EscalateAt}, timeCol{&r.CountyAt}, timeCol{&r.ClosedAt},
		&r.Visibility, jsonCol[[]string]{&r.RectificationPhotos}, &r.Likes, &r.Urges)
	if r.Photos == nil {
		r.Photos = []string{}
	}
	if r.RectificationPhotos == nil {
		r.RectificationPhotos = []string{}
	}
	return r, err
}

// GetReport returns a report or storage.ErrNotFound.
func (s *Store) GetReport(ctx context.Context, id string) (_ storage.Report, err error) {
	defer errd.Wrap(&err, "sqlite: get report")
	r, err := scanReport(s.readRow(ctx, `SELECT `+reportCols+` FROM reports WHERE id = ?`, id))
	return r, notFound(err, "report "+id)
}

// ListReports returns the reports f selects in CreatedSeq order, newest
// first unless f.Oldest.
func (s *Store) ListReports(ctx context.Context, f storage.ReportFilter) (_ []storage.Report, err error) {
	defer errd.Wrap(&err, "sqlite: list reports")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	eq := func(col string, v any) {
		where = append(where, col+` = ?`)
		args = append(args, v)
	}
	if f.Status != "" {
		eq(`status`, f.Status)
	}
	if len(f.Statuses) > 0 {
		where = append(where, `status IN (`+strings.TrimSuffix(strings.Repeat(`?, `, len(f.Statuses)), `, `)+`)`)
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if f.VillageID != "" {
		eq(`village_id`, f.VillageID)
	}
	if f.MemberID != "" {
		eq(`member_id`, f.MemberID)
	}
	if f.ClientID != "" {
		eq(`client_id`, f.ClientID)
	}
	if f.Kind != "" {
		eq(`kind`, f.Kind)
	}
	if !f.Since.IsZero() {
		where = append(where, `created_at >= ?`)
		args = append(args, tv(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `created_at < ?`)
		args = append(args, tv(f.Until))
	}
	if f.Photo != "" {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(photos) p WHERE p.value = ?)`)
		args = append(args, f.Photo)
	}
	if f.VillageIDs != nil {
		ids, _ := json.Marshal(f.VillageIDs)
		where = append(where, `village_id IN (SELECT value FROM json_each(?))`)
		args = append(args, string(ids))
	}
	if f.Level != "" {
		eq(`level`, f.Level)
	}
	if f.Overdue != nil {
		eq(`overdue`, *f.Overdue)
	}
	if f.AssigneeID != "" {
		eq(`assignee_id`, f.AssigneeID)
	}
	order := `DESC`
	if f.Oldest {
		order = `ASC`
	}
	if f.After > 0 {
		if f.Oldest {
			where = append(where, `created_seq > ?`)
		} else {
			where = append(where, `created_seq < ?`)
		}
		args = append(args, f.After)
	}
	q := `SELECT ` + reportCols + ` FROM reports`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_seq ` + order + ` LIMIT ?`
	args = append(args, limit)
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Report{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateBulletin stores a bulletin and its event in one transaction; b.Seq
// is set. A taken id is storage.ErrConflict.
func (s *Store) CreateBulletin(ctx context.Context, b *storage.Bulletin, ev *storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: create bulletin")
	e := *ev
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := appendEvent(ctx, tx, &e); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO bulletins
			(id, village_id, category, title, body, author_id, published_at, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			b.ID, b.VillageID, b.Category, b.Title, b.Body, b.AuthorID, tv(b.PublishedAt), e.Seq)
		if err != nil {
			return fmt.Errorf("bulletin %s: %w", b.ID, mapErr(err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	ev.Seq, b.Seq = e.Seq, e.Seq
	return nil
}

// ListBulletins returns the bulletins f selects, newest (by seq) first.
func (s *Store) ListBulletins(ctx context.Context, f storage.BulletinFilter) (_ []storage.Bulletin, err error) {
	defer errd.Wrap(&err, "sqlite: list bulletins")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, village_id, category, title, body, author_id, published_at, seq FROM bulletins`
	var where []string
	var args []any
	switch {
	case f.VillageID == "":
	case f.WithCountyWide:
		where = append(where, `village_id IN (?, '')`)
		args = append(args, f.VillageID)
	default:
		where = append(where, `village_id = ?`)
		args = append(args, f.VillageID)
	}
	if f.Category != "" {
		where = append(where, `category = ?`)
		args = append(args, f.Category)
	}
	if !f.Since.IsZero() {
		where = append(where, `published_at >= ?`)
		args = append(args, tv(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, `published_at < ?`)
		args = append(args, tv(f.Until))
	}
	if f.After > 0 {
		where = append(where, `seq < ?`)
		args = append(args, f.After)
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Bulletin{}
	for rows.Next() {
		var b storage.Bulletin
		if err := rows.Scan(&b.ID, &b.VillageID, &b.Category, &b.Title, &b.Body, &b.AuthorID,
			timeCol{&b.PublishedAt}, &b.Seq); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// PutMedia stores an upload; m.Size is taken from len(data). A taken id is
// storage.ErrConflict.
func (s *Store) PutMedia(ctx context.Context, m storage.Media, data []byte) error {
	return s.PutMediaWithin(ctx, m, data, storage.MediaQuota{})
}

// GetMedia returns an upload and its bytes, or storage.ErrNotFound.
func (s *Store) GetMedia(ctx context.Context, id string) (_ storage.Media, _ []byte, err error) {
	defer errd.Wrap(&err, "sqlite: get media")
	var m storage.Media
	var data []byte
	err = s.readRow(ctx, `SELECT id, content_type, size, owner_id, created_at, data
		FROM media WHERE id = ?`, id).Scan(&m.ID, &m.ContentType, &m.Size, &m.OwnerID,
		timeCol{&m.CreatedAt}, &data)
	if err != nil {
		return storage.Media{}, nil, notFound(err, "media "+id)
	}
	return m, data, nil
}

// nullString stores "" as NULL (so unique indexes ignore it).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
