package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// CAP import and updates in place (storage/capimport.go, docs/API.md v1.6).

// recordImport writes the CAP message imp (nil: nothing) as concerning
// alertID; storage.ErrConflict when it was imported already.
func recordImport(ctx context.Context, tx *sql.Tx, imp *storage.CAPImport, alertID string) error {
	if imp == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cap_imports (sender, identifier, msg_type, alert_id, imported_at)
		VALUES (?, ?, ?, ?, ?)`, imp.Sender, imp.Identifier, imp.MsgType, alertID, tv(imp.At)); err != nil {
		return fmt.Errorf("cap message %s %s: %w", imp.Sender, imp.Identifier, mapErr(err))
	}
	return nil
}

// CAPImported returns the import of sender+identifier and its alert.
func (s *Store) CAPImported(ctx context.Context, sender, identifier string) (_ storage.CAPImport, _ string, err error) {
	defer errd.Wrap(&err, "sqlite: cap imported")
	imp := storage.CAPImport{Sender: sender, Identifier: identifier}
	var alertID string
	err = s.readRow(ctx, `SELECT msg_type, alert_id, imported_at FROM cap_imports WHERE sender = ? AND identifier = ?`,
		sender, identifier).Scan(&imp.MsgType, &alertID, timeCol{&imp.At})
	if err != nil {
		return storage.CAPImport{}, "", notFound(err, "cap message "+sender+" "+identifier)
	}
	return imp, alertID, nil
}

// UpdateAlert updates an active alert in place (storage.AlertUpdates).
func (s *Store) UpdateAlert(ctx context.Context, u *storage.AlertUpdate, ev, gone *storage.Event) (_ storage.UpdateResult, err error) {
	defer errd.Wrap(&err, "sqlite: update alert")
	if err := s.settle(ctx, u.ID); err != nil {
		return storage.UpdateResult{}, err
	}
	villages, err := jsonText(u.Villages)
	if err != nil {
		return storage.UpdateResult{}, err
	}
	removeJSON, err := json.Marshal(u.Remove)
	if err != nil {
		return storage.UpdateResult{}, err
	}
	var res storage.UpdateResult
	e := *ev
	err = s.write(ctx, func(tx *sql.Tx) error {
		res = storage.UpdateResult{Added: []string{}}
		a, err := getAlert(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if a.Status != storage.AlertActive || !a.ExpiresAt.After(u.At) {
			return fmt.Errorf("alert %s is not active: %w", u.ID, storage.ErrConflict)
		}
		if err := recordImport(ctx, tx, u.Import, u.ID); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, &e); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET severity = ?, title = ?, body = ?, area = ?, villages = ?,
			expires_at = ?, meta = COALESCE(?, meta), updated_by = ?, updated_at = ?, update_seq = ? WHERE id = ?`,
			u.Severity, u.Title, u.Body, rawText(u.Area), villages, tv(u.ExpiresAt), rawText(u.Meta),
			u.By, tv(u.At), e.Seq, u.ID); err != nil {
			return err
		}
		isNew, err := insertTargets(ctx, tx, u.ID, u.At, u.Add, false)
		if err != nil {
			return err
		}
		for _, t := range u.Add {
			if isNew[t.MemberID] {
				res.Added = append(res.Added, t.MemberID)
				delete(isNew, t.MemberID)
			}
		}
		if len(u.Remove) > 0 {
			rows, err := tx.QueryContext(ctx, `DELETE FROM deliveries WHERE alert_id = ?
				AND member_id IN (SELECT value FROM json_each(?)) RETURNING member_id`, u.ID, string(removeJSON))
			if err != nil {
				return err
			}
			var removed []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				removed = append(removed, id)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'cancelled'
				WHERE ref_type = 'alert' AND ref_id = ? AND kind = 'alert' AND state IN ('pending', 'claimed')
				AND member_id IN (SELECT value FROM json_each(?))`, u.ID, string(removeJSON)); err != nil {
				return err
			}
			slices.Sort(removed)
			for _, id := range removed {
				g := *gone
				g.MemberID = id
				if err := appendEvent(ctx, tx, &g); err != nil {
					return err
				}
				res.Removed = append(res.Removed, g)
			}
		}
		res.Alert, err = getAlert(ctx, tx, u.ID)
		return err
	})
	if err != nil {
		return storage.UpdateResult{}, err
	}
	ev.Seq = e.Seq
	return res, nil
}

// CancelAlertBy is CancelAlert recording who cancelled and the CAP message.
func (s *Store) CancelAlertBy(ctx context.Context, id string, at time.Time, by string, imp *storage.CAPImport,
	ev *storage.Event) (_ storage.Alert, err error) {
	defer errd.Wrap(&err, "sqlite: cancel alert")
	return s.cancelAlert(ctx, id, at, by, imp, ev)
}
