package storage

import (
	"context"
	"time"
)

// Template is an alert template the county stored (issue 14, docs/API.md
// v1.6): its own template, or its copy of a built-in one (same ID). The
// built-in defaults live in code (api/templates.go), not in the store.
type Template struct {
	ID          string
	Name        string
	Kind        string
	Severity    string
	Title       string
	Body        string
	ExpiryHours int
	Roles       []Role // nil: every role
	UpdatedBy   string
	UpdatedAt   time.Time
}

// Templates stores the county's templates. PutTemplate inserts or
// replaces the template with t.ID. DeleteTemplate removes it
// (ErrNotFound when there is none). ListTemplates returns them by ID.
type Templates interface {
	ListTemplates(ctx context.Context) ([]Template, error)
	GetTemplate(ctx context.Context, id string) (Template, error)
	PutTemplate(ctx context.Context, t Template) error
	DeleteTemplate(ctx context.Context, id string) error
}
