package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// The village board (v1.6, storage/board.go).

var _ storage.Board = (*Store)(nil)

// createReportBoard writes, in CreateReport's transaction, the board's
// part of a new report: its visibility, and the events of also.
func createReportBoard(ctx context.Context, tx pgx.Tx, r *storage.Report, also []*storage.Event) error {
	if r.Visibility == "" {
		r.Visibility = storage.VisibilityPrivate
	}
	if r.Visibility != storage.VisibilityPrivate {
		if _, err := tx.Exec(ctx, `UPDATE reports SET visibility = $2 WHERE id = $1`, r.ID, r.Visibility); err != nil {
			return err
		}
	}
	if r.RectificationPhotos == nil {
		r.RectificationPhotos = []string{}
	}
	return appendAlso(ctx, tx, also)
}

// appendAlso appends the events of also (each must be addressed) in tx and
// sets their seqs: the transaction's last statements.
func appendAlso(ctx context.Context, tx pgx.Tx, also []*storage.Event) error {
	for _, ev := range also {
		if ev == nil {
			continue
		}
		if !ev.Addressed() {
			return storage.ErrNotAddressed
		}
		if err := appendAddressedEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// attachMedia makes the uploads ids attached to owner (a report or a deed
// id), so the orphan sweep leaves them (postgres_privacy.go).
func attachMedia(ctx context.Context, tx pgx.Tx, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE media SET report_id = $1 WHERE id = ANY ($2) AND report_id IS NULL`, owner, ids)
	return err
}

func nonNil(p []string) []string {
	if p == nil {
		return []string{}
	}
	return p
}

// CreateDeed stores a pending deed; d.N is set.
func (s *Store) CreateDeed(ctx context.Context, d *storage.Deed) (err error) {
	defer wrapErr(&err, "create deed")
	d.Photos = nonNil(d.Photos)
	var n int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO deeds (id, village_id, title, text, photos, about,
			household_id, author_id, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING n`,
			d.ID, d.VillageID, d.Title, d.Text, d.Photos, d.About, d.HouseholdID, d.AuthorID, d.Status,
			d.CreatedAt).Scan(&n); err != nil {
			return err
		}
		return attachMedia(ctx, tx, d.ID, d.Photos)
	})
	if err != nil {
		return err
	}
	d.N = n
	return nil
}

const deedCols = `n, id, village_id, title, text, photos, about, household_id, author_id, status,
	decided_by, decided_at, created_at, likes, seq`

func scanDeed(row pgx.Row) (storage.Deed, error) {
	var d storage.Deed
	var decided *time.Time
	err := row.Scan(&d.N, &d.ID, &d.VillageID, &d.Title, &d.Text, &d.Photos, &d.About, &d.HouseholdID,
		&d.AuthorID, &d.Status, &d.DecidedBy, &decided, &d.CreatedAt, &d.Likes, &d.Seq)
	d.DecidedAt, d.CreatedAt, d.Photos = derefTime(decided), d.CreatedAt.UTC(), nonNil(d.Photos)
	return d, err
}

// GetDeed returns a deed; ErrNotFound when there is none.
func (s *Store) GetDeed(ctx context.Context, id string) (_ storage.Deed, err error) {
	defer wrapErr(&err, "get deed")
	return scanDeed(s.pool.QueryRow(ctx, `SELECT `+deedCols+` FROM deeds WHERE id = $1`, id))
}

// ListDeeds returns the deeds f selects, newest first.
func (s *Store) ListDeeds(ctx context.Context, f storage.DeedFilter) (_ []storage.Deed, err error) {
	defer wrapErr(&err, "list deeds")
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
	for _, c := range []struct{ col, v string }{{"village_id", f.VillageID}, {"status", f.Status}, {"author_id", f.AuthorID}} {
		if c.v != "" {
			cond(c.col+" = $%d", c.v)
		}
	}
	if f.After > 0 {
		cond("n < $%d", f.After)
	}
	args = append(args, limit)
	q := `SELECT ` + deedCols + ` FROM deeds`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += fmt.Sprintf(` ORDER BY n DESC LIMIT $%d`, len(args))
	rows, _ := s.pool.Query(ctx, q, args...)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Deed, error) { return scanDeed(r) })
}

// DecideDeed confirms or rejects a pending deed and appends ev's event.
func (s *Store) DecideDeed(ctx context.Context, id, status, by string, at time.Time, ev func(*storage.Deed) *storage.Event) (_ storage.Deed, err error) {
	defer wrapErr(&err, "decide deed")
	var d storage.Deed
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if d, err = scanDeed(tx.QueryRow(ctx, `SELECT `+deedCols+` FROM deeds WHERE id = $1 FOR UPDATE`, id)); err != nil {
			return err
		}
		if d.Status != storage.DeedPending {
			return fmt.Errorf("deed %s is %s: %w", id, d.Status, storage.ErrConflict)
		}
		d.Status, d.DecidedBy, d.DecidedAt = status, by, at
		if _, err := tx.Exec(ctx, `UPDATE deeds SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1`,
			id, d.Status, d.DecidedBy, d.DecidedAt); err != nil {
			return err
		}
		var e *storage.Event
		if ev != nil {
			e = ev(&d)
		}
		if e == nil {
			return nil
		}
		if !e.Addressed() {
			return storage.ErrNotAddressed
		}
		if err := tx.QueryRow(ctx, addressedEventCTE+`UPDATE deeds d SET seq = e.seq FROM e WHERE d.id = $9
			RETURNING e.seq`, append(addressedEventArgs(e), id)...).Scan(&d.Seq); err != nil {
			return err
		}
		e.Seq = d.Seq
		return nil
	})
	if err != nil {
		return storage.Deed{}, err
	}
	return d, nil
}

// React records a reaction once and counts it.
func (s *Store) React(ctx context.Context, r storage.Reaction, ev func(storage.Counts) *storage.Event) (c storage.Counts, added bool, err error) {
	defer wrapErr(&err, "react")
	table, urges := "", "0"
	switch r.Item {
	case storage.ItemReport:
		table, urges = "reports", "urges"
	case storage.ItemDeed:
		table = "deeds"
	}
	if table == "" || (r.Kind != storage.ReactLike && r.Kind != storage.ReactUrge) ||
		(r.Item == storage.ItemDeed && r.Kind != storage.ReactLike) {
		return c, false, fmt.Errorf("reaction %s to a %s: %w", r.Kind, r.Item, storage.ErrNotFound)
	}
	col := "likes"
	if r.Kind == storage.ReactUrge {
		col = "urges"
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		added = false
		if err := tx.QueryRow(ctx, `SELECT likes, `+urges+` FROM `+table+` WHERE id = $1`, r.ItemID).
			Scan(&c.Likes, &c.Urges); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO reactions (item, item_id, kind, member_id, at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, r.Item, r.ItemID, r.Kind, r.MemberID, r.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// A repeat: the counts as they are now (the first one committed).
			return tx.QueryRow(ctx, `SELECT likes, `+urges+` FROM `+table+` WHERE id = $1`, r.ItemID).
				Scan(&c.Likes, &c.Urges)
		}
		added = true
		if err := tx.QueryRow(ctx, `UPDATE `+table+` SET `+col+` = `+col+` + 1 WHERE id = $1
			RETURNING likes, `+urges, r.ItemID).Scan(&c.Likes, &c.Urges); err != nil {
			return err
		}
		if ev != nil {
			return appendAlso(ctx, tx, []*storage.Event{ev(c)})
		}
		return nil
	})
	if err != nil {
		return storage.Counts{}, false, err
	}
	return c, added, nil
}

// Reacted returns the reaction kinds member gave each of the items.
func (s *Store) Reacted(ctx context.Context, memberID, item string, ids []string) (_ map[string][]string, err error) {
	defer wrapErr(&err, "reacted")
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT item_id, kind FROM reactions
		WHERE member_id = $1 AND item = $2 AND item_id = ANY ($3) ORDER BY item_id, kind`, memberID, item, ids)
	var id, kind string
	_, err = pgx.ForEachRow(rows, []any{&id, &kind}, func() error {
		out[id] = append(out[id], kind)
		return nil
	})
	return out, err
}

// SetRectification replaces a report's rectification photos and appends
// ev's event.
func (s *Store) SetRectification(ctx context.Context, reportID string, photos []string, ev func(*storage.Report) *storage.Event) (_ storage.Report, err error) {
	defer wrapErr(&err, "set rectification")
	var r storage.Report
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if r, err = scanReport(tx.QueryRow(ctx, `UPDATE reports r SET rectification_photos = $2 WHERE r.id = $1
			RETURNING `+reportCols, reportID, nonNil(photos))); err != nil {
			return err
		}
		if err := attachMedia(ctx, tx, reportID, photos); err != nil {
			return err
		}
		if ev != nil {
			return appendAlso(ctx, tx, []*storage.Event{ev(&r)})
		}
		return nil
	})
	if err != nil {
		return storage.Report{}, err
	}
	return r, nil
}

// BoardItems returns a page of the village's board, newest first.
func (s *Store) BoardItems(ctx context.Context, villageID string, before int64, limit int) (_ []storage.BoardEntry, err error) {
	defer wrapErr(&err, "board items")
	if limit <= 0 {
		limit = 100
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	var out []storage.BoardEntry
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+reportCols+` FROM reports r
			WHERE r.village_id = $1 AND r.visibility = 'public' AND r.created_seq < $2
			ORDER BY r.created_seq DESC LIMIT $3`, villageID, before, limit)
		reps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Report, error) { return scanReport(r) })
		if err != nil {
			return err
		}
		for i := range reps {
			out = append(out, storage.BoardEntry{Seq: reps[i].CreatedSeq, Report: &reps[i]})
		}
		rows, _ = tx.Query(ctx, `SELECT `+deedCols+` FROM deeds
			WHERE village_id = $1 AND status = 'confirmed' AND seq < $2 ORDER BY seq DESC LIMIT $3`,
			villageID, before, limit)
		deeds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Deed, error) { return scanDeed(r) })
		if err != nil {
			return err
		}
		for i := range deeds {
			out = append(out, storage.BoardEntry{Seq: deeds[i].Seq, Deed: &deeds[i]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return storage.MergeBoard(out, limit), nil
}

// BoardTally counts the village's public reports.
func (s *Store) BoardTally(ctx context.Context, villageID string) (t storage.BoardTally, err error) {
	defer wrapErr(&err, "board tally")
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = $2),
			count(*) FILTER (WHERE status = $3)
		FROM reports WHERE village_id = $1 AND visibility = 'public'`,
		villageID, storage.ReportRejected, storage.ReportResolved).Scan(&t.Public, &t.Rejected, &t.Resolved)
	return t, err
}

// OnBoard tells whether mediaID is a photo of the village's board.
func (s *Store) OnBoard(ctx context.Context, villageID, mediaID string) (ok bool, err error) {
	defer wrapErr(&err, "on board")
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM media m JOIN reports r ON r.id = m.report_id
			WHERE m.id = $2 AND r.village_id = $1 AND r.visibility = 'public'
			AND ($2 = ANY (r.photos) OR $2 = ANY (r.rectification_photos)))
		OR EXISTS (SELECT 1 FROM media m JOIN deeds d ON d.id = m.report_id
			WHERE m.id = $2 AND d.village_id = $1 AND d.status = 'confirmed' AND $2 = ANY (d.photos))`,
		villageID, mediaID).Scan(&ok)
	return ok, err
}

// redactBoardReportBody is a board event's body of a report item without
// the report's text and photos (retention; postgres_privacy.go).
const redactBoardReportBody = `jsonb_set(jsonb_set(jsonb_set(e.body::jsonb, '{item,report,text}', '""'),
	'{item,report,photos}', '[]'), '{item,report,rectification_photos}', '[]')::json`

// eraseBoard removes, in EraseMember's transaction, what the board keeps
// of the member: the text, photos and name in the board events of its
// reports and deeds (their MemberID is the member), its deeds' title,
// text, whom and photos, and its reactions (the counts stay: they name
// no one).
func eraseBoard(ctx context.Context, tx pgx.Tx, id string, e *storage.Erasure) error {
	steps := []struct {
		dst   *int
		query string
	}{
		{&e.Events, `UPDATE events SET body = jsonb_set(jsonb_set(jsonb_set(body::jsonb, '{item,report,text}', '""'),
			'{item,report,photos}', '[]'), '{item,report,reporter}', '""')::json
			WHERE type = 'board' AND member_id = $1 AND body::jsonb#>>'{item,type}' = 'report'`},
		{&e.Events, `UPDATE events SET body = jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(body::jsonb,
			'{item,deed,title}', '""'), '{item,deed,text}', '""'), '{item,deed,about}', '""'),
			'{item,deed,photos}', '[]'), '{item,deed,author}', '""')::json
			WHERE type = 'board' AND member_id = $1 AND body::jsonb#>>'{item,type}' = 'deed'`},
		{&e.Deeds, `UPDATE deeds SET title = '', text = '', about = '', household_id = '', photos = '{}'
			WHERE author_id = $1`},
		{nil, `DELETE FROM reactions WHERE member_id = $1`},
	}
	for _, st := range steps {
		tag, err := tx.Exec(ctx, st.query, id)
		if err != nil {
			return err
		}
		if st.dst != nil {
			*st.dst += int(tag.RowsAffected())
		}
	}
	return nil
}
