package server

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/sqlite"
)

// TestAuditWriteFailure: when the audit row cannot be written (here the
// database itself refuses it: a trigger added behind the store's back), the
// committed change is still answered 2xx, and the failure is counted in
// hub_audit_write_failures_total (and logged) rather than lost silently.
func TestAuditWriteFailure(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := sqlite.Open(context.Background(), path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := newEnv(t, func(c *Config) { c.Store = st })
	_, com := e.member(storage.RoleCommander, -1, outside)
	// A second connection to the hub's file: it waits for the hub's own
	// writes (background jobs write too) rather than failing busy.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	code, out := e.call("POST", "/api/v1/bulletins", com, map[string]any{"category": "notice", "title": "停电通知", "body": "今晚停电"})
	if code != 201 {
		t.Fatalf("bulletin: %d %v, want 201 (the change committed)", code, out)
	}
	bs, err := st.ListBulletins(context.Background(), storage.BulletinFilter{WithCountyWide: true})
	if err != nil || len(bs) != 1 {
		t.Fatalf("bulletins stored: %d (%v), want 1", len(bs), err)
	}
	_, metrics := e.callRaw("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics), "hub_audit_write_failures_total 1") {
		t.Errorf("the failure is not counted:\n%s", grepLines(string(metrics), "hub_audit"))
	}
	es, err := st.ListAudit(context.Background(), storage.AuditFilter{})
	if err != nil || len(es) != 0 {
		t.Errorf("audit entries %v (%v), want none", es, err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
