package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/longyou/hub/internal/wstest"
	"github.com/longyou/hub/storage"
)

// The tests of the connection queue and its writer-on-demand. Those that
// count writer goroutines across the process do not run in parallel.

func TestFrameQueueRing(t *testing.T) {
	t.Parallel()
	var q frameQueue
	next, want := 0, 0
	push := func() {
		q.push(&frame{data: []byte(fmt.Sprint(next))})
		next++
	}
	pop := func() {
		t.Helper()
		f := q.pop()
		if f == nil || string(f.data) != fmt.Sprint(want) {
			t.Fatalf("pop = %v, want frame %d", f, want)
		}
		want++
	}
	// Interleave pushes and pops so the ring wraps around while it grows.
	for round := range 40 {
		for range round%7 + 1 {
			push()
		}
		for range round % 5 {
			if q.n > 0 {
				pop()
			}
		}
	}
	if len(q.buf) <= queueMinCap {
		t.Fatalf("ring did not grow: %d slots for %d frames", len(q.buf), q.n)
	}
	bytes := 0
	for i := want; i < next; i++ {
		bytes += len(fmt.Sprint(i))
	}
	if q.n != next-want || q.bytes != bytes {
		t.Fatalf("n %d bytes %d, want %d and %d", q.n, q.bytes, next-want, bytes)
	}
	for q.n > 0 {
		pop()
	}
	if q.pop() != nil || q.bytes != 0 {
		t.Fatalf("empty queue: pop not nil or bytes %d", q.bytes)
	}
	q.shrink()
	if q.buf != nil {
		t.Fatalf("a drained ring of %d slots was kept", len(q.buf))
	}
	push()
	if len(q.buf) != queueMinCap {
		t.Fatalf("a fresh ring has %d slots, want %d", len(q.buf), queueMinCap)
	}
	q.shrink() // not empty: kept
	pop()
	q.shrink() // minimal: kept
	if len(q.buf) != queueMinCap {
		t.Fatalf("the minimal ring was dropped")
	}
}

// serverConn returns the hub's side of the member's only connection.
func (e *testEnv) serverConn(memberID string) *Conn {
	e.t.Helper()
	var c *Conn
	if n := e.h.conns.forMember(memberID, func(x *Conn) { c = x }); n != 1 {
		e.t.Fatalf("member %s has %d connections, want 1", memberID, n)
	}
	return c
}

// pipeClient connects a member over an in-memory pipe and reads the
// welcome. A pipe has no buffer: once the client stops reading, the hub's
// next write blocks at once and its queue fills behind it.
func (e *testEnv) pipeClient(l *wstest.Listener) (*websocket.Conn, *Conn) {
	e.t.Helper()
	m, tok := e.member(storage.RoleResident, 0, inside)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := wstest.DialWS(ctx, l, tok)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { ws.CloseNow() })
	if typ := readType(e.t, ws); typ != "welcome" {
		e.t.Fatalf("first frame is %q, want welcome", typ)
	}
	return ws, e.serverConn(m.ID)
}

func readType(t testing.TB, ws *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m struct{ Type string }
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	return m.Type
}

// numbered is a frame carrying n (padded to size bytes when size > 0).
func numbered(n, size int) []byte {
	b := fmt.Appendf(nil, `{"type":"t","n":%d,"pad":"`, n)
	for len(b) < size-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// readAll reads until the connection ends and returns the frame numbers
// and the error that ended it.
func readAll(t testing.TB, ws *websocket.Conn) ([]int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []int
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return got, err
		}
		var m struct {
			Type string
			N    int
		}
		if err := json.Unmarshal(data, &m); err != nil || m.Type != "t" {
			t.Fatalf("unexpected frame %s", data)
		}
		got = append(got, m.N)
	}
}

// wantPrefix checks that got is 0, 1, 2, ... (frames in order, none lost
// before the last one received).
func wantPrefix(t testing.TB, got []int, min int) {
	t.Helper()
	if len(got) < min {
		t.Fatalf("got %d frames %v, want at least %d", len(got), got, min)
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("frames out of order: %v", got)
		}
	}
}

func wantClose(t testing.TB, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		t.Fatalf("connection ended with %v, want close %d %q", err, code, reason)
	}
}

func dropCount(h *Node, reason string) float64 {
	var m dto.Metric
	if err := h.metrics.Drops.WithLabelValues(reason).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// eventually polls cond for up to 10 seconds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writerGoroutines counts the goroutines running conn.writeLoop.
func writerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "hub.(*Conn).writeLoop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestQueueOrderUnderConcurrentEnqueue: frames queued from many goroutines
// at once reach the client exactly in queue order, while writers start and
// stop under them, and never two writers at once.
func TestQueueOrderUnderConcurrentEnqueue(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SendQueueLen = 100000 })
	m, tok := e.member(storage.RoleResident, 0, inside)
	cl := e.dial(tok)
	cl.welcome()
	c := e.serverConn(m.ID)

	const senders, each = 8, 250
	var (
		order sync.Mutex // makes the ticket order the queue order
		next  int
		most  atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	sampled := make(chan struct{})
	go func() { // samples how many writers run
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := int64(writerGoroutines()); n > most.Load() {
				most.Store(n)
			}
		}
	}()
	for range senders {
		wg.Go(func() {
			for range each {
				order.Lock()
				c.send(numbered(next, 0))
				next++
				order.Unlock()
				runtime.Gosched() // let the writer drain and stop now and then
			}
		})
	}
	wg.Wait()
	for i := range senders * each {
		f := cl.next()
		if f["type"] != "t" || num(f["n"]) != int64(i) {
			t.Fatalf("frame %d is %v", i, f)
		}
	}
	close(stop)
	<-sampled
	if n := most.Load(); n > 1 {
		t.Fatalf("%d writers ran at once", n)
	}
}

// TestWriterRunsOnlyWhileFramesAreQueued: a writer goroutine exists while a
// frame is being written, and none is left once the queues are empty.
func TestWriterRunsOnlyWhileFramesAreQueued(t *testing.T) {
	e := newEnv(t)
	var clients []*wsClient
	var conns []*Conn
	for range 20 {
		m, tok := e.member(storage.RoleResident, 0, inside)
		cl := e.dial(tok)
		cl.welcome()
		clients = append(clients, cl)
		conns = append(conns, e.serverConn(m.ID))
	}
	for i := range 3 {
		for _, c := range conns {
			c.send(numbered(i, 0))
		}
	}
	for _, cl := range clients {
		for i := range 3 {
			if f := cl.next(); num(f["n"]) != int64(i) {
				t.Fatalf("frame %d is %v", i, f)
			}
		}
	}
	eventually(t, "no writer goroutine is left", func() bool { return writerGoroutines() == 0 })
	for _, c := range conns {
		c.mu.Lock()
		writing, slots := c.writing, len(c.q.buf)
		c.mu.Unlock()
		if writing || slots > queueMinCap {
			t.Fatalf("idle connection: writing %v, %d queue slots", writing, slots)
		}
	}

	// A client that stops reading keeps its writer in a blocked write:
	// exactly one, however many frames wait behind it.
	ws, c := e.pipeClient(wstest.Serve(t, e.srv.Config.Handler))
	for i := range 10 {
		c.send(numbered(i, 0))
	}
	eventually(t, "the stalled connection has its writer", func() bool { return writerGoroutines() == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := writerGoroutines(); n != 1 {
		t.Fatalf("%d writers for one connection", n)
	}
	// Once it reads, everything arrives in order and the writer stops.
	done := make(chan []int)
	go func() {
		var got []int
		for range 10 {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				break
			}
			var f struct{ N int }
			_ = json.Unmarshal(data, &f)
			got = append(got, f.N)
		}
		done <- got
	}()
	wantPrefix(t, <-done, 10)
	eventually(t, "the writer stopped", func() bool { return writerGoroutines() == 0 })
}

// TestFullQueueClosesSlowClient: a client that does not read is closed
// with 1008 when its queue is full, by frame count or by bytes, and the
// drop is counted by reason.
func TestFullQueueClosesSlowClient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		frames, size int // queue limits
		frameSize    int
		reason       string
	}{
		{"count", 4, 1 << 20, 0, "queue_full"},
		{"bytes", 1000, 1000, 300, "queue_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.SendQueueLen, c.SendQueueBytes = tc.frames, tc.size })
			ws, c := e.pipeClient(wstest.Serve(t, e.srv.Config.Handler))
			// The writer takes frame 0 and blocks writing it; the queue
			// fills behind it.
			room := min(tc.frames, tc.size/max(tc.frameSize, 1))
			sent := 0
			for ; !c.closing.Load() && sent < room+10; sent++ {
				c.send(numbered(sent, tc.frameSize))
			}
			// Closed by the frame that found the queue full: with frame 0
			// still queued (room+1) or taken by the writer (room+2).
			if sent != room+1 && sent != room+2 {
				t.Fatalf("closed after %d frames, want %d or %d", sent, room+1, room+2)
			}
			if n := dropCount(e.h, tc.reason); n != 1 {
				t.Fatalf("drops{%s} = %v, want 1", tc.reason, n)
			}
			// Reading again, the client gets the frame being written, if
			// the writer had taken one, and then the 1008: the rest of the
			// queue is dropped.
			got, err := readAll(t, ws)
			wantPrefix(t, got, 0)
			if len(got) > 1 {
				t.Fatalf("a closing connection went on writing: got %v", got)
			}
			wantClose(t, err, websocket.StatusPolicyViolation, "too slow")
			eventually(t, "the hub let go of the connection", func() bool { return e.h.conns.count() == 0 })
		})
	}
}

// TestLossyFrameSkippedWhenQueueFull: alert_progress does not fit a full
// queue: it is skipped and counted, and the client stays connected and
// gets everything else.
func TestLossyFrameSkippedWhenQueueFull(t *testing.T) {
	t.Parallel()
	const limit = 4
	e := newEnv(t, func(c *Config) { c.SendQueueLen = limit })
	ws, c := e.pipeClient(wstest.Serve(t, e.srv.Config.Handler))
	c.mu.Lock()
	n := 0
	for ; c.q.n < limit; n++ {
		c.enqueueLocked(&frame{data: numbered(n, 0)})
	}
	c.enqueueLocked(&frame{data: []byte(`{"type":"alert_progress"}`), lossy: true})
	c.mu.Unlock()
	if c.closing.Load() {
		t.Fatal("a lossy frame closed the connection")
	}
	if d := dropCount(e.h, "progress_skipped"); d != 1 {
		t.Fatalf("drops{progress_skipped} = %v, want 1", d)
	}
	// The client gets the queued frames, not the skipped one.
	for range n {
		if typ := readType(t, ws); typ != "t" {
			t.Fatalf("got a %q frame, want the queued ones", typ)
		}
	}
	// With room again, a lossy frame is sent like any other.
	if c.deliver(&frame{data: []byte(`{"type":"alert_progress"}`), lossy: true}) {
		go c.writeLoop()
	}
	if typ := readType(t, ws); typ != "alert_progress" {
		t.Fatalf("got %q, want alert_progress", typ)
	}
	if c.closing.Load() || dropCount(e.h, "progress_skipped") != 1 {
		t.Fatal("the connection closed or dropped more")
	}
}

// TestReplayWaitsForRoom: a replay is paced by the client: enqueueWait
// waits for room instead of closing, so a slow reader gets every frame.
func TestReplayWaitsForRoom(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SendQueueLen = 2 })
	ws, c := e.pipeClient(wstest.Serve(t, e.srv.Config.Handler))
	const frames = 30
	errc := make(chan error, 1)
	go func() {
		for i := range frames {
			if err := c.enqueueWait(&frame{data: numbered(i, 0)}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	got := make([]int, 0, frames)
	for range frames {
		time.Sleep(2 * time.Millisecond) // a slow reader
		c.mu.Lock()
		queued := c.q.n
		c.mu.Unlock()
		if queued > 2 {
			t.Fatalf("%d frames queued, over SendQueueLen (2)", queued)
		}
		_, data, err := ws.Read(context.Background())
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var f struct{ N int }
		_ = json.Unmarshal(data, &f)
		got = append(got, f.N)
	}
	if err := <-errc; err != nil {
		t.Fatalf("enqueueWait: %v", err)
	}
	wantPrefix(t, got, frames)
	if c.closing.Load() {
		t.Fatal("a paced replay closed the connection")
	}
}

// TestReplayWithoutRoomCloses: no room within WriteTimeout ends the replay
// and closes the client with 1008. The writer is made to look busy so that
// the write watchdog (same timeout) stays out of it.
func TestReplayWithoutRoomCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SendQueueLen, c.WriteTimeout = 2, 200*time.Millisecond })
	ws, c := e.pipeClient(wstest.Serve(t, e.srv.Config.Handler))
	eventually(t, "the welcome's writer stopped", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.writing
	})
	c.mu.Lock()
	c.writing = true // a writer that never takes a frame
	c.q.push(&frame{data: numbered(0, 0)})
	c.q.push(&frame{data: numbered(1, 0)})
	c.mu.Unlock()
	start := time.Now()
	err := c.enqueueWait(&frame{data: numbered(2, 0)})
	if err == nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("enqueueWait = %v after %v, want an error after the write timeout", err, time.Since(start))
	}
	if d := dropCount(e.h, "replay_stalled"); d != 1 {
		t.Fatalf("drops{replay_stalled} = %v, want 1", d)
	}
	got, rerr := readAll(t, ws)
	if len(got) != 0 {
		t.Fatalf("got frames %v from a queue nobody wrote", got)
	}
	wantClose(t, rerr, websocket.StatusPolicyViolation, "too slow")
	// A replay waiting when the connection ends gives up at once.
	if err := c.enqueueWait(&frame{data: numbered(3, 0)}); !errors.Is(err, errConnClosed) {
		t.Fatalf("enqueueWait on a closed connection = %v", err)
	}
}

// TestGoAwayFlushesThenCloses: on shutdown a connection first gets what is
// queued, in order, then 1001.
func TestGoAwayFlushesThenCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := wstest.Serve(t, e.srv.Config.Handler)
	ws, c := e.pipeClient(l)
	const frames = 20
	for i := range frames { // the client is not reading: all stay queued
		c.send(numbered(i, 0))
	}
	c.goAway()
	c.send(numbered(frames, 0)) // still before the close: flushed too
	got, err := readAll(t, ws)
	wantPrefix(t, got, frames+1)
	if len(got) != frames+1 {
		t.Fatalf("got %d frames, want %d", len(got), frames+1)
	}
	wantClose(t, err, websocket.StatusGoingAway, "server shutting down")

	// With nothing queued it closes at once.
	ws2, c2 := e.pipeClient(l)
	c2.goAway()
	got, err = readAll(t, ws2)
	if len(got) != 0 {
		t.Fatalf("got %v from an empty queue", got)
	}
	wantClose(t, err, websocket.StatusGoingAway, "server shutting down")
	eventually(t, "both connections are gone", func() bool { return e.h.conns.count() == 0 })
}

// TestKeepalivePingsEveryConnection: the registry's one loop pings every
// connection about once per PingInterval (not every tick), healthy
// clients stay, and the loop stops when the last connection goes.
func TestKeepalivePingsEveryConnection(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	e := newEnv(t, func(c *Config) { c.PingInterval = interval })
	const n = 10
	pings := make([]atomic.Int64, n)
	var wss []*websocket.Conn
	for i := range n {
		_, tok := e.member(storage.RoleResident, 0, inside)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?token="+tok,
			&websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
				pings[i].Add(1)
				return true
			}})
		cancel()
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		go func() { // reads, so pings are answered
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		wss = append(wss, ws)
	}
	eventually(t, "every client was pinged 3 times", func() bool {
		for i := range pings {
			if pings[i].Load() < 3 {
				return false
			}
		}
		return true
	})
	before := pings[0].Load()
	time.Sleep(time.Second)
	// About 10 in a second; pinging every tick would be ~640.
	if got := pings[0].Load() - before; got > 30 {
		t.Fatalf("%d pings in one second at an interval of %v", got, interval)
	}
	if d := dropCount(e.h, "ping_timeout"); d != 0 || e.h.conns.count() != n {
		t.Fatalf("healthy clients: %v ping timeouts, %d of %d connected", d, e.h.conns.count(), n)
	}
	for _, ws := range wss {
		ws.Close(websocket.StatusNormalClosure, "")
	}
	eventually(t, "the keepalive loop stopped", func() bool {
		return e.h.conns.count() == 0 && !e.h.conns.pinging.Load()
	})
	// It starts again with the next connection.
	_, tok := e.member(storage.RoleResident, 0, inside)
	e.dial(tok).welcome()
	if !e.h.conns.pinging.Load() {
		t.Fatal("the keepalive loop did not start again")
	}
}

// TestPingTimeoutCloses: a client that does not answer pings is closed
// with 1008 "ping timeout" and counted.
func TestPingTimeoutCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.PingInterval, c.PingTimeout = 100*time.Millisecond, 300*time.Millisecond })
	_, tok := e.member(storage.RoleResident, 0, inside)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/ws?token="+tok, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	if typ := readType(t, ws); typ != "welcome" {
		t.Fatalf("first frame %q", typ)
	}
	// Not reading: pings go unanswered.
	eventually(t, "a ping timed out", func() bool { return dropCount(e.h, "ping_timeout") > 0 })
	got, err := readAll(t, ws)
	if len(got) != 0 {
		t.Fatalf("unexpected frames %v", got)
	}
	wantClose(t, err, websocket.StatusPolicyViolation, "ping timeout")
	eventually(t, "the hub let go of the connection", func() bool { return e.h.conns.count() == 0 })
	if d := dropCount(e.h, "ping_timeout"); d != 1 {
		t.Fatalf("drops{ping_timeout} = %v, want 1", d)
	}
}

// TestBuffersPastTheirSize: commands and frames larger than the small
// WebSocket buffers (wsReadBuf, wsWriteBuf) go through whole.
func TestBuffersPastTheirSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, tok := e.member(storage.RoleResident, 0, inside)
	cl := e.dial(tok)
	cl.welcome()
	id := strings.Repeat("i", 3*wsReadBuf)
	if reply, _ := cl.cmd(map[string]any{"type": "ping", "id": id}); reply["ok"] != true {
		t.Fatalf("reply to a %d-byte command: %v", 3*wsReadBuf, reply)
	}
	big := numbered(7, 5*wsWriteBuf)
	e.serverConn(m.ID).send(big)
	if f := cl.next(); num(f["n"]) != 7 || len(f["pad"].(string)) != len(big)-len(numbered(7, 0)) {
		t.Fatalf("a %d-byte frame arrived as %d bytes of padding", len(big), len(f["pad"].(string)))
	}
}

// TestFrameSentWithTheUpgrade: a client that sends its first command in
// the same packet as the upgrade request (without waiting for the 101) is
// answered: the bytes net/http read past the request are not lost.
func TestFrameSentWithTheUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	l := wstest.Serve(t, e.srv.Config.Handler)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := l.Dial(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	// A masked text frame, as clients send them.
	payload := []byte(`{"type":"ping","id":"early"}`)
	mask := [4]byte{1, 2, 3, 4}
	frame := append([]byte{0x81, 0x80 | byte(len(payload))}, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET /ws HTTP/1.1\r\nHost: pipe\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
	go nc.Write(append([]byte(req), frame...)) // one write: net/http reads both
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	var types []string
	for len(types) < 2 {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("read frame: %v (after %v)", err, types)
		}
		n := int(h[1] & 0x7f)
		if n == 126 {
			var ext [2]byte
			io.ReadFull(br, ext[:])
			n = int(ext[0])<<8 | int(ext[1])
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			t.Fatalf("read frame: %v", err)
		}
		var f struct{ Type, ID string }
		_ = json.Unmarshal(data, &f)
		types = append(types, f.Type+":"+f.ID)
	}
	if types[0] != "welcome:" || types[1] != "reply:early" {
		t.Fatalf("frames %v, want the welcome and the reply to the early ping", types)
	}
}

// TestMarkSent: each seq is new once, in any order; seq 0 (frames outside
// the event log) is always new.
func TestMarkSent(t *testing.T) {
	var s sentSet
	for _, tc := range []struct {
		seq  int64
		want bool
	}{{5, true}, {7, true}, {5, false}, {6, true}, {1, true}, {7, false}, {6, false}, {0, true}, {0, true}, {9, true}, {1, false}} {
		if got := s.mark(tc.seq, 1024, false); got != tc.want {
			t.Fatalf("mark(%d) = %v, want %v (sent %v)", tc.seq, got, tc.want, s.seqs)
		}
	}
	if !slices.Equal(s.seqs, []int64{1, 5, 6, 7, 9}) || s.floor != 0 {
		t.Fatalf("sent = %v above %d, want [1 5 6 7 9] above 0", s.seqs, s.floor)
	}
}
