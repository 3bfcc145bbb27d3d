package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// InboundSeen tells whether the inbound SMS sid was recorded.
func (s *Store) InboundSeen(ctx context.Context, sid string) (_ bool, err error) {
	defer errd.Wrap(&err, "sqlite: inbound seen")
	var one int
	err = s.readRow(ctx, `SELECT 1 FROM inbound_sms WHERE sid = ?`, sid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// RecordInbound records an inbound SMS once and, for an unreadable one,
// queues help unless the member got one for the alert already, in one
// write transaction (storage.Voice).
func (s *Store) RecordInbound(ctx context.Context, in storage.Inbound, help *storage.Message) (dup, queued bool, err error) {
	defer errd.Wrap(&err, "sqlite: record inbound")
	err = s.write(ctx, func(tx *sql.Tx) error {
		dup, queued = false, false
		var one int
		switch err := tx.QueryRowContext(ctx, `SELECT 1 FROM inbound_sms WHERE sid = ?`, in.SID).Scan(&one); {
		case err == nil:
			dup = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		outcome := in.Outcome
		if help != nil {
			outcome = storage.InboundUnread
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM inbound_sms
				WHERE member_id = ? AND alert_id = ? AND outcome = 'help' LIMIT 1`, in.MemberID, in.AlertID).Scan(&one)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				state := help.State
				if state == "" {
					state = storage.MessagePending
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind,
					state, priority, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					help.Channel, help.Ref.Type, help.Ref.ID, help.MemberID, help.Kind, state, help.Priority,
					tv(help.DueAt)); err != nil {
					return mapErr(err)
				}
				outcome, queued = storage.InboundHelp, true
			case err != nil:
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inbound_sms (sid, member_id, alert_id, outcome, response, at)
			VALUES (?, ?, ?, ?, ?, ?)`, in.SID, in.MemberID, in.AlertID, outcome, in.Response, tv(in.At))
		return mapErr(err)
	})
	return dup, queued, err
}

// ChannelCounts counts the alert's alert messages on the channel by state.
func (s *Store) ChannelCounts(ctx context.Context, alertID, channel string) (_ storage.SMSCounts, err error) {
	defer errd.Wrap(&err, "sqlite: channel counts")
	if err := s.settle(ctx, alertID); err != nil {
		return storage.SMSCounts{}, err
	}
	var c storage.SMSCounts
	err = s.read(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM alerts WHERE id = ?`, alertID).Scan(&one); err != nil {
			return notFound(err, "alert "+alertID)
		}
		rows, err := tx.QueryContext(ctx, `SELECT state, COUNT(*), SUM(segments) FROM outbox
			WHERE ref_type = 'alert' AND ref_id = ? AND kind = 'alert' AND channel = ? GROUP BY state`, alertID, channel)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n, segs int
			if err := rows.Scan(&state, &n, &segs); err != nil {
				return err
			}
			addCount(&c, state, n, segs)
		}
		return rows.Err()
	})
	return c, err
}

// addCount adds n messages in state to c.
func addCount(c *storage.SMSCounts, state string, n, segs int) {
	c.Segments += segs
	switch state {
	case storage.MessagePending, storage.MessageClaimed, storage.MessageSending:
		c.Queued += n
	case storage.MessageSent:
		c.Sent += n
	case storage.MessageDelivered:
		c.Delivered += n
	case storage.MessageFailed:
		c.Failed += n
	}
}

// ChannelStates maps each member with an alert message on the channel to
// its state.
func (s *Store) ChannelStates(ctx context.Context, alertID, channel string) (_ map[string]string, err error) {
	defer errd.Wrap(&err, "sqlite: channel states")
	if err := s.settle(ctx, alertID); err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT member_id, state FROM outbox
		WHERE ref_type = 'alert' AND ref_id = ? AND kind = 'alert' AND channel = ?`, alertID, channel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var m, st string
		if err := rows.Scan(&m, &st); err != nil {
			return nil, err
		}
		out[m] = st
	}
	return out, rows.Err()
}
