package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// CreateReport stores the report and appends ev in one statement; r.Seq and
// ev.Seq are set. ErrConflict when the id is taken.
func (s *Store) CreateReport(ctx context.Context, r *storage.Report, ev *storage.Event, also ...*storage.Event) (err error) {
	defer wrapErr(&err, "create report")
	photos := r.Photos
	if photos == nil {
		photos = []string{}
	}
	var seq int64
	var clientID *string
	if r.ClientID != "" {
		clientID = &r.ClientID
	}
	// The photos become the report's (no longer orphans: privacy.go).
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, eventCTE+`, mm AS (
			UPDATE media SET report_id = $7 WHERE id = ANY ($12) AND report_id IS NULL
		), h AS (
			-- Its history starts with its creation, by its reporter (v1.6).
			INSERT INTO report_history (report_id, at, actor, change, to_value)
			SELECT $7, $17, $13, 'created', $15 FROM e
		)
		INSERT INTO reports (id, kind, text, lat, lng, photos,
			member_id, village_id, status, feedback, created_at, updated_at, due_at, seq, client_id, created_seq,
			reporter_village_id, assignee_id, level, overdue, reminded, remind_at, escalate_at, county_at, closed_at)
		SELECT $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, e.seq, $20, e.seq,
			$21, $22, $23, $24, $25, $26, $27, $28, $29 FROM e
		RETURNING seq`,
			append(eventArgs(ev), r.ID, r.Kind, r.Text, r.Lat, r.Lng, photos, r.MemberID, r.VillageID,
				r.Status, r.Feedback, r.CreatedAt, r.UpdatedAt, r.DueAt, clientID,
				r.ReporterVillageID, r.AssigneeID, reportLevel(r.Level), r.Overdue, r.Reminded, nullTime(r.RemindAt),
				nullTime(r.EscalateAt), nullTime(r.CountyAt), nullTime(r.ClosedAt))...).Scan(&seq); err != nil {
			return err
		}
		return createReportBoard(ctx, tx, r, also) // postgres_board.go
	})
	if err != nil {
		return err
	}
	r.Seq, r.CreatedSeq, ev.Seq, r.Photos = seq, seq, seq, photos
	return nil
}

// UpdateReport sets status, feedback and UpdatedAt of r.ID if its status is
// still fromStatus, and appends ev; r.Seq and ev.Seq are set. ErrConflict
// when the status changed meanwhile, ErrNotFound when there is no report.
func (s *Store) UpdateReport(ctx context.Context, r *storage.Report, fromStatus string, ev *storage.Event, also ...*storage.Event) (err error) {
	defer wrapErr(&err, "update report")
	var seq int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reports SET status = $2, feedback = $3, updated_at = $4, updated_by = $6
			WHERE id = $1 AND status = $5`, r.ID, r.Status, r.Feedback, r.UpdatedAt, fromStatus, r.UpdatedBy)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var status string
			if err := tx.QueryRow(ctx, `SELECT status FROM reports WHERE id = $1`, r.ID).Scan(&status); err != nil {
				return err
			}
			return fmt.Errorf("report %q is %s, not %s: %w", r.ID, status, fromStatus, storage.ErrConflict)
		}
		if err := tx.QueryRow(ctx, eventCTE+`UPDATE reports r SET seq = e.seq FROM e
			WHERE r.id = $7 RETURNING e.seq`, append(eventArgs(ev), r.ID)...).Scan(&seq); err != nil {
			return err
		}
		return appendAlso(ctx, tx, also) // postgres_board.go
	})
	if err != nil {
		return err
	}
	r.Seq, ev.Seq = seq, seq
	return nil
}

const reportCols = `r.id, r.kind, r.text, r.lat, r.lng, r.photos, r.member_id, r.village_id,
	r.status, r.feedback, r.created_at, r.updated_at, r.due_at, r.seq, COALESCE(r.client_id, ''), r.created_seq,
	r.updated_by,
	r.reporter_village_id, r.assignee_id, r.level, r.overdue, r.reminded, r.remind_at, r.escalate_at, r.county_at, r.closed_at,
	r.visibility, r.rectification_photos, r.likes, r.urges`

func scanReport(row pgx.Row) (storage.Report, error) {
	var r storage.Report
	err := row.Scan(&r.ID, &r.Kind, &r.Text, &r.Lat, &r.Lng, &r.Photos, &r.MemberID, &r.VillageID,
		&r.Status, &r.Feedback, &r.CreatedAt, &r.UpdatedAt, &r.DueAt, &r.Seq, &r.ClientID, &r.CreatedSeq, &r.UpdatedBy,
		&r.ReporterVillageID, &r.AssigneeID, &r.Level, &r.Overdue, &r.Reminded, timeOrZero{&r.RemindAt},
		timeOrZero{&r.EscalateAt}, timeOrZero{&r.CountyAt}, timeOrZero{&r.ClosedAt},
		&r.Visibility, &r.RectificationPhotos, &r.Likes, &r.Urges)
	if r.Photos == nil {
		r.Photos = []string{}
	}
	if r.RectificationPhotos == nil {
		r.RectificationPhotos = []string{}
	}
	return r, err
}

// GetReport returns the report; ErrNotFound when there is none.
func (s *Store) GetReport(ctx context.Context, id string) (_ storage.Report, err error) {
	defer wrapErr(&err, "get report")
	return scanReport(s.pool.QueryRow(ctx, `SELECT `+reportCols+` FROM reports r WHERE r.id = $1`, id))
}

// ListReports returns the reports f selects in created_seq order, newest
// first unless f.Oldest.
func (s *Store) ListReports(ctx context.Context, f storage.ReportFilter) (_ []storage.Report, err error) {
	defer wrapErr(&err, "list reports")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	cond := func(format string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(format, len(args)))
	}
	for _, c := range []struct{ col, v string }{
		{"r.status", f.Status}, {"r.village_id", f.VillageID}, {"r.member_id", f.MemberID},
		{"r.client_id", f.ClientID}, {"r.kind", f.Kind},
	} {
		if c.v != "" {
			cond(c.col+" = $%d", c.v)
		}
	}
	if len(f.Statuses) > 0 {
		cond("r.status = ANY($%d)", f.Statuses)
	}
	if !f.Since.IsZero() {
		cond("r.created_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		cond("r.created_at < $%d", f.Until)
	}
	if f.Photo != "" {
		cond("$%d = ANY(r.photos)", f.Photo)
	}
	if f.VillageIDs != nil {
		cond("r.village_id = ANY($%d)", f.VillageIDs)
	}
	if f.Level != "" {
		cond("r.level = $%d", f.Level)
	}
	if f.Overdue != nil {
		cond("r.overdue = $%d", *f.Overdue)
	}
	if f.AssigneeID != "" {
		cond("r.assignee_id = $%d", f.AssigneeID)
	}
	order := "DESC"
	if f.Oldest {
		order = "ASC"
	}
	if f.After > 0 {
		if f.Oldest {
			cond("r.created_seq > $%d", f.After)
		} else {
			cond("r.created_seq < $%d", f.After)
		}
	}
	args = append(args, limit)
	q := `SELECT ` + reportCols + ` FROM reports r`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += fmt.Sprintf(` ORDER BY r.created_seq %s LIMIT $%d`, order, len(args))
	rows, _ := s.pool.Query(ctx, q, args...)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Report, error) { return scanReport(r) })
}

// CreateBulletin stores the bulletin and appends ev in one statement;
// b.Seq and ev.Seq are set. ErrConflict when the id is taken.
func (s *Store) CreateBulletin(ctx context.Context, b *storage.Bulletin, ev *storage.Event) (err error) {
	defer wrapErr(&err, "create bulletin")
	var seq int64
	err = s.pool.QueryRow(ctx, eventCTE+`INSERT INTO bulletins (id, village_id, category, title,
			body, author_id, published_at, seq)
		SELECT $7, $8, $9, $10, $11, $12, $13, e.seq FROM e
		RETURNING seq`,
		append(eventArgs(ev), b.ID, b.VillageID, b.Category, b.Title, b.Body, b.AuthorID,
			b.PublishedAt)...).Scan(&seq)
	if err != nil {
		return err
	}
	b.Seq, ev.Seq = seq, seq
	return nil
}

// ListBulletins returns the bulletins f selects, newest first.
func (s *Store) ListBulletins(ctx context.Context, f storage.BulletinFilter) (_ []storage.Bulletin, err error) {
	defer wrapErr(&err, "list bulletins")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args := []any{f.VillageID, f.WithCountyWide}
	where := []string{`($1 = '' OR village_id = $1 OR ($2 AND village_id = ''))`}
	cond := func(format string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(format, len(args)))
	}
	if f.Category != "" {
		cond("category = $%d", f.Category)
	}
	if !f.Since.IsZero() {
		cond("published_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		cond("published_at < $%d", f.Until)
	}
	if f.After > 0 {
		cond("seq < $%d", f.After)
	}
	args = append(args, limit)
	rows, _ := s.pool.Query(ctx, `SELECT id, village_id, category, title, body, author_id,
			published_at, seq
		FROM bulletins
		WHERE `+strings.Join(where, ` AND `)+fmt.Sprintf(`
		ORDER BY seq DESC LIMIT $%d`, len(args)), args...)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Bulletin, error) {
		var b storage.Bulletin
		err := row.Scan(&b.ID, &b.VillageID, &b.Category, &b.Title, &b.Body, &b.AuthorID,
			&b.PublishedAt, &b.Seq)
		return b, err
	})
}

// PutMedia stores an uploaded image; m.Size is taken from len(data).
// ErrConflict when the id is taken.
func (s *Store) PutMedia(ctx context.Context, m storage.Media, data []byte) error {
	return s.PutMediaWithin(ctx, m, data, storage.MediaQuota{})
}

// GetMedia returns an image and its bytes; ErrNotFound when there is none.
func (s *Store) GetMedia(ctx context.Context, id string) (_ storage.Media, _ []byte, err error) {
	defer wrapErr(&err, "get media")
	var m storage.Media
	var data []byte
	err = s.pool.QueryRow(ctx, `SELECT id, content_type, size, owner_id, created_at, data
		FROM media WHERE id = $1`, id).Scan(&m.ID, &m.ContentType, &m.Size, &m.OwnerID, &m.CreatedAt, &data)
	if err != nil {
		return storage.Media{}, nil, err
	}
	return m, data, nil
}
