package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// InboundSeen tells whether the inbound SMS sid was recorded.
func (s *Store) InboundSeen(ctx context.Context, sid string) (_ bool, err error) {
	defer wrapErr(&err, "inbound seen")
	var one int
	err = s.pool.QueryRow(ctx, `SELECT 1 FROM inbound_sms WHERE sid = $1`, sid).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// RecordInbound records an inbound SMS once and, for an unreadable one,
// queues help unless the member got one for the alert already
// (storage.Voice). The member's row is locked first, so two webhooks of
// the same member are serialized and queue one help message between them.
func (s *Store) RecordInbound(ctx context.Context, in storage.Inbound, help *storage.Message) (dup, queued bool, err error) {
	defer wrapErr(&err, "record inbound")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		dup, queued = false, false
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM members WHERE id = $1 FOR UPDATE`, in.MemberID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNotFound("member", in.MemberID)
			}
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO inbound_sms (sid, member_id, alert_id, outcome, response, at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sid) DO NOTHING`,
			in.SID, in.MemberID, in.AlertID, in.Outcome, in.Response, in.At)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			dup = true
			return nil
		}
		if help == nil {
			return nil
		}
		outcome := storage.InboundUnread
		err = tx.QueryRow(ctx, `SELECT 1 FROM inbound_sms
			WHERE member_id = $1 AND alert_id = $2 AND outcome = 'help' LIMIT 1`, in.MemberID, in.AlertID).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			state := help.State
			if state == "" {
				state = storage.MessagePending
			}
			if _, err := tx.Exec(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind,
				state, priority, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
				help.Channel, help.Ref.Type, help.Ref.ID, help.MemberID, help.Kind, state, help.Priority,
				nullTime(help.DueAt)); err != nil {
				return err
			}
			outcome, queued = storage.InboundHelp, true
		case err != nil:
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE inbound_sms SET outcome = $2 WHERE sid = $1`, in.SID, outcome)
		return err
	})
	return dup, queued, err
}

// ChannelCounts counts the alert's alert messages on the channel by state.
func (s *Store) ChannelCounts(ctx context.Context, alertID, channel string) (_ storage.SMSCounts, err error) {
	defer wrapErr(&err, "channel counts")
	var c storage.SMSCounts
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM alerts WHERE id = $1`, alertID).Scan(&one); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return c, errNotFound("alert", alertID)
		}
		return c, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT state, COUNT(*)::int, COALESCE(SUM(segments), 0)::int FROM outbox
		WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND channel = $2 GROUP BY state`, alertID, channel)
	var state string
	var n, segs int
	_, err = pgx.ForEachRow(rows, []any{&state, &n, &segs}, func() error {
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
		return nil
	})
	return c, err
}

// ChannelStates maps each member with an alert message on the channel to
// its state.
func (s *Store) ChannelStates(ctx context.Context, alertID, channel string) (_ map[string]string, err error) {
	defer wrapErr(&err, "channel states")
	rows, _ := s.pool.Query(ctx, `SELECT member_id, state FROM outbox
		WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND channel = $2`, alertID, channel)
	out := map[string]string{}
	var m, st string
	_, err = pgx.ForEachRow(rows, []any{&m, &st}, func() error {
		out[m] = st
		return nil
	})
	return out, err
}
