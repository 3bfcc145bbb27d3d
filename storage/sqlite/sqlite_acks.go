package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// ackPair is one member's answers to one alert.
type ackPair struct{ alert, member string }

// freshAcks picks the answers of a RecordAcks batch that say something
// new. Each pair's addressed answers (ok) are taken by At (ties in batch
// order); one equal to the answer before it (storage.SameAnswer), the
// first compared with the answer the pair holds now (held), is dropped.
// hist lists the fresh answers in batch order, order the pairs with one,
// and latest the newest fresh answer of each pair (ties: the later one).
//
// Comparing with the answer just before is enough to make a run of equal
// answers count once: a dropped answer equals its predecessor, so the one
// after it is compared with the same content either way. The PostgreSQL
// store does the same with lag() over the batch (recordAcksSQL).
func freshAcks(acks []storage.Ack, ok []bool, held map[ackPair]*storage.Ack) (hist []int, order []ackPair, latest map[ackPair]int) {
	byPair := map[ackPair][]int{}
	var pairs []ackPair
	for i := range acks {
		if !ok[i] {
			continue
		}
		k := ackPair{acks[i].AlertID, acks[i].MemberID}
		if _, seen := byPair[k]; !seen {
			pairs = append(pairs, k)
		}
		byPair[k] = append(byPair[k], i)
	}
	fresh := make([]bool, len(acks))
	latest = map[ackPair]int{}
	for _, k := range pairs {
		idx := byPair[k]
		slices.SortStableFunc(idx, func(a, b int) int { return acks[a].At.Compare(acks[b].At) })
		prev := held[k]
		for _, i := range idx {
			if prev != nil && storage.SameAnswer(&acks[i], prev) {
				continue
			}
			fresh[i] = true
			prev = &acks[i]
			latest[k] = i // taken by At: the last fresh one is the newest
		}
		if _, has := latest[k]; has {
			order = append(order, k)
		}
	}
	for i, f := range fresh {
		if f {
			hist = append(hist, i)
		}
	}
	return hist, order, latest
}

// trimAckHistory keeps the newest storage.AckHistoryMax answers of each
// pair (by id: the order they were recorded). acks_alert_member (00008)
// finds a pair's rows; the CROSS JOIN keeps the pairs as the outer loop.
func trimAckHistory(ctx context.Context, tx *sql.Tx, pairs [][2]string) error {
	if len(pairs) == 0 {
		return nil
	}
	data, err := json.Marshal(pairs)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM acks WHERE id IN (
		SELECT id FROM (
			SELECT a.id, row_number() OVER (PARTITION BY a.alert_id, a.member_id ORDER BY a.id DESC) AS n
			FROM json_each(?) AS p CROSS JOIN acks AS a
			WHERE a.alert_id = p.value ->> 0 AND a.member_id = p.value ->> 1)
		WHERE n > ?)`, string(data), storage.AckHistoryMax)
	return err
}

// AckHistory lists the kept answers of a member to an alert, oldest first.
func (s *Store) AckHistory(ctx context.Context, alertID, memberID string) (_ []storage.Ack, err error) {
	defer errd.Wrap(&err, "sqlite: ack history")
	if err := s.settle(ctx, alertID); err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT response, eta_min, note, at, by_id FROM acks
		WHERE alert_id = ? AND member_id = ? ORDER BY id`, alertID, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.Ack
	for rows.Next() {
		a := storage.Ack{AlertID: alertID, MemberID: memberID}
		if err := rows.Scan(&a.Response, intPtrCol{&a.EtaMin}, &a.Note, timeCol{&a.At}, &a.By); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MediaInfo reads a media row's metadata, not its bytes.
func (s *Store) MediaInfo(ctx context.Context, id string) (_ storage.Media, err error) {
	defer errd.Wrap(&err, "sqlite: media info")
	var m storage.Media
	err = s.readRow(ctx, `SELECT id, content_type, size, owner_id, created_at
		FROM media WHERE id = ?`, id).Scan(&m.ID, &m.ContentType, &m.Size, &m.OwnerID, timeCol{&m.CreatedAt})
	if err != nil {
		return storage.Media{}, notFound(err, "media "+id)
	}
	return m, nil
}
