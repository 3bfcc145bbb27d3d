package server

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// timedSender records when each SMS was handed to it.
type timedSender struct {
	mu    sync.Mutex
	times []time.Time
	first chan struct{}
}

func (s *timedSender) Send(_ context.Context, m notify.Message) (notify.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times = append(s.times, time.Now())
	if len(s.times) == 1 && s.first != nil {
		close(s.first)
	}
	return notify.Result{ProviderID: fmt.Sprint("T", len(s.times)), Status: "queued", Segments: 1}, nil
}

func (s *timedSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

// TestSMSRateNeverExceeded: at -sms-rate 20, no one-second window holds
// more than 20 sends (plus the one-token burst).
func TestSMSRateNeverExceeded(t *testing.T) {
	t.Parallel()
	snd := &timedSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.SMSRate = 20 })
	reqs := make([]members.Input, 50)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("r", i), Phone: fmt.Sprintf("+8618%09d", i), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &inside}
	}
	if _, err := e.h.members.Create(context.Background(), reqs, false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 0})); code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	waitFor(t, "50 SMS", func() bool { return snd.count() == 50 })
	elapsed := time.Since(start)
	snd.mu.Lock()
	ts := append([]time.Time(nil), snd.times...)
	snd.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	for i := range ts {
		j := i
		for j < len(ts) && ts[j].Sub(ts[i]) < time.Second {
			j++
		}
		if j-i > 21 {
			t.Fatalf("%d SMS within one second starting at #%d (rate 20/s)", j-i, i)
		}
	}
	if elapsed < 2*time.Second {
		t.Fatalf("50 SMS at 20/s took only %v", elapsed)
	}
}

// BenchmarkSMSSendRate measures the dispatcher's send rate against the
// configured one (-sms-rate 100), with a sender that answers at once.
func BenchmarkSMSSendRate(b *testing.B) {
	const rate, n = 100, 300
	snd := &timedSender{}
	e := newEnv(b, func(c *Config) { c.Sender = snd; c.SMSRate = rate })
	reqs := make([]members.Input, n)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("r", i), Phone: fmt.Sprintf("+8617%09d", i), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &inside}
	}
	if _, err := e.h.members.Create(context.Background(), reqs, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		before := snd.count()
		start := time.Now()
		body := circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 0, "title": fmt.Sprint("t", i)})
		if code, out := e.call("POST", "/api/v1/alerts", e.admin, body); code != 201 {
			b.Fatalf("alert: %d %v", code, out)
		}
		for snd.count() < before+n {
			time.Sleep(5 * time.Millisecond)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "sms/s")
		b.ReportMetric(rate, "configured-sms/s")
	}
}

// BenchmarkSMSQueueRecovery: 50,000 SMS are pending in the store when the
// hub starts; the time from hub.New to the first SMS handed to the sender
// (member directory loaded, in-doubt claims reconciled, queue claimed).
func BenchmarkSMSQueueRecovery(b *testing.B) {
	const n = 50000
	store := newTestStore(b)
	ctx := context.Background()
	now := time.Now().UTC()
	v := storage.Village{ID: "v_bench", Name: "v", Center: storage.LatLng{Lat: 29.03, Lng: 119.17}, CreatedAt: now}
	if err := store.CreateVillage(ctx, &v); err != nil {
		b.Fatal(err)
	}
	ms := make([]storage.NewMember, n)
	targets := make([]storage.Target, n)
	for i := range ms {
		id := fmt.Sprintf("m_%06d", i)
		ms[i] = storage.NewMember{Member: storage.Member{ID: id, Name: "r", Phone: fmt.Sprintf("+8619%09d", i),
			Role: storage.RoleResident, VillageID: v.ID, Home: &inside, CreatedAt: now}, TokenHash: service.HashToken(id)}
		targets[i] = storage.Target{MemberID: id, SMSDueAt: now, SMSPriority: 3}
	}
	if err := store.CreateMembers(ctx, ms); err != nil {
		b.Fatal(err)
	}
	fallback := 0
	a := &storage.Alert{ID: "a_bench", Kind: "warning", Severity: "severe", Title: "t", Area: []byte(`{"villages":["v_bench"]}`),
		Villages: []string{"v_bench"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Status: storage.AlertActive, SMSFallbackAfterS: &fallback}
	if err := store.CreateAlert(ctx, a, &storage.Event{Type: storage.EventAlert, AlertID: a.ID, Body: []byte(`{}`), CreatedAt: now}, targets); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		snd := &timedSender{first: make(chan struct{})}
		start := time.Now()
		h, err := New(ctx, Config{Store: store, Sender: snd, Logger: testLogger(b), SMSRate: 1000})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-snd.first:
		case <-time.After(time.Minute):
			b.Fatal("no SMS within a minute")
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-first-sms")
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_ = h.Shutdown(sctx)
		cancel()
	}
}
