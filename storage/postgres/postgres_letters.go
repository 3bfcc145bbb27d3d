package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// The villager mailbox (storage.Letters).

var _ storage.Letters = (*Store)(nil)

const letterCols = `id, village_id, writer_id, to_level, level, status, overdue, subject, body,
	created_at, updated_at, answered_at, closed_at, created_seq, seq`

func scanLetter(r pgx.Row) (storage.Letter, error) {
	var l storage.Letter
	var answered, closed *time.Time
	err := r.Scan(&l.ID, &l.VillageID, &l.WriterID, &l.To, &l.Level, &l.Status, &l.Overdue, &l.Subject, &l.Body,
		&l.CreatedAt, &l.UpdatedAt, &answered, &closed, &l.CreatedSeq, &l.Seq)
	l.AnsweredAt, l.ClosedAt = derefTime(answered), derefTime(closed)
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, err
}

func insertLetterReaders(ctx context.Context, tx pgx.Tx, id string, rs []storage.LetterReader) error {
	for _, r := range rs {
		if _, err := tx.Exec(ctx, `INSERT INTO letter_readers (letter_id, member_id, reason, by_id, at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, id, r.MemberID, r.Reason, r.By, r.At); err != nil {
			return err
		}
	}
	return nil
}

func insertLetterEntry(ctx context.Context, tx pgx.Tx, id string, e *storage.LetterEntry) error {
	_, err := tx.Exec(ctx, `INSERT INTO letter_entries (letter_id, n, kind, actor_id, body, level, member_id, at)
		SELECT $1, COALESCE(MAX(n), 0) + 1, $2, $3, $4, $5, $6, $7 FROM letter_entries WHERE letter_id = $1`,
		id, e.Kind, e.ActorID, e.Body, e.Level, e.MemberID, e.At)
	return err
}

// CreateLetter stores a letter, its first entry, its readers and its
// event; the letter row goes with the event, in the last statement.
func (s *Store) CreateLetter(ctx context.Context, l *storage.Letter, readers []storage.LetterReader, ev *storage.Event) (err error) {
	defer wrapErr(&err, "create letter")
	if !ev.Addressed() {
		return storage.ErrNotAddressed
	}
	var seq int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertLetterEntry(ctx, tx, l.ID, &storage.LetterEntry{Kind: storage.EntryLetter, ActorID: l.WriterID,
			Body: l.Body, Level: l.Level, At: l.CreatedAt}); err != nil {
			return err
		}
		if err := insertLetterReaders(ctx, tx, l.ID, readers); err != nil {
			return err
		}
		args := append(addressedEventArgs(ev), l.ID, l.VillageID, l.WriterID, l.To, l.Level, l.Status, l.Overdue,
			l.Subject, l.Body, l.CreatedAt, l.UpdatedAt, nullTime(l.AnsweredAt), nullTime(l.ClosedAt))
		return tx.QueryRow(ctx, addressedEventCTE+`, l AS (
			INSERT INTO letters (`+letterCols+`)
			SELECT $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, e.seq, e.seq FROM e
		) SELECT seq FROM e`, args...).Scan(&seq)
	})
	if err != nil {
		return err
	}
	ev.Seq, l.CreatedSeq, l.Seq = seq, seq, seq
	return nil
}

// GetLetter reads one letter.
func (s *Store) GetLetter(ctx context.Context, id string) (_ storage.Letter, err error) {
	defer wrapErr(&err, "get letter")
	return scanLetter(s.pool.QueryRow(ctx, `SELECT `+letterCols+` FROM letters WHERE id = $1`, id))
}

// LetterThread reads a letter's entries and readers (one snapshot).
func (s *Store) LetterThread(ctx context.Context, id string) (es []storage.LetterEntry, rs []storage.LetterReader, err error) {
	defer wrapErr(&err, "letter thread")
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT n, kind, actor_id, body, level, member_id, at
			FROM letter_entries WHERE letter_id = $1 ORDER BY n`, id)
		if err != nil {
			return err
		}
		es = []storage.LetterEntry{}
		for rows.Next() {
			var e storage.LetterEntry
			if err := rows.Scan(&e.N, &e.Kind, &e.ActorID, &e.Body, &e.Level, &e.MemberID, &e.At); err != nil {
				rows.Close()
				return err
			}
			e.At = e.At.UTC()
			es = append(es, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rrows, err := tx.Query(ctx, `SELECT member_id, reason, by_id, at FROM letter_readers
			WHERE letter_id = $1 ORDER BY at, member_id`, id)
		if err != nil {
			return err
		}
		defer rrows.Close()
		rs = []storage.LetterReader{}
		for rrows.Next() {
			var r storage.LetterReader
			if err := rrows.Scan(&r.MemberID, &r.Reason, &r.By, &r.At); err != nil {
				return err
			}
			r.At = r.At.UTC()
			rs = append(rs, r)
		}
		return rrows.Err()
	})
	return es, rs, err
}

// IsLetterReader tells whether the member has a reader row of the letter.
func (s *Store) IsLetterReader(ctx context.Context, id, memberID string) (ok bool, err error) {
	defer wrapErr(&err, "is letter reader")
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM letter_readers WHERE letter_id = $1 AND member_id = $2)`,
		id, memberID).Scan(&ok)
	return ok, err
}

// ListLetters lists letters per f, newest first.
func (s *Store) ListLetters(ctx context.Context, f storage.LetterFilter) (_ []storage.Letter, err error) {
	defer wrapErr(&err, "list letters")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Open {
		where = append(where, `status = 'open'`)
	} else {
		r := arg(f.Reader)
		where = append(where, `(writer_id = `+r+` OR id IN (SELECT letter_id FROM letter_readers WHERE member_id = `+r+`))`)
	}
	if f.Status != "" {
		where = append(where, `status = `+arg(f.Status))
	}
	if f.Level != "" {
		where = append(where, `level = `+arg(f.Level))
	}
	if f.Overdue != nil {
		where = append(where, `overdue = `+arg(*f.Overdue))
	}
	if f.Before > 0 {
		where = append(where, `created_seq < `+arg(f.Before))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+letterCols+` FROM letters WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_seq DESC LIMIT `+arg(f.Limit), args...)
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

// ChangeLetter applies one step of a letter in one transaction: the row
// is locked and checked first, the events go last (the seq counter's
// rule), the last one with the letter's seq.
func (s *Store) ChangeLetter(ctx context.Context, c *storage.LetterChange) (_ storage.Letter, err error) {
	defer wrapErr(&err, "change letter")
	for _, ev := range c.Events {
		if !ev.Addressed() {
			return storage.Letter{}, storage.ErrNotAddressed
		}
	}
	var out storage.Letter
	seqs := make([]int64, len(c.Events))
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		l, err := scanLetter(tx.QueryRow(ctx, `SELECT `+letterCols+` FROM letters WHERE id = $1 FOR UPDATE`, c.ID))
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
			if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'cancelled'
				WHERE ref_type = $1 AND ref_id = $2 AND state = 'pending'`, storage.RefLetter, c.ID); err != nil {
				return err
			}
		}
		st := c.Set
		if _, err := tx.Exec(ctx, `UPDATE letters SET status = $1, level = $2, overdue = $3, updated_at = $4,
			answered_at = $5, closed_at = $6 WHERE id = $7`,
			st.Status, st.Level, st.Overdue, st.UpdatedAt, nullTime(st.AnsweredAt), nullTime(st.ClosedAt), c.ID); err != nil {
			return err
		}
		seq := l.Seq
		for i, ev := range c.Events {
			if i < len(c.Events)-1 {
				if err := tx.QueryRow(ctx, addressedEventCTE+`SELECT seq FROM e`, addressedEventArgs(ev)...).Scan(&seqs[i]); err != nil {
					return err
				}
				continue
			}
			if err := tx.QueryRow(ctx, addressedEventCTE+`, l AS (
				UPDATE letters SET seq = e.seq FROM e WHERE id = $9
			) SELECT seq FROM e`, append(addressedEventArgs(ev), c.ID)...).Scan(&seqs[i]); err != nil {
				return err
			}
			seq = seqs[i]
		}
		l.Status, l.Level, l.Overdue, l.UpdatedAt, l.AnsweredAt, l.ClosedAt, l.Seq =
			st.Status, st.Level, st.Overdue, st.UpdatedAt, st.AnsweredAt, st.ClosedAt, seq
		out = l
		return nil
	})
	if err != nil {
		return storage.Letter{}, err
	}
	for i, ev := range c.Events {
		ev.Seq = seqs[i]
	}
	return out, nil
}
