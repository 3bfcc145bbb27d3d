package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// The audit trail and alert templates (storage.Audit, storage.Templates).

var (
	_ storage.Audit     = (*Store)(nil)
	_ storage.Templates = (*Store)(nil)
)

// nullJSON is the column value of optional JSON: NULL when empty.
func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// AppendAudit stores e; e.Seq is set.
func (s *Store) AppendAudit(ctx context.Context, e *storage.AuditEntry) (err error) {
	defer errd.Wrap(&err, "sqlite: append audit")
	return s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit
			(at, actor_id, actor_role, token_id, addr, method, route, target, status, before, after)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			tv(e.At), e.ActorID, string(e.ActorRole), e.TokenID, e.Addr, e.Method, e.Route, e.Target, e.Status,
			nullJSON(e.Before), nullJSON(e.After)).Scan(&e.Seq)
	})
}

// ListAudit returns the entries f selects, newest first.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) (_ []storage.AuditEntry, err error) {
	defer errd.Wrap(&err, "sqlite: list audit")
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add("instr(route, ?) > 0", f.Action)
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= ?", tv(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", tv(f.Until))
	}
	if f.BeforeSeq > 0 {
		add("seq < ?", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT seq, at, actor_id, actor_role, token_id, addr, method, route, target, status, before, after FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.AuditEntry{}
	for rows.Next() {
		var e storage.AuditEntry
		var role string
		var before, after sql.NullString
		if err := rows.Scan(&e.Seq, timeCol{&e.At}, &e.ActorID, &role, &e.TokenID, &e.Addr, &e.Method, &e.Route,
			&e.Target, &e.Status, &before, &after); err != nil {
			return nil, err
		}
		e.ActorRole = storage.Role(role)
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const templateCols = `id, name, kind, severity, title, body, expiry_hours, roles, updated_by, updated_at`

func scanTemplate(sc interface{ Scan(...any) error }) (storage.Template, error) {
	var t storage.Template
	var roles sql.NullString
	err := sc.Scan(&t.ID, &t.Name, &t.Kind, &t.Severity, &t.Title, &t.Body, &t.ExpiryHours, &roles,
		&t.UpdatedBy, timeCol{&t.UpdatedAt})
	if err == nil && roles.Valid {
		err = json.Unmarshal([]byte(roles.String), &t.Roles)
	}
	return t, err
}

// ListTemplates returns the stored templates by id.
func (s *Store) ListTemplates(ctx context.Context) (_ []storage.Template, err error) {
	defer errd.Wrap(&err, "sqlite: list templates")
	rows, err := s.r.QueryContext(ctx, `SELECT `+templateCols+` FROM templates ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// GetTemplate reads one stored template; storage.ErrNotFound when none.
func (s *Store) GetTemplate(ctx context.Context, id string) (_ storage.Template, err error) {
	defer errd.Wrap(&err, "sqlite: get template")
	t, err := scanTemplate(s.r.QueryRowContext(ctx, `SELECT `+templateCols+` FROM templates WHERE id = ?`, id))
	return t, notFound(err, "template "+id)
}

// PutTemplate inserts or replaces the template with t.ID.
func (s *Store) PutTemplate(ctx context.Context, t storage.Template) (err error) {
	defer errd.Wrap(&err, "sqlite: put template")
	var roles any
	if t.Roles != nil {
		b, err := json.Marshal(t.Roles)
		if err != nil {
			return err
		}
		roles = string(b)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO templates (`+templateCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, severity = excluded.severity,
			title = excluded.title, body = excluded.body, expiry_hours = excluded.expiry_hours, roles = excluded.roles,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
			t.ID, t.Name, t.Kind, t.Severity, t.Title, t.Body, t.ExpiryHours, roles, t.UpdatedBy, tv(t.UpdatedAt))
		return err
	})
}

// DeleteTemplate removes the stored template; storage.ErrNotFound when none.
func (s *Store) DeleteTemplate(ctx context.Context, id string) (err error) {
	defer errd.Wrap(&err, "sqlite: delete template")
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM templates WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(sql.ErrNoRows, "template "+id)
		}
		return nil
	})
}
