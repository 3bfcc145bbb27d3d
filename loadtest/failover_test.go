package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeNode speaks just enough of the hub's WebSocket protocol for the
// client's failover: a welcome carrying its newest seq, the frames it is
// given to push after it, and an answer to resume (whose since it keeps).
type fakeNode struct {
	srv    *httptest.Server
	newest int64
	push   []string

	mu      sync.Mutex // guards conns, resumes, dead
	conns   []*websocket.Conn
	resumes []int64
	dead    bool
}

func newFakeNode(t *testing.T, newest int64, push ...string) *fakeNode {
	t.Helper()
	n := &fakeNode{newest: newest, push: push}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.kill)
	return n
}

func (n *fakeNode) wsURL() string { return "ws://" + n.srv.Listener.Addr().String() + "/ws" }

func (n *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	n.mu.Lock()
	if n.dead {
		n.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	n.conns = append(n.conns, ws)
	n.mu.Unlock()
	ctx := r.Context()
	write := func(s string) bool { return ws.Write(ctx, websocket.MessageText, []byte(s)) == nil }
	if !write(fmt.Sprintf(`{"type":"welcome","member":{},"seq":%d}`, n.newest)) {
		return
	}
	for _, f := range n.push {
		if !write(f) {
			return
		}
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var cmd struct {
			Type  string `json:"type"`
			ID    string `json:"id"`
			Since int64  `json:"since"`
		}
		if json.Unmarshal(data, &cmd) != nil {
			continue
		}
		if cmd.Type == "resume" {
			n.mu.Lock()
			n.resumes = append(n.resumes, cmd.Since)
			n.mu.Unlock()
		}
		if !write(fmt.Sprintf(`{"type":"reply","id":%q,"ok":true,"data":{"seq":%d}}`, cmd.ID, n.newest)) {
			return
		}
	}
}

// kill is a SIGKILL as its clients see it: every connection ends at once
// and new dials are refused.
func (n *fakeNode) kill() {
	n.mu.Lock()
	n.dead = true
	conns := n.conns
	n.conns = nil
	n.mu.Unlock()
	_ = n.srv.Listener.Close()
	for _, c := range conns {
		_ = c.CloseNow()
	}
	n.srv.Close()
}

func (n *fakeNode) resumed() []int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.resumes)
}

// deadURL is a WebSocket URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ws://" + addr + "/ws"
}

// testWorker runs one worker in process behind its JSON lines, as the
// parent does with -inprocess.
func testWorker(t *testing.T) (*workerProc, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	p, err := startWorker(ctx, 0, true, 30*time.Second, 2*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{procs: []*workerProc{p}}
	t.Cleanup(func() {
		f.stop()
		cancel()
	})
	return p, ctx
}

func call(t *testing.T, ctx context.Context, p *workerProc, req *request) *response {
	t.Helper()
	r, err := p.call(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Op, err)
	}
	return r
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const fakeAlert = `{"type":"alert","seq":6,"alert":{"id":"a1"}}`

// connectOne connects member 6 to target 0 of urls and waits for the
// alert the first node pushes.
func connectOne(t *testing.T, ctx context.Context, p *workerProc, urls []string, deadline time.Time) {
	t.Helper()
	r := call(t, ctx, p, &request{Op: opConnect, URLs: urls, Members: []memberRef{{Idx: 6, Target: 0}}, Concurrency: 1,
		TimeoutMs: 10000, Deadline: deadline.UnixNano()})
	if r.OK != 1 {
		t.Fatalf("connect: %+v", r)
	}
	waitFor(t, "the first node's alert", func() bool {
		return call(t, ctx, p, &request{Op: opCount, Key: keyAlert + "a1"}).Count == 1
	})
}

// A node dies: its client, told the loss is expected, skips the dead
// second target (refused) and resumes on the third from the seq it had,
// with no error counted.
func TestFailoverResumesOnNextTarget(t *testing.T) {
	a, b := newFakeNode(t, 5, fakeAlert), newFakeNode(t, 6)
	p, ctx := testWorker(t)
	connectOne(t, ctx, p, []string{a.wsURL(), deadURL(t), b.wsURL()}, time.Now().Add(20*time.Second))

	if r := call(t, ctx, p, &request{Op: opExpectLoss, Target: 0}); r.Count != 1 || !slices.Equal(r.Idx, []int{6}) {
		t.Fatalf("expect_loss: %+v", r)
	}
	a.kill()
	waitFor(t, "the failover", func() bool { return call(t, ctx, p, &request{Op: opFailovers}).FromDying == 1 })

	r := call(t, ctx, p, &request{Op: opFailovers, Detail: true})
	if len(r.Failovers) != 1 || r.ExpectedLoss != 1 || r.Failing != 0 || r.GaveUp != 0 {
		t.Fatalf("failovers: %+v", r)
	}
	f := r.Failovers[0]
	if f.Idx != 6 || f.From != 0 || f.To != 2 || f.Attempts != 2 || f.Resumed <= f.Lost {
		t.Errorf("record %+v: want member 6 from target 0 to 2 in 2 dials (through the dead target 1)", f)
	}
	if r.FoFails["refused"] != 1 {
		t.Errorf("failed dials %v: want the dead target's refusal", r.FoFails)
	}
	if got := b.resumed(); !slices.Equal(got, []int64{6}) {
		t.Errorf("resumes on the new node: %v, want [6] (the alert's seq)", got)
	}
	st := call(t, ctx, p, &request{Op: opStats})
	if len(st.Errors) != 0 || len(st.NotConnected) != 0 || st.Connected != 1 {
		t.Errorf("stats after an expected loss: errors %v, not connected %v, connected %d", st.Errors, st.NotConnected, st.Connected)
	}
}

// A loss nobody announced is still an error, and the client still fails
// over; a drop the run asks for is not followed by a failover, and a
// later reconnect dials the node the client failed over to.
func TestFailoverOnUnexpectedLossAndNotOnDrop(t *testing.T) {
	a, b := newFakeNode(t, 5, fakeAlert), newFakeNode(t, 6)
	p, ctx := testWorker(t)
	connectOne(t, ctx, p, []string{a.wsURL(), b.wsURL()}, time.Now().Add(20*time.Second))

	a.kill()
	waitFor(t, "the failover", func() bool { return call(t, ctx, p, &request{Op: opFailovers}).Count == 1 })
	st := call(t, ctx, p, &request{Op: opStats})
	lost := int64(0)
	for k, v := range st.Errors {
		if strings.HasPrefix(k, "closed_") {
			lost += v
		}
	}
	if lost != 1 || len(st.Errors) != 1 {
		t.Errorf("errors %v: want the one lost connection", st.Errors)
	}

	call(t, ctx, p, &request{Op: opDrop, TimeoutMs: 5000})
	time.Sleep(300 * time.Millisecond)
	if r := call(t, ctx, p, &request{Op: opFailovers}); r.Count != 1 || r.Failing != 0 || r.Connected != 0 {
		t.Errorf("after a drop: %+v (want no new failover, nothing connected)", r)
	}
	if r := call(t, ctx, p, &request{Op: opReconnect, Concurrency: 1, TimeoutMs: 5000}); r.OK != 1 {
		t.Fatalf("reconnect: %+v", r)
	}
	if got := b.resumed(); !slices.Equal(got, []int64{6, 6}) {
		t.Errorf("resumes on the second node: %v, want [6 6]", got)
	}
}

// With every target dead the client keeps trying (one target: the same
// one again) until the run's deadline, then gives up: that is an error.
func TestFailoverGivesUpAtTheDeadline(t *testing.T) {
	a := newFakeNode(t, 5, fakeAlert)
	p, ctx := testWorker(t)
	connectOne(t, ctx, p, []string{a.wsURL()}, time.Now().Add(1500*time.Millisecond))
	call(t, ctx, p, &request{Op: opExpectLoss, Target: 0})
	a.kill()
	waitFor(t, "giving up", func() bool { return call(t, ctx, p, &request{Op: opFailovers}).GaveUp == 1 })
	r := call(t, ctx, p, &request{Op: opFailovers})
	if r.Count != 0 || r.Failing != 0 || r.FoFails["refused"] < 2 {
		t.Errorf("failovers: %+v (want several refused dials, none resumed)", r)
	}
	if st := call(t, ctx, p, &request{Op: opStats}); st.Errors["failover_gave_up"] != 1 {
		t.Errorf("errors %v: want failover_gave_up 1", st.Errors)
	}
}

func TestFailoverBackoff(t *testing.T) {
	t.Parallel()
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		if got := failoverBound(attempt); got != want*time.Millisecond {
			t.Errorf("bound before attempt %d = %v, want %v", attempt, got, want*time.Millisecond)
		}
	}
	if got := failoverBound(1000); got != failoverCap {
		t.Errorf("bound before attempt 1000 = %v", got)
	}
	// Full jitter: anywhere from zero to the bound, not bunched.
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := failoverWait(3)
		if d < 0 || d >= 800*time.Millisecond {
			t.Fatalf("wait %v outside [0, 800ms)", d)
		}
		seen[d/(100*time.Millisecond)] = true
	}
	if len(seen) != 8 {
		t.Errorf("1000 waits fell in %d of the 8 tenths of the range", len(seen))
	}
}

func TestListensOn(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("no /proc")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if ok, err := listensOn(os.Getpid(), port); !ok || err != nil {
		t.Errorf("listensOn(self, %d) = %v, %v; want true", port, ok, err)
	}
	if ok, _ := listensOn(os.Getpid(), port+1); ok {
		t.Errorf("listensOn(self, %d) = true for a port nobody here listens on", port+1)
	}
	u, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	if err := checkKillable(os.Getpid(), u); err == nil {
		t.Error("checkKillable accepts this very process")
	}
}

func TestParseFlagsFailover(t *testing.T) {
	t.Parallel()
	two := "http://127.0.0.1:1,http://127.0.0.1:2"
	c, err := parseFlags([]string{"-targets", two, "-token", "x", "-hub-pid", "10,11", "-n", "50", "-scenario", "failover,alert"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.scenarios, ","); got != "alert,failover" || c.k != 50 {
		t.Errorf("scenarios %s, k %d; want alert,failover (failover last), 50", got, c.k)
	}
	for _, args := range [][]string{
		{"-targets", "http://127.0.0.1:1", "-token", "x", "-hub-pid", "10", "-scenario", "failover"}, // one target
		{"-targets", two, "-token", "x", "-scenario", "failover"},                                    // no pids
		{"-targets", two, "-token", "x", "-hub-pid", "10", "-scenario", "failover"},                  // one pid for two
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// A dead node's clients spread over every survivor, never back onto it.
func TestFirstFailoverTargetSpreads(t *testing.T) {
	for _, n := range []int{2, 3, 5} {
		for from := range n {
			seen := map[int]int{}
			for idx := range 100 {
				to := firstFailoverTarget(from, idx, n)
				if to == from || to < 0 || to >= n {
					t.Fatalf("n=%d from=%d idx=%d: first target %d", n, from, idx, to)
				}
				seen[to]++
			}
			if len(seen) != n-1 {
				t.Fatalf("n=%d from=%d: clients went to %v, want every one of the %d others", n, from, seen, n-1)
			}
		}
	}
}
