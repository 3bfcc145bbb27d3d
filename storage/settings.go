package storage

import "context"

// Settings are named values the deployment keeps in its store (v1.6): the
// rules in force (policy, PUT /api/v1/policy) among them. The link key
// of invitations is one too (Invites.SettingOrInsert).
type Settings interface {
	// Setting returns a setting's value; ErrNotFound when there is none.
	Setting(ctx context.Context, name string) ([]byte, error)
	// PutSetting stores a setting's value, replacing any.
	PutSetting(ctx context.Context, name string, value []byte) error
}
