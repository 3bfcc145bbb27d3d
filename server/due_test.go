package server

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// metricValue reads an unlabelled counter from a node's /metrics.
func metricValue(t *testing.T, s *Server, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q", name, line)
			}
			return f
		}
	}
	t.Fatalf("metrics lack %s", name)
	return 0
}

// waitMetric waits until the counter reads want.
func waitMetric(t *testing.T, s *Server, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metricValue(t, s, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReportOverdueAtDueTime: a report's due-time job runs when the
// injected clock reaches its due_at (policy: 30 minutes for a flood), not
// before, and counts the report as overdue only if it is still open; a
// node started later on the same store schedules the open reports again
// from it and finds the overdue one at once.
func TestReportOverdueAtDueTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)
	const overdue = "hub_reports_overdue_total"

	code, out := e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": "flood", "text": "水漫过桥", "lat": 29.03, "lng": 119.17})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	rep := out["report"].(map[string]any)
	created, _ := time.Parse(time.RFC3339Nano, rep["created_at"].(string))
	due, _ := time.Parse(time.RFC3339Nano, rep["due_at"].(string))
	if due.Sub(created) != 30*time.Minute {
		t.Fatalf("due_at %v is %v after created_at, want 30m", due, due.Sub(created))
	}
	// A road report (2 hours) that is resolved in time is never counted.
	code, out = e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": "road", "lat": 29.03, "lng": 119.17})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	roadID := out["report"].(map[string]any)["id"].(string)
	if code, out := e.call("PATCH", "/api/v1/reports/"+roadID, cadreTok, map[string]any{"status": "resolved"}); code != 200 {
		t.Fatalf("resolve: %d %v", code, out)
	}

	if n := e.h.sched.Pending(); n != 1 {
		t.Errorf("%d jobs pending, want 1 (the open flood report)", n)
	}
	e.advance(29 * time.Minute)
	time.Sleep(200 * time.Millisecond) // a job run too early would show by now
	if v := metricValue(t, e.h, overdue); v != 0 {
		t.Fatalf("%s = %v a minute before due", overdue, v)
	}
	e.advance(time.Minute)
	waitMetric(t, e.h, overdue, 1)
	e.advance(3 * time.Hour) // past the road report's due time: it was resolved
	time.Sleep(200 * time.Millisecond)
	if v := metricValue(t, e.h, overdue); v != 1 {
		t.Fatalf("%s = %v after the resolved report's due time, want 1", overdue, v)
	}

	// Another node on the same store: the store is the truth, the flood
	// report's overdue step was taken and recorded (v1.6), so it is not
	// taken, or counted, again; nothing is left to schedule (no
	// escalation in the default policy, the SMS reminder went at 60m).
	s2, err := New(context.Background(), Config{Store: e.store, Logger: testLogger(t), Clock: e.now, PingInterval: time.Minute})
	if err != nil {
		t.Fatalf("second node: %v", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s2.Shutdown(ctx); err != nil {
			t.Errorf("second node shutdown: %v", err)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if v := metricValue(t, s2, overdue); v != 0 {
		t.Errorf("%s = %v on the second node, want 0 (taken once, by the first)", overdue, v)
	}
	if n := s2.sched.Pending(); n != 0 {
		t.Errorf("%d jobs pending on the second node, want 0", n)
	}
}

// TestPolicyFromConfig: the services read the policy given in Config: a
// kind's time limit sets its reports' due_at.
func TestPolicyFromConfig(t *testing.T) {
	t.Parallel()
	pol := policy.Default()
	for i := range pol.Reports.Kinds {
		if pol.Reports.Kinds[i].Name == "flood" {
			pol.Reports.Kinds[i].Due = policy.Duration(5 * time.Minute)
		}
	}
	e := newEnv(t, func(c *Config) { c.Policy = &pol })
	_, tok := e.member(storage.RoleResident, 0, inside)
	code, out := e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": "flood", "lat": 29.03, "lng": 119.17})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	rep := out["report"].(map[string]any)
	created, _ := time.Parse(time.RFC3339Nano, rep["created_at"].(string))
	due, _ := time.Parse(time.RFC3339Nano, rep["due_at"].(string))
	if due.Sub(created) != 5*time.Minute {
		t.Fatalf("due_at is %v after created_at, want the policy's 5m", due.Sub(created))
	}
}
