package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// floorServer is the simplest WebSocket server that does what the hub's
// fan-out does: it keeps every connection (reading each, so pings and
// closes are handled) and writes the same bytes to all of them in one
// loop. Measured with the same clients, it is the machine's floor.
type floorServer struct {
	ln  net.Listener
	srv *http.Server

	mu    sync.Mutex // guards conns
	conns []*websocket.Conn
	wg    sync.WaitGroup
}

func startFloorServer() (*floorServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &floorServer{ln: ln}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.accept), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *floorServer) url() string { return "ws://" + s.ln.Addr().String() + "/ws" }

func (s *floorServer) accept(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	ctx := c.CloseRead(context.Background())
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = c.Write(wctx, websocket.MessageText, []byte(`{"type":"welcome","seq":0}`))
	cancel()
	if err != nil {
		_ = c.CloseNow()
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	<-ctx.Done()
}

func (s *floorServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// broadcast writes msg to every connection, in one loop per writer over
// its share of the connections, and returns how long the loops took and
// how many writes failed. One writer is the plainest loop; one per CPU
// uses the machine as the hub's per-connection writers can.
func (s *floorServer) broadcast(ctx context.Context, msg []byte, writers int) (time.Duration, int) {
	s.mu.Lock()
	conns := s.conns
	s.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	writers = max(1, min(writers, len(conns)))
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := w; i < len(conns); i += writers {
				if err := conns[i].Write(wctx, websocket.MessageText, msg); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), int(failed.Load())
}

func (s *floorServer) close() {
	_ = s.srv.Close()
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.CloseNow()
	}
	s.wg.Wait()
}

// floorMessage is an alert-shaped frame of about size bytes, so the
// clients parse it exactly as they parse the hub's.
func floorMessage(seq int, id string, at time.Time, size int) []byte {
	head := `{"type":"alert","seq":` + strconv.Itoa(seq) + `,"alert":{"id":"` + id +
		`","kind":"warning","severity":"severe","title":"floor","created_at":"` + at.UTC().Format(time.RFC3339Nano) + `","body":"`
	tail := `"}}`
	pad := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

// runBaseline measures the floor: the same clients, connected to the
// floor server, receive one message of -baseline-bytes, -repeat times.
func (r *runner) runBaseline(ctx context.Context) error {
	if r.cfg.n > hubConnLimit {
		return fmt.Errorf("baseline: the floor server runs in this process, which may hold at most 20,000 open files: use -n %d or fewer", hubConnLimit)
	}
	res := &baselineRes{Complete: true, Writers: r.cfg.baselineWriters}
	r.res.Baseline = res
	fmt.Fprintln(r.log, "== baseline")
	errsBefore := r.allErrors(ctx)
	defer func() { res.Errors = diffErrors(errsBefore, r.allErrors(context.WithoutCancel(ctx))) }()
	if r.connected {
		// The hub's clients make room for the floor's.
		if _, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opClose} }); err != nil {
			return err
		}
		r.connected = false
	}
	srv, err := startFloorServer()
	if err != nil {
		return err
	}
	defer srv.close()
	if res.Connections, res.ConnectRate, err = r.connectPlain(ctx, "baseline", srv.url(), ""); err != nil {
		return err
	}
	if res.Connections < r.cfg.n {
		r.problem("baseline: %d of %d clients connected to the floor server", res.Connections, r.cfg.n)
	}
	for deadline := time.Now().Add(5 * time.Second); srv.count() < res.Connections && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	_, offline, _ := r.workerStats(ctx)
	expected := map[int]bool{}
	for i := range r.cfg.n {
		if !offline[i] {
			expected[i] = true
		}
	}
	var all, lasts []int64
	for i := range r.cfg.repeat {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		id := "floor-" + strconv.Itoa(i+1)
		at := time.Now()
		size := r.cfg.baselineBytes
		if a := r.res.Alert; !r.cfg.baselineBytesSet && a != nil && len(a.Sends) > 0 && a.Sends[0].Delivery.FrameBytes > 0 {
			size = a.Sends[0].Delivery.FrameBytes // the same bytes as the hub's alert
		}
		msg := floorMessage(i+1, id, at, size)
		took, failed := srv.broadcast(ctx, msg, r.cfg.baselineWriters)
		if failed > 0 {
			r.errs.add("floor_write_failed", int64(failed))
		}
		res.WriteLoopMs = append(res.WriteLoopMs, ms(int64(took)))
		d := r.awaitDelivery(ctx, keyAlert+id, expected, at, offline)
		r.checkDelivery("baseline send "+strconv.Itoa(i+1), &d)
		res.FrameBytes = len(msg)
		res.Sends = append(res.Sends, d)
		res.Complete = res.Complete && d.Complete
		all = append(all, d.lat...)
		lasts = append(lasts, int64(d.LastMs*1e6))
		fmt.Fprintf(r.log, "floor %d/%d: %s of %s got it; p50 %s, p99 %s, last %s (server loop %s)\n", i+1, r.cfg.repeat,
			group(int64(d.Received)), group(int64(d.Expected)), fmtMs(d.Latency.P50), fmtMs(d.Latency.P99), fmtMs(d.LastMs), fmtMs(ms(int64(took))))
	}
	res.Latency = summarize(all)
	res.LastMs = summarize(lasts)
	r.floorLat = all
	if _, err := r.fleet.each(ctx, func(*workerProc) *request { return &request{Op: opClose} }); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// connectPlain connects the run's N clients (no tokens, no villages) to
// one server speaking proto, and returns how many connected and at what
// rate: the floor's and the peer's clients.
func (r *runner) connectPlain(ctx context.Context, what, url, proto string) (int, float64, error) {
	w := len(r.fleet.procs)
	for _, p := range r.fleet.procs {
		p.members = p.members[:0]
	}
	for i := range r.cfg.n {
		r.fleet.procs[i%w].members = append(r.fleet.procs[i%w].members, memberRef{Idx: i, Village: -1})
	}
	r.prog.set(what+" connect", int64(r.cfg.n), r.prog.fleetDone)
	resps, err := r.fleet.each(ctx, func(p *workerProc) *request {
		return &request{Op: opConnect, URLs: []string{url}, Members: p.members, Concurrency: r.cfg.dialConc,
			TimeoutMs: r.remaining(ctx), Proto: proto}
	})
	if err != nil {
		return 0, 0, err
	}
	var n int
	var start, end int64
	for _, resp := range resps {
		n += resp.OK
		if start == 0 || (resp.Start != 0 && resp.Start < start) {
			start = resp.Start
		}
		end = max(end, resp.End)
	}
	return n, rate(n, start, end), nil
}
