package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// The audit trail and alert templates (storage.Audit, storage.Templates).

var (
	_ storage.Audit     = (*Store)(nil)
	_ storage.Templates = (*Store)(nil)
)

// AppendAudit stores e; e.Seq is set.
func (s *Store) AppendAudit(ctx context.Context, e *storage.AuditEntry) (err error) {
	defer wrapErr(&err, "append audit")
	return s.pool.QueryRow(ctx, `INSERT INTO audit
		(at, actor_id, actor_role, token_id, addr, method, route, target, status, before, after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb) RETURNING seq`,
		e.At, e.ActorID, string(e.ActorRole), e.TokenID, e.Addr, e.Method, e.Route, e.Target, e.Status,
		jsonArg(e.Before), jsonArg(e.After)).Scan(&e.Seq)
}

// ListAudit returns the entries f selects, newest first.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) (_ []storage.AuditEntry, err error) {
	defer wrapErr(&err, "list audit")
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$", "$"+strconv.Itoa(len(args))))
	}
	if f.ActorID != "" {
		add("actor_id = $", f.ActorID)
	}
	if f.Action != "" {
		add("strpos(route, $) > 0", f.Action)
	}
	if f.Target != "" {
		add("target = $", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= $", f.Since)
	}
	if !f.Until.IsZero() {
		add("at < $", f.Until)
	}
	if f.BeforeSeq > 0 {
		add("seq < $", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT seq, at, actor_id, actor_role, token_id, addr, method, route, target, status, before, after FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += " ORDER BY seq DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.AuditEntry{}
	for rows.Next() {
		var e storage.AuditEntry
		var role string
		var before, after []byte
		if err := rows.Scan(&e.Seq, &e.At, &e.ActorID, &role, &e.TokenID, &e.Addr, &e.Method, &e.Route,
			&e.Target, &e.Status, &before, &after); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		e.ActorRole = storage.Role(role)
		if len(before) > 0 {
			e.Before = before
		}
		if len(after) > 0 {
			e.After = after
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const templateCols = `id, name, kind, severity, title, body, expiry_hours, roles, updated_by, updated_at`

func scanTemplate(row pgx.Row) (storage.Template, error) {
	var t storage.Template
	var roles []byte
	err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Severity, &t.Title, &t.Body, &t.ExpiryHours, &roles,
		&t.UpdatedBy, &t.UpdatedAt)
	if err == nil && len(roles) > 0 {
		err = json.Unmarshal(roles, &t.Roles)
	}
	t.UpdatedAt = t.UpdatedAt.UTC()
	return t, err
}

// ListTemplates returns the stored templates by id.
func (s *Store) ListTemplates(ctx context.Context) (_ []storage.Template, err error) {
	defer wrapErr(&err, "list templates")
	rows, err := s.pool.Query(ctx, `SELECT `+templateCols+` FROM templates ORDER BY id`)
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
	defer wrapErr(&err, "get template "+id)
	return scanTemplate(s.pool.QueryRow(ctx, `SELECT `+templateCols+` FROM templates WHERE id = $1`, id))
}

// PutTemplate inserts or replaces the template with t.ID.
func (s *Store) PutTemplate(ctx context.Context, t storage.Template) (err error) {
	defer wrapErr(&err, "put template")
	var roles any
	if t.Roles != nil {
		b, err := json.Marshal(t.Roles)
		if err != nil {
			return err
		}
		roles = string(b)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO templates (`+templateCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, severity = excluded.severity,
		title = excluded.title, body = excluded.body, expiry_hours = excluded.expiry_hours, roles = excluded.roles,
		updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		t.ID, t.Name, t.Kind, t.Severity, t.Title, t.Body, t.ExpiryHours, roles, t.UpdatedBy, t.UpdatedAt)
	return err
}

// DeleteTemplate removes the stored template; storage.ErrNotFound when none.
func (s *Store) DeleteTemplate(ctx context.Context, id string) (err error) {
	defer wrapErr(&err, "delete template "+id)
	tag, err := s.pool.Exec(ctx, `DELETE FROM templates WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return pgx.ErrNoRows
	}
	return err
}
