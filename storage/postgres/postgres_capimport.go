package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// CAP import and updates in place (storage/capimport.go, docs/API.md v1.6).

// recordImport writes the CAP message imp (nil: nothing) as concerning
// alertID; storage.ErrConflict when it was imported already.
func recordImport(ctx context.Context, tx pgx.Tx, imp *storage.CAPImport, alertID string) error {
	if imp == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO cap_imports (sender, identifier, msg_type, alert_id, imported_at)
		VALUES ($1, $2, $3, $4, $5)`, imp.Sender, imp.Identifier, imp.MsgType, alertID, imp.At); err != nil {
		return fmt.Errorf("cap message %s %s: %w", imp.Sender, imp.Identifier, mapErr(err))
	}
	return nil
}

// CAPImported returns the import of sender+identifier and its alert.
func (s *Store) CAPImported(ctx context.Context, sender, identifier string) (_ storage.CAPImport, _ string, err error) {
	defer wrapErr(&err, "cap imported")
	imp := storage.CAPImport{Sender: sender, Identifier: identifier}
	var alertID string
	err = s.pool.QueryRow(ctx, `SELECT msg_type, alert_id, imported_at FROM cap_imports
		WHERE sender = $1 AND identifier = $2`, sender, identifier).Scan(&imp.MsgType, &alertID, &imp.At)
	if err != nil {
		return storage.CAPImport{}, "", err
	}
	return imp, alertID, nil
}

// UpdateAlert updates an active alert in place (storage.AlertUpdates). The
// alert's row lock orders it with cancels and AddTargets (FOR SHARE).
func (s *Store) UpdateAlert(ctx context.Context, u *storage.AlertUpdate, ev, gone *storage.Event) (_ storage.UpdateResult, err error) {
	defer wrapErr(&err, "update alert")
	add := dedupTargets(u.Add)
	slices.SortFunc(add, func(x, y storage.Target) int { return strings.Compare(x.MemberID, y.MemberID) })
	ids := make([]string, len(add))
	dues := make([]*time.Time, len(add))
	prios := make([]int32, len(add))
	voiceDues := make([]*time.Time, len(add))
	for i, t := range add {
		ids[i], dues[i], prios[i] = t.MemberID, nullTime(t.SMSDueAt), int32(t.SMSPriority)
		voiceDues[i] = nullTime(t.VoiceDueAt)
	}
	remove := slices.Clone(u.Remove)
	slices.Sort(remove)
	var res storage.UpdateResult
	var seq int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		res = storage.UpdateResult{Added: []string{}}
		var active bool
		if err := tx.QueryRow(ctx, `SELECT status = 'active' AND expires_at > $2 FROM alerts WHERE id = $1 FOR UPDATE`,
			u.ID, u.At).Scan(&active); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNotFound("alert", u.ID)
			}
			return err
		}
		if !active {
			return fmt.Errorf("alert %s is not active: %w", u.ID, storage.ErrConflict)
		}
		if err := recordImport(ctx, tx, u.Import, u.ID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, eventCTE+`UPDATE alerts a SET update_seq = e.seq FROM e
			WHERE a.id = $7 RETURNING e.seq`, append(eventArgs(ev), u.ID)...).Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET severity = $2, title = $3, body = $4, area = $5, villages = $6,
			expires_at = $7, meta = COALESCE($8, meta), updated_by = $9, updated_at = $10 WHERE id = $1`,
			u.ID, u.Severity, u.Title, u.Body, jsonArg(u.Area), textArray(u.Villages), u.ExpiresAt,
			jsonArg(u.Meta), u.By, u.At); err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := missingMember(ctx, tx, ids); err != nil {
				return err
			}
			rows, _ := tx.Query(ctx, addTargetsSQL, u.ID, ids, dues, u.At, prios, voiceDues)
			newIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			isNew := make(map[string]bool, len(newIDs))
			for _, id := range newIDs {
				isNew[id] = true
			}
			for _, t := range u.Add {
				if isNew[t.MemberID] {
					res.Added = append(res.Added, t.MemberID)
					delete(isNew, t.MemberID)
				}
			}
		}
		if len(remove) > 0 {
			rows, _ := tx.Query(ctx, `DELETE FROM deliveries WHERE alert_id = $1 AND member_id = ANY($2::text[])
				RETURNING member_id`, u.ID, remove)
			removed, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'cancelled'
				WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND state IN ('pending', 'claimed')
				AND member_id = ANY($2::text[])`, u.ID, remove); err != nil {
				return err
			}
			slices.Sort(removed)
			for _, id := range removed {
				g := *gone
				g.MemberID = id
				if err := tx.QueryRow(ctx, eventCTE+`SELECT seq FROM e`, eventArgs(&g)...).Scan(&g.Seq); err != nil {
					return err
				}
				res.Removed = append(res.Removed, g)
			}
		}
		res.Alert, err = scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts a WHERE a.id = $1`, u.ID))
		return err
	})
	if err != nil {
		return storage.UpdateResult{}, err
	}
	ev.Seq = seq
	return res, nil
}

// CancelAlertBy is CancelAlert recording who cancelled and the CAP message.
func (s *Store) CancelAlertBy(ctx context.Context, id string, at time.Time, by string, imp *storage.CAPImport,
	ev *storage.Event) (_ storage.Alert, err error) {
	defer wrapErr(&err, "cancel alert")
	return s.cancelAlert(ctx, id, at, by, imp, ev)
}
