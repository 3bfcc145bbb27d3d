package notify

import (
	"fmt"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// TestEarlyStatuses: early callbacks come back in arrival order, once, and
// entries older than earlyStatusTTL are dropped.
func TestEarlyStatuses(t *testing.T) {
	var e earlyStatuses
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	e.put("SM1", storage.StatusUpdate{Status: "sent", At: t0})
	e.put("SM1", storage.StatusUpdate{Status: "delivered", At: t0.Add(time.Second)})
	for i := range 1000 {
		e.put(fmt.Sprint("SMx", i), storage.StatusUpdate{Status: "sent", At: t0.Add(2 * time.Second)})
	}
	got := e.take("SM1")
	if len(got) != 2 || got[0].Status != "sent" || got[1].Status != "delivered" {
		t.Fatalf("take(SM1) = %+v, want sent then delivered", got)
	}
	if again := e.take("SM1"); again != nil {
		t.Fatalf("second take(SM1) = %+v, want nothing", again)
	}
	// Past the TTL, the next put drops the stale ones.
	e.put("SM2", storage.StatusUpdate{Status: "sent", At: t0.Add(earlyStatusTTL + time.Minute)})
	if n := len(e.m); n != 1 {
		t.Fatalf("%d entries after the TTL, want 1 (SM2)", n)
	}
	if got := e.take("SMx5"); got != nil {
		t.Fatalf("a stale entry survived: %+v", got)
	}
}
