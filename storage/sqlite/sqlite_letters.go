package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// The villager mailbox (storage.Letters).

var _ storage.Letters = (*Store)(nil)

const letterCols = `id, village_id, writer_id, to_level, level, status, overdue, subject, body,
	created_at, updated_at, answered_at, closed_at, created_seq, seq`

type rowScanner interface{ Scan(dest ...any) error }

func scanLetter(r rowScanner) (storage.Letter, error) {
	var l storage.Letter
	err := r.Scan(&l.ID, &l.VillageID, &l.WriterID, &l.To, &l.Level, &l.Status, &l.Overdue, &l.Subject, &l.Body,
		timeCol{&l.CreatedAt}, timeCol{&l.UpdatedAt}, timeCol{&l.AnsweredAt}, timeCol{&l.ClosedAt}, &l.CreatedSeq, &l.Seq)
	return l, err
}

func insertLetterReaders(ctx context.Context, tx *sql.Tx, id string, rs []storage.LetterReader) error {
	for _, r := range rs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO letter_readers (letter_id, member_id, reason, by_id, at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, id, r.MemberID, r.Reason, r.By, tv(r.At)); err != nil {
			return err
		}
	}
	return nil
}

func insertLetterEntry(ctx context.Context, tx *sql.Tx, id string, e *storage.LetterEntry) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO letter_entries (letter_id, n, kind, actor_id, body, level, member_id, at)
		SELECT ?, COALESCE(MAX(n), 0) + 1, ?, ?, ?, ?, ?, ? FROM letter_entries WHERE letter_id = ?`,
		id, e.Kind, e.ActorID, e.Body, e.Level, e.MemberID, tv(e.At), id)
	return err
}

// CreateLetter stores a letter, its first entry, its readers and its event.
func (s *Store) CreateLetter(ctx context.Context, l *storage.Letter, readers []storage.LetterReader, ev *storage.Event) (err error) {
	defer errd.Wrap(&err, "sqlite: create letter")
	if !ev.Addressed() {
		return storage.ErrNotAddressed
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := appendEvent(ctx, tx, ev); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO letters (`+letterCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.VillageID, l.WriterID, l.To, l.Level, l.Status, l.Overdue, l.Subject, l.Body,
			tv(l.CreatedAt), tv(l.UpdatedAt), tv(l.AnsweredAt), tv(l.ClosedAt), ev.Seq, ev.Seq); err != nil {
			return mapErr(err)
		}
		if err := insertLetterEntry(ctx, tx, l.ID, &storage.LetterEntry{Kind: storage.EntryLetter, ActorID: l.WriterID,
			Body: l.Body, Level: l.Level, At: l.CreatedAt}); err != nil {
			return err
		}
		if err := insertLetterReaders(ctx, tx, l.ID, readers); err != nil {
			return err
		}
		l.CreatedSeq, l.Seq = ev.Seq, ev.Seq
		return nil
	})
}

// GetLetter reads one letter.
func (s *Store) GetLetter(ctx context.Context, id string) (_ storage.Letter, err error) {
	defer errd.Wrap(&err, "sqlite: get letter")
	l, err := scanLetter(s.readRow(ctx, `SELECT `+letterCols+` FROM letters WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, storage.ErrNotFound
	}
	return l, err
}

// LetterThread reads a letter's entries and readers.
func (s *Store) LetterThread(ctx context.Context, id string) (es []storage.LetterEntry, rs []storage.LetterReader, err error) {
	defer errd.Wrap(&err, "sqlite: letter thread")
	err = s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT n, kind, actor_id, body, level, member_id, at
			FROM letter_entries WHERE letter_id = ? ORDER BY n`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		es = []storage.LetterEntry{}
		for rows.Next() {
			var e storage.LetterEntry
			if err := rows.Scan(&e.N, &e.Kind, &e.ActorID, &e.Body, &e.Level, &e.MemberID, timeCol{&e.At}); err != nil {
				return err
			}
			es = append(es, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rrows, err := tx.QueryContext(ctx, `SELECT member_id, reason, by_id, at FROM letter_readers
			WHERE letter_id = ? ORDER BY at, member_id`, id)
		if err != nil {
			return err
		}
		defer rrows.Close()
		rs = []storage.LetterReader{}
		for rrows.Next() {
			var r storage.LetterReader
			if err := rrows.Scan(&r.MemberID, &r.Reason, &r.By, timeCol{&r.At}); err != nil {
				return err
			}
			rs = append(rs, r)
		}
		return rrows.Err()
	})
	return es, rs, err
}

// IsLetterReader tells whether the member has a reader row of the letter.
func (s *Store) IsLetterReader(ctx context.Context, id, memberID string) (ok bool, err error) {
	defer errd.Wrap(&err, "sqlite: is letter reader")
	err = s.readRow(ctx, `SELECT EXISTS (SELECT 1 FROM letter_readers WHERE letter_id = ? AND member_id = ?)`,
		id, memberID).Scan(&ok)
	return ok, err
}

// ListLetters lists letters per f, newest first.
func (s *Store) ListLetters(ctx context.Context, f storage.LetterFilter) (_ []storage.Letter, err error) {
	defer errd.Wrap(&err, "sqlite: list letters")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q := `SELECT ` + letterCols + ` FROM letters WHERE `
	var args []any
	if f.Open {
		q += `status = 'open'`
	} else {
		q += `(writer_id = ? OR id IN (SELECT letter_id FROM letter_readers WHERE member_id = ?))`
		args = append(args, f.Reader, f.Reader)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Level != "" {
		q += ` AND level = ?`
		args = append(args, f.Level)
	}
	if f.Overdue != nil {
		q += ` AND overdue = ?`
		args = append(args, *f.Overdue)
	}
	if f.Before > 0 {
		q += ` AND created_seq < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY created_seq DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Letter{}
	for rows.Next() {
		l, err := scanLetter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// ChangeLetter applies one step of a letter in one transaction.
func (s *Store) ChangeLetter(ctx context.Context, c *storage.LetterChange) (_ storage.Letter, err error) {
	defer errd.Wrap(&err, "sqlite: change letter")
	for _, ev := range c.Events {
		if !ev.Addressed() {
			return storage.Letter{}, storage.ErrNotAddressed
		}
	}
	var out storage.Letter
	err = s.write(ctx, func(tx *sql.Tx) error {
		l, err := scanLetter(tx.QueryRowContext(ctx, `SELECT `+letterCols+` FROM letters WHERE id = ?`, c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if l.Status != c.ExpectStatus || l.Level != c.ExpectLevel || l.Overdue != c.ExpectOverdue {
			return storage.ErrConflict
		}
		if c.Entry != nil {
			if err := insertLetterEntry(ctx, tx, c.ID, c.Entry); err != nil {
				return err
			}
		}
		if err := insertLetterReaders(ctx, tx, c.ID, c.Readers); err != nil {
			return err
		}
		if err := insertMessages(ctx, tx, c.Messages); err != nil {
			return err
		}
		if c.CancelMessages {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'cancelled'
				WHERE ref_type = ? AND ref_id = ? AND state = 'pending'`, storage.RefLetter, c.ID); err != nil {
				return err
			}
		}
		seq := l.Seq
		for _, ev := range c.Events {
			if err := appendEvent(ctx, tx, ev); err != nil {
				return err
			}
			seq = ev.Seq
		}
		st := c.Set
		if _, err := tx.ExecContext(ctx, `UPDATE letters SET status = ?, level = ?, overdue = ?, updated_at = ?,
			answered_at = ?, closed_at = ?, seq = ? WHERE id = ?`,
			st.Status, st.Level, st.Overdue, tv(st.UpdatedAt), tv(st.AnsweredAt), tv(st.ClosedAt), seq, c.ID); err != nil {
			return err
		}
		l.Status, l.Level, l.Overdue, l.UpdatedAt, l.AnsweredAt, l.ClosedAt, l.Seq =
			st.Status, st.Level, st.Overdue, st.UpdatedAt, st.AnsweredAt, st.ClosedAt, seq
		out = l
		return nil
	})
	return out, err
}
