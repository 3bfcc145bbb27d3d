package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/wstest"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// fanoutRig is a hub with n members connected over in-memory pipes, each
// client reading in its own goroutine and noting when it sees the frame
// that carries the current marker.
type fanoutRig struct {
	e       *testEnv
	ids     []string
	cmd     service.Actor
	mu      sync.Mutex // guards marker, got, last, done
	marker  []byte
	got     int
	last    time.Time
	done    chan struct{}
	clients []*websocket.Conn
}

func newFanoutRig(b *testing.B, n int) *fanoutRig {
	b.Helper()
	// Every client comes over an in-memory pipe: one "address", above the
	// per-address cap (docs/API.md v1.4), which is lifted here.
	e := newEnv(b, func(c *Config) { c.Logger = testLogger(b); c.MaxConnsPerAddr = -1 })
	reqs := make([]members.Input, n)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("r", i), Phone: fmt.Sprintf("+8615%09d", i), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &inside}
	}
	ms, err := e.h.members.Create(context.Background(), reqs, false)
	if err != nil {
		b.Fatal(err)
	}
	cm, _ := e.member(storage.RoleCommander, -1, outside)
	r := &fanoutRig{e: e, cmd: service.ActorOf(&cm)}
	l := wstest.Serve(b, e.h.Handler())
	ctx := context.Background()
	for _, m := range ms {
		r.ids = append(r.ids, m.Member.ID)
		var c *websocket.Conn
		var err error
		if os.Getenv("BENCH_TCP") != "" {
			c, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?token="+m.Token, nil)
		} else {
			c, err = wstest.DialWS(ctx, l, m.Token)
		}
		if err != nil {
			b.Fatalf("dial: %v", err)
		}
		c.SetReadLimit(1 << 20)
		r.clients = append(r.clients, c)
		go r.read(c)
	}
	b.Cleanup(func() {
		for _, c := range r.clients {
			c.CloseNow()
		}
	})
	// Wait until every client is registered.
	for e.h.node.Connections() < n {
		time.Sleep(10 * time.Millisecond)
	}
	return r
}

func (r *fanoutRig) read(c *websocket.Conn) {
	for {
		_, data, err := c.Read(context.Background())
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.marker != nil && bytes.Contains(data, r.marker) {
			r.got++
			if r.got == len(r.ids) {
				r.last = time.Now()
				close(r.done)
			}
		}
		r.mu.Unlock()
	}
}

func (r *fanoutRig) arm(marker string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marker, r.got, r.done = []byte(marker), 0, make(chan struct{})
	return r.done
}

func (r *fanoutRig) wait(b *testing.B, done chan struct{}) time.Time {
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		r.mu.Lock()
		b.Fatalf("only %d of %d clients got the frame", r.got, len(r.ids))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func reportSpread(b *testing.B, name string, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), name+"-p50-ms")
	b.ReportMetric(pct(0.99), name+"-p99-ms")
	b.ReportMetric(pct(1), name+"-max-ms")
}

// BenchmarkFanout: one alert frame to N connected WebSocket clients in
// this process, from Publish to the last client's receipt (the store is
// not involved: see BenchmarkSendAlert for the whole path).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprint("clients=", n), func(b *testing.B) {
			r := newFanoutRig(b, n)
			ds := make([]time.Duration, 0, b.N)
			var pub []time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				marker := fmt.Sprintf("fanout-%d-%d", n, i)
				done := r.arm(marker)
				ev := &storage.Event{Type: storage.EventAlert, Seq: int64(1_000_000 + i), AlertID: "a_bench",
					Body: []byte(`{"id":"a_bench","kind":"warning","severity":"severe","title":"` + marker +
						`","body":"请立即转移到高处","area":{"circle":{"lat":29.03,"lng":119.17,"radius_m":3000}}}`),
					CreatedAt: time.Now()}
				start := time.Now()
				// The event is not in the store: sent as a replay, it skips
				// the sequencer (which would wait for the seqs before it
				// and find none), so this measures the fan-out alone.
				r.e.h.node.Publish(context.Background(), &hub.Envelope{Type: ev.Type, Seq: ev.Seq, At: ev.CreatedAt,
					Frame: hub.EncodeEvent(ev), Receipt: ev.AlertID, Replay: true, Audience: hub.Audience{Members: r.ids}})
				pub = append(pub, time.Since(start))
				last := r.wait(b, done)
				ds = append(ds, last.Sub(start))
			}
			b.StopTimer()
			reportSpread(b, "publish", pub)
			reportSpread(b, "last", ds)
		})
	}
}

// BenchmarkSendAlert: the whole path of POST /alerts without HTTP:
// validate, target through the geo index, store the alert with N delivery
// rows durably, fan out; until the last of N connected clients has it.
func BenchmarkSendAlert(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint("clients=", n), func(b *testing.B) {
			r := newFanoutRig(b, n)
			ds := make([]time.Duration, 0, b.N)
			var accepted []time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				marker := fmt.Sprintf("send-%d-%d", n, i)
				done := r.arm(marker)
				area := circleAlertRequest(marker)
				start := time.Now()
				if sent, err := r.e.h.alerting.Send(context.Background(), area, r.cmd); err != nil || sent.Targeted != n {
					b.Fatalf("Send: targeted %d, %v", sent.Targeted, err)
				}
				accepted = append(accepted, time.Since(start))
				last := r.wait(b, done)
				ds = append(ds, last.Sub(start))
			}
			b.StopTimer()
			reportSpread(b, "accept", accepted)
			reportSpread(b, "last", ds)
		})
	}
}

func circleAlertRequest(title string) alerting.Draft {
	return alerting.Draft{Kind: "warning", Severity: "severe", Title: title, Body: "请立即转移到高处",
		Area: areaCircle(29.03, 119.17, 3000)}
}

// BenchmarkAlertAccept: POST /api/v1/alerts over HTTP, request in to 201
// out (durable), for an alert to 100 members, none connected. Run it with
// HUB_TEST_STORE=postgres for the PostgreSQL store.
func BenchmarkAlertAccept(b *testing.B) {
	e := newEnv(b)
	reqs := make([]members.Input, 100)
	for i := range reqs {
		reqs[i] = members.Input{Name: fmt.Sprint("r", i), Phone: fmt.Sprintf("+8616%09d", i), Role: storage.RoleResident,
			VillageID: e.villages[0].ID, Home: &inside}
	}
	if _, err := e.h.members.Create(context.Background(), reqs, false); err != nil {
		b.Fatal(err)
	}
	body := circleAlert(29.03, 119.17, 2000, nil)
	ds := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		code, out := e.call("POST", "/api/v1/alerts", e.admin, body)
		ds = append(ds, time.Since(start))
		if code != 201 || num(out["targeted"]) != 100 {
			b.Fatalf("alert: %d %v", code, out)
		}
	}
	b.StopTimer()
	reportSpread(b, "accept", ds)
}
