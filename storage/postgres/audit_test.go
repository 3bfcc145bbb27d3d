package postgres

import (
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// TestAuditAppendOnly: the database itself refuses to change, delete or
// truncate audit rows, whoever asks.
func TestAuditAppendOnly(t *testing.T) {
	s := NewTestStore(t)
	e := storage.AuditEntry{At: time.Now().UTC(), ActorID: "c1", Method: "POST", Route: "POST /api/v1/alerts", Status: 201}
	if err := s.AppendAudit(t.Context(), &e); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit SET actor_id = 'x'`, `DELETE FROM audit`, `TRUNCATE audit`} {
		_, err := s.pool.Exec(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want the append-only refusal", q, err)
		}
	}
	got, err := s.ListAudit(t.Context(), storage.AuditFilter{})
	if err != nil || len(got) != 1 || got[0].ActorID != "c1" {
		t.Fatalf("after the refused changes: %+v, %v", got, err)
	}
}
