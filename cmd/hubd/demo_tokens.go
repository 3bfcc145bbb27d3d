package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// demoTokenFile is where -demo keeps the demo tokens it printed, in the
// -data folder (with -postgres too: the folder then holds only this file).
const demoTokenFile = "demo-tokens.json"

// demoTokenSet is the content of the demo token file.
type demoTokenSet struct {
	Commander demoToken `json:"commander"`
	Resident  demoToken `json:"resident"`
}

type demoToken struct {
	MemberID string `json:"member_id"`
	Token    string `json:"token"`
}

// demoTokens returns the demo commander's and resident's tokens: the ones
// in the file when they are still active tokens of those members (kind
// demo), else new ones, each revoking its member's previous demo token, so
// that restarts with -demo neither print new tokens nor pile up permanent
// ones.
//
// Tokens are stored hashed, so -demo must keep the secrets themselves to
// print them again: it keeps them in a file only the hub's user may read
// (0600, in a 0700 folder). Deriving them from something instead (a seed,
// the member ids) would make them guessable by anyone with the source. A
// file that others may read is taken as leaked: its tokens are replaced
// (and so revoked).
func demoTokens(ctx context.Context, h *members.Service, path string, commander, resident *storage.Member, log *slog.Logger) (ctoken, rtoken string, err error) {
	var set demoTokenSet
	switch fi, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return "", "", fmt.Errorf("demo tokens: %w", err)
	case fi.Mode().Perm()&0o077 != 0:
		log.Warn("the demo token file may be read by others: its tokens are replaced", "path", path, "mode", fi.Mode().Perm().String())
	default:
		data, err := os.ReadFile(path)
		if err != nil {
			return "", "", fmt.Errorf("demo tokens: %w", err)
		}
		if err := json.Unmarshal(data, &set); err != nil {
			log.Warn("the demo token file is unreadable: new demo tokens", "path", path, "err", err)
			set = demoTokenSet{}
		}
	}
	keep := func(m *storage.Member, t demoToken) (string, error) {
		if t.MemberID != m.ID {
			t.Token = ""
		}
		return h.KeepToken(ctx, m, storage.TokenDemo, t.Token)
	}
	if ctoken, err = keep(commander, set.Commander); err != nil {
		return "", "", err
	}
	if rtoken, err = keep(resident, set.Resident); err != nil {
		return "", "", err
	}
	next := demoTokenSet{Commander: demoToken{commander.ID, ctoken}, Resident: demoToken{resident.ID, rtoken}}
	if next != set {
		if err := writePrivate(path, next); err != nil {
			return "", "", fmt.Errorf("demo tokens: %w", err)
		}
	}
	return ctoken, rtoken, nil
}

// writePrivate writes v as JSON to path, readable by the owner only,
// through a temporary file renamed over it (never half written).
func writePrivate(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".demo-tokens-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename: nothing
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
