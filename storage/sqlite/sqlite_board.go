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

// The village board (v1.6, storage/board.go).

var _ storage.Board = (*Store)(nil)

// createReportBoard writes, in CreateReport's transaction, the board's
// part of a new report: its visibility, and the events of also.
func createReportBoard(ctx context.Context, tx *sql.Tx, r *storage.Report, also []*storage.Event) error {
	if r.Visibility == "" {
		r.Visibility = storage.VisibilityPrivate
	}
	if r.Visibility != storage.VisibilityPrivate {
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET visibility = ? WHERE id = ?`, r.Visibility, r.ID); err != nil {
			return err
		}
	}
	if r.RectificationPhotos == nil {
		r.RectificationPhotos = []string{}
	}
	return appendAlso(ctx, tx, also)
}

// appendAlso appends the events of also (each must be addressed) in tx and
// sets their seqs.
func appendAlso(ctx context.Context, tx *sql.Tx, also []*storage.Event) error {
	for _, ev := range also {
		if ev == nil {
			continue
		}
		if !ev.Addressed() {
			return storage.ErrNotAddressed
		}
		if err := appendEvent(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// attachMedia makes the uploads ids attached to owner (a report or a deed
// id), so the orphan sweep leaves them (sqlite_privacy.go).
func attachMedia(ctx context.Context, tx *sql.Tx, owner string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE media SET report_id = ?
		WHERE report_id IS NULL AND id IN (SELECT value FROM json_each(?))`, owner, string(b))
	return err
}

func photosText(p []string) (string, error) {
	if p == nil {
		p = []string{}
	}
	b, err := json.Marshal(p)
	return string(b), err
}

// CreateDeed stores a pending deed; d.N is set.
func (s *Store) CreateDeed(ctx context.Context, d *storage.Deed) (err error) {
	defer errd.Wrap(&err, "sqlite: create deed")
	pj, err := photosText(d.Photos)
	if err != nil {
		return err
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO deeds (id, village_id, title, text, photos, about,
			household_id, author_id, status, decided_by, decided_at, created_at, likes, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, ?, 0, 0)`,
			d.ID, d.VillageID, d.Title, d.Text, pj, d.About, d.HouseholdID, d.AuthorID, d.Status, tv(d.CreatedAt))
		if err != nil {
			return fmt.Errorf("deed %s: %w", d.ID, mapErr(err))
		}
		if n, err = res.LastInsertId(); err != nil {
			return err
		}
		return attachMedia(ctx, tx, d.ID, d.Photos)
	})
	if err != nil {
		return err
	}
	d.N = n
	if d.Photos == nil {
		d.Photos = []string{}
	}
	return nil
}

const deedCols = `n, id, village_id, title, text, photos, about, household_id, author_id, status,
	decided_by, decided_at, created_at, likes, seq`

func scanDeed(sc interface{ Scan(...any) error }) (storage.Deed, error) {
	var d storage.Deed
	err := sc.Scan(&d.N, &d.ID, &d.VillageID, &d.Title, &d.Text, jsonCol[[]string]{&d.Photos}, &d.About,
		&d.HouseholdID, &d.AuthorID, &d.Status, &d.DecidedBy, timeCol{&d.DecidedAt}, timeCol{&d.CreatedAt},
		&d.Likes, &d.Seq)
	if d.Photos == nil {
		d.Photos = []string{}
	}
	return d, err
}

// GetDeed returns a deed or storage.ErrNotFound.
func (s *Store) GetDeed(ctx context.Context, id string) (_ storage.Deed, err error) {
	defer errd.Wrap(&err, "sqlite: get deed")
	d, err := scanDeed(s.readRow(ctx, `SELECT `+deedCols+` FROM deeds WHERE id = ?`, id))
	return d, notFound(err, "deed "+id)
}

// ListDeeds returns the deeds f selects, newest first.
func (s *Store) ListDeeds(ctx context.Context, f storage.DeedFilter) (_ []storage.Deed, err error) {
	defer errd.Wrap(&err, "sqlite: list deeds")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"village_id", f.VillageID}, {"status", f.Status}, {"author_id", f.AuthorID}} {
		if c.v != "" {
			where = append(where, c.col+` = ?`)
			args = append(args, c.v)
		}
	}
	if f.After > 0 {
		where = append(where, `n < ?`)
		args = append(args, f.After)
	}
	q := `SELECT ` + deedCols + ` FROM deeds`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY n DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Deed{}
	for rows.Next() {
		d, err := scanDeed(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DecideDeed confirms or rejects a pending deed and appends ev's event.
func (s *Store) DecideDeed(ctx context.Context, id, status, by string, at time.Time, ev func(*storage.Deed) *storage.Event) (_ storage.Deed, err error) {
	defer errd.Wrap(&err, "sqlite: decide deed")
	var d storage.Deed
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = scanDeed(tx.QueryRowContext(ctx, `SELECT `+deedCols+` FROM deeds WHERE id = ?`, id)); err != nil {
			return notFound(err, "deed "+id)
		}
		if d.Status != storage.DeedPending {
			return fmt.Errorf("deed %s is %s: %w", id, d.Status, storage.ErrConflict)
		}
		d.Status, d.DecidedBy, d.DecidedAt = status, by, at
		var e *storage.Event
		if ev != nil {
			e = ev(&d)
		}
		if e != nil {
			if err := appendAlso(ctx, tx, []*storage.Event{e}); err != nil {
				return err
			}
			d.Seq = e.Seq
		}
		_, err = tx.ExecContext(ctx, `UPDATE deeds SET status = ?, decided_by = ?, decided_at = ?, seq = ?
			WHERE id = ?`, d.Status, d.DecidedBy, tv(d.DecidedAt), d.Seq, id)
		return err
	})
	if err != nil {
		return storage.Deed{}, err
	}
	return d, nil
}

// reactTable is the table and count columns of an item kind.
func reactTable(item string) (table string, ok bool) {
	switch item {
	case storage.ItemReport:
		return "reports", true
	case storage.ItemDeed:
		return "deeds", true
	}
	return "", false
}

// React records a reaction once and counts it.
func (s *Store) React(ctx context.Context, r storage.Reaction, ev func(storage.Counts) *storage.Event) (c storage.Counts, added bool, err error) {
	defer errd.Wrap(&err, "sqlite: react")
	table, ok := reactTable(r.Item)
	if !ok || (r.Kind != storage.ReactLike && r.Kind != storage.ReactUrge) ||
		(r.Item == storage.ItemDeed && r.Kind != storage.ReactLike) {
		return c, false, fmt.Errorf("reaction %s to a %s: %w", r.Kind, r.Item, storage.ErrNotFound)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		urges := `0`
		if table == "reports" {
			urges = `urges`
		}
		read := func() error {
			return tx.QueryRowContext(ctx, `SELECT likes, `+urges+` FROM `+table+` WHERE id = ?`, r.ItemID).
				Scan(&c.Likes, &c.Urges)
		}
		if err := read(); err != nil {
			return notFound(err, r.Item+" "+r.ItemID)
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO reactions (item, item_id, kind, member_id, at)
			VALUES (?, ?, ?, ?, ?)`, r.Item, r.ItemID, r.Kind, r.MemberID, tv(r.At))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		added = true
		col := `likes`
		if r.Kind == storage.ReactUrge {
			col = `urges`
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+col+` = `+col+` + 1 WHERE id = ?`, r.ItemID); err != nil {
			return err
		}
		if err := read(); err != nil {
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
	defer errd.Wrap(&err, "sqlite: reacted")
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT item_id, kind FROM reactions
		WHERE member_id = ? AND item = ? AND item_id IN (SELECT value FROM json_each(?)) ORDER BY item_id, kind`,
		memberID, item, string(b))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return nil, err
		}
		out[id] = append(out[id], kind)
	}
	return out, rows.Err()
}

// SetRectification replaces a report's rectification photos and appends
// ev's event.
func (s *Store) SetRectification(ctx context.Context, reportID string, photos []string, ev func(*storage.Report) *storage.Event) (_ storage.Report, err error) {
	defer errd.Wrap(&err, "sqlite: set rectification")
	pj, err := photosText(photos)
	if err != nil {
		return storage.Report{}, err
	}
	var r storage.Report
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE reports SET rectification_photos = ? WHERE id = ?`, pj, reportID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("report %s: %w", reportID, storage.ErrNotFound)
		}
		if err := attachMedia(ctx, tx, reportID, photos); err != nil {
			return err
		}
		if r, err = scanReport(tx.QueryRowContext(ctx, `SELECT `+reportCols+` FROM reports WHERE id = ?`, reportID)); err != nil {
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
	defer errd.Wrap(&err, "sqlite: board items")
	if limit <= 0 {
		limit = 100
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	var out []storage.BoardEntry
	err = func() error {
		rows, err := s.readRows(ctx, `SELECT `+reportCols+` FROM reports
			WHERE village_id = ? AND visibility = 'public' AND created_seq < ? ORDER BY created_seq DESC LIMIT ?`,
			villageID, before, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			r, err := scanReport(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, storage.BoardEntry{Seq: r.CreatedSeq, Report: &r})
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = s.readRows(ctx, `SELECT `+deedCols+` FROM deeds
			WHERE village_id = ? AND status = 'confirmed' AND seq < ? ORDER BY seq DESC LIMIT ?`,
			villageID, before, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDeed(rows)
			if err != nil {
				return err
			}
			out = append(out, storage.BoardEntry{Seq: d.Seq, Deed: &d})
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, err
	}
	return storage.MergeBoard(out, limit), nil
}

// BoardTally counts the village's public reports.
func (s *Store) BoardTally(ctx context.Context, villageID string) (t storage.BoardTally, err error) {
	defer errd.Wrap(&err, "sqlite: board tally")
	err = s.readRow(ctx, `SELECT COUNT(*), COALESCE(SUM(status = ?), 0), COALESCE(SUM(status = ?), 0)
		FROM reports WHERE village_id = ? AND visibility = 'public'`,
		storage.ReportRejected, storage.ReportResolved, villageID).Scan(&t.Public, &t.Rejected, &t.Resolved)
	return t, err
}

// OnBoard tells whether mediaID is a photo of the village's board.
func (s *Store) OnBoard(ctx context.Context, villageID, mediaID string) (ok bool, err error) {
	defer errd.Wrap(&err, "sqlite: on board")
	var owner string
	if err := s.readRow(ctx, `SELECT COALESCE(report_id, '') FROM media WHERE id = ?`, mediaID).Scan(&owner); err != nil {
		return false, notFound(err, "media "+mediaID)
	}
	if owner == "" {
		return false, nil
	}
	err = s.readRow(ctx, `SELECT EXISTS (SELECT 1 FROM reports WHERE id = ? AND village_id = ? AND visibility = 'public'
			AND (EXISTS (SELECT 1 FROM json_each(photos) p WHERE p.value = ?)
				OR EXISTS (SELECT 1 FROM json_each(rectification_photos) p WHERE p.value = ?)))
		OR EXISTS (SELECT 1 FROM deeds WHERE id = ? AND village_id = ? AND status = 'confirmed'
			AND EXISTS (SELECT 1 FROM json_each(photos) p WHERE p.value = ?))`,
		owner, villageID, mediaID, mediaID, owner, villageID, mediaID).Scan(&ok)
	return ok, err
}

// redactBoardReport removes, in a retention transaction, a redacted
// report's text and photos from its board events (found by their
// MemberID, the reporter), and its rectification photos, whose uploads
// the redaction deleted.
func redactBoardReport(ctx context.Context, tx *sql.Tx, member, reportID string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE events SET body = CAST(json_set(CAST(body AS TEXT),
			'$.item.report.text', '', '$.item.report.photos', json('[]'),
			'$.item.report.rectification_photos', json('[]')) AS BLOB)
		WHERE type = 'board' AND member_id = ? AND json_extract(CAST(body AS TEXT), '$.item.report.id') = ?`,
		member, reportID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE reports SET rectification_photos = '[]' WHERE id = ?`, reportID)
	return err
}

// eraseBoard removes, in EraseMember's transaction, what the board keeps
// of the member: the text, photos and name in the board events of its
// reports and deeds (their MemberID is the member), its deeds' title,
// text, whom and photos, and its reactions (the counts stay: they name
// no one).
func eraseBoard(ctx context.Context, tx *sql.Tx, id string, e *storage.Erasure) error {
	steps := []struct {
		dst   *int
		query string
	}{
		{&e.Events, `UPDATE events SET body = CAST(json_set(CAST(body AS TEXT), '$.item.report.text', '',
			'$.item.report.photos', json('[]'), '$.item.report.reporter', '') AS BLOB)
			WHERE type = 'board' AND member_id = ? AND json_extract(CAST(body AS TEXT), '$.item.type') = 'report'`},
		{&e.Events, `UPDATE events SET body = CAST(json_set(CAST(body AS TEXT), '$.item.deed.title', '',
			'$.item.deed.text', '', '$.item.deed.about', '', '$.item.deed.photos', json('[]'), '$.item.deed.author', '') AS BLOB)
			WHERE type = 'board' AND member_id = ? AND json_extract(CAST(body AS TEXT), '$.item.type') = 'deed'`},
		{&e.Deeds, `UPDATE deeds SET title = '', text = '', about = '', household_id = '', photos = '[]'
			WHERE author_id = ?`},
		{nil, `DELETE FROM reactions WHERE member_id = ?`},
	}
	for _, st := range steps {
		n, err := execN(ctx, tx, st.query, id)
		if err != nil {
			return err
		}
		if st.dst != nil {
			*st.dst += n
		}
	}
	return nil
}
