package hub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

// frame is one encoded server->client message. A broadcast builds one frame
// and every recipient's queue holds the same pointer: the bytes are encoded
// once, never per subscriber.
type frame struct {
	data    []byte
	seq     int64     // 0 for frames outside the event log (welcome, reply, progress)
	receipt string    // set on alert frames: writing one calls Hooks.Delivered
	at      time.Time // when the event was accepted, for fan-out latency
	lossy   bool      // may be dropped when the queue is full (alert_progress)
	moveIn  bool      // an alert pushed to a member who moved in (Envelope.Replay; sentset.go)
}

// slowCloseGrace is how long a slow client gets to receive its 1008.
const slowCloseGrace = time.Second

// queueMinCap is the ring a connection's first frame allocates: most
// connections never hold more than a frame or two at once.
const queueMinCap = 4

// errConnClosed: the connection is closing, the frame was not queued.
var errConnClosed = errors.New("connection closed")

// frameQueue is a FIFO of frames in a ring that starts at queueMinCap
// slots, doubles on demand and is dropped again when drained after a burst,
// so an idle connection holds no queue memory beyond its first few slots.
// The connection bounds it (SendQueueLen, SendQueueBytes); it is guarded
// by conn.mu.
type frameQueue struct {
	buf   []*frame
	head  int
	n     int
	bytes int
}

func (q *frameQueue) push(f *frame) {
	if q.n == len(q.buf) {
		buf := make([]*frame, max(queueMinCap, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = f
	q.n++
	q.bytes += len(f.data)
}

// pop removes the oldest frame; nil when empty.
func (q *frameQueue) pop() *frame {
	if q.n == 0 {
		return nil
	}
	f := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	q.bytes -= len(f.data)
	return f
}

// shrink drops a ring grown past queueMinCap once it is empty.
func (q *frameQueue) shrink() {
	if q.n == 0 && len(q.buf) > queueMinCap {
		q.buf, q.head = nil, 0
	}
}

// reset drops every queued frame.
func (q *frameQueue) reset() { *q = frameQueue{} }

// Conn is one member's WebSocket. Frames go through a bounded queue;
// publishers never block on it. A full queue (by count or bytes)
// disconnects the client with 1008 so it reconnects and catches up from
// the store with resume.
//
// A writer goroutine runs only while frames are queued: enqueueing starts
// one when none runs, and it exits once the queue is empty. So an idle
// connection has one goroutine, its reader, and no writer stack, channel
// or ticker (keepalive pings come from the registry's one loop). There is
// never more than one writer: frames are written one at a time, in queue
// order.
type Conn struct {
	h      *Node
	ws     *websocket.Conn
	nc     net.Conn // the socket under ws: cancel closes it
	member storage.Member
	// tokenID is the id of the token the connection was opened with ("":
	// none known); set before the connection is registered.
	tokenID string
	addr    string  // the source address as counted (limits.go)
	rate    cmdRate // the command buckets (limits.go): read goroutine only
	// writers counts the running writer goroutine (0 or 1), so the handler
	// can wait for it before returning.
	writers sync.WaitGroup

	writeStarted atomic.Int64 // unix nanos when the current write began; 0 when idle
	closing      atomic.Bool  // a close was started; further frames are dropped

	mu sync.Mutex // guards the following fields
	q  frameQueue
	// writing: a writer goroutine is running (it owns the socket's writes).
	writing bool
	// room, when not nil, is closed when the writer takes a frame or the
	// connection closes: enqueueWait sleeps on it.
	room chan struct{}
	// holding: live frames are held back in held (while the welcome and the
	// active alerts are sent, or while a resume replays), then released in
	// order, so the client sees a replay in seq order and nothing twice.
	holding bool
	held    []*frame
	// sent is what this connection sent: no event twice. The seqs above
	// its low-water mark are a slice, ascending, at most SentWindow
	// (sentset.go). Seqs arrive nearly always in order, so adding one is
	// an append; 8 bytes each instead of a map's ~40, and a first fan-out
	// to 19,000 connections allocates 19,000 small slices, not maps.
	sent sentSet
	// goingAway: close with 1001 once the queue is drained.
	goingAway bool
	// ended: cancel ran. stopCommand cancels the running command's store
	// calls (commands run one at a time, on the read goroutine).
	ended       bool
	stopCommand context.CancelFunc
}

// newConn wraps an accepted WebSocket; nc is the network connection under
// it (nil: cancel closes through the library instead).
func (h *Node) newConn(ws *websocket.Conn, nc net.Conn, m storage.Member) *Conn {
	return &Conn{h: h, ws: ws, nc: nc, member: m, holding: true}
}

// Member is the member on the connection, as authenticated when it opened.
func (c *Conn) Member() *storage.Member { return &c.member }

// Send queues a frame that is not an event (a reply). It never blocks: a
// full queue disconnects the client.
func (c *Conn) Send(data []byte) { c.send(data) }

// CommandContext is the context of one command's store calls: cancelled by
// done or when the connection ends.
func (c *Conn) CommandContext() (ctx context.Context, done func()) { return c.commandContext() }

// commandContext is the context of one command's store calls (and of the
// welcome's): cancelled by done or when the connection ends. A connection
// has no context of its own: an idle one holds none, and none of the child
// registrations the store calls would leave in it.
func (c *Conn) commandContext() (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		cancel()
		return ctx, cancel
	}
	c.stopCommand = cancel
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.stopCommand = nil
		c.mu.Unlock()
		cancel()
	}
}

// deliver queues a live frame, or holds it while a replay runs. It does
// not start the writer: when it returns true the connection is marked as
// having one and the caller must run it (startWriters). A fan-out queues
// the frame on every recipient first and starts the writers after: started
// one by one as it went, 10,000 new writers took the CPU from the loop
// still handing the frame out, and once preempted it waited behind all of
// them.
func (c *Conn) deliver(f *frame) (start bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		if len(c.held) >= c.h.cfg.SendQueueLen*4 {
			c.closeSlowLocked("held_full")
			return false
		}
		c.held = append(c.held, f)
		return false
	}
	if !c.markSentLocked(f) {
		return false
	}
	return c.queueLocked(f) && c.claimWriterLocked()
}

// markSentLocked records f's seq as sent and reports whether it was new.
func (c *Conn) markSentLocked(f *frame) bool {
	return c.sent.mark(f.seq, c.h.cfg.SentWindow, f.moveIn)
}

// enqueueLocked never blocks: a full queue disconnects the client, except
// for lossy frames (alert_progress), which are skipped.
func (c *Conn) enqueueLocked(f *frame) {
	if c.queueLocked(f) {
		c.startWriterLocked()
	}
}

// queueLocked is enqueueLocked without the writer: true when f was queued.
func (c *Conn) queueLocked(f *frame) bool {
	if c.closing.Load() {
		return false
	}
	reason := ""
	switch {
	case c.q.bytes+len(f.data) > c.h.cfg.SendQueueBytes:
		reason = "queue_bytes"
	case c.q.n >= c.h.cfg.SendQueueLen:
		reason = "queue_full"
	}
	if reason != "" {
		if f.lossy {
			c.h.metrics.Drops.WithLabelValues("progress_skipped").Inc()
			return false
		}
		c.closeSlowLocked(reason)
		return false
	}
	c.q.push(f)
	return true
}

// startWriterLocked starts the writer unless one runs or the connection is
// closing.
func (c *Conn) startWriterLocked() {
	if c.claimWriterLocked() {
		go c.writeLoop()
	}
}

// claimWriterLocked marks the connection as having a writer and reports
// whether the caller must start it (go c.writeLoop()): false when one runs
// or the connection is closing. Holding c.mu makes the check and the claim
// one step: two writers can never run at once.
func (c *Conn) claimWriterLocked() bool {
	if c.writing || c.closing.Load() {
		return false
	}
	c.writing = true
	c.writers.Add(1)
	return true
}

// enqueueWait queues a replayed frame, waiting for room: a replay is paced
// by the client's reading speed instead of disconnecting it. A client that
// makes no room within WriteTimeout is disconnected (1008).
func (c *Conn) enqueueWait(f *frame) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.mu.Lock()
		if c.closing.Load() {
			c.mu.Unlock()
			return errConnClosed
		}
		// An empty queue takes any frame, so a frame larger than
		// SendQueueBytes cannot wait forever.
		if c.q.n < c.h.cfg.SendQueueLen && (c.q.n == 0 || c.q.bytes+len(f.data) <= c.h.cfg.SendQueueBytes) {
			c.q.push(f)
			c.startWriterLocked()
			c.mu.Unlock()
			return nil
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(c.h.cfg.WriteTimeout)
		}
		select {
		case <-room:
		case <-timer.C:
			c.mu.Lock()
			c.closeSlowLocked("replay_stalled")
			c.mu.Unlock()
			return errors.New("client too slow")
		}
	}
}

// wakeLocked wakes a waiting enqueueWait.
func (c *Conn) wakeLocked() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

// sendReplay sends a stored event unless this connection already sent it.
func (c *Conn) sendReplay(f *frame) error {
	c.mu.Lock()
	fresh := c.markSentLocked(f)
	c.mu.Unlock()
	if !fresh {
		return nil
	}
	return c.enqueueWait(f)
}

// hold starts holding live frames; false if a replay is already running.
func (c *Conn) hold() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		return false
	}
	c.holding = true
	return true
}

// release sends the held frames (minus those the replay already sent) and
// resumes live delivery.
func (c *Conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.held {
		if c.markSentLocked(f) {
			c.enqueueLocked(f)
		}
	}
	c.held = nil
	c.holding = false
}

// send queues a frame that is not an event (reply, welcome).
func (c *Conn) send(data []byte) {
	c.mu.Lock()
	c.enqueueLocked(&frame{data: data})
	c.mu.Unlock()
}

func (c *Conn) closeSlowLocked(reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.wakeLocked()
	c.h.metrics.Drops.WithLabelValues(reason).Inc()
	c.h.log.LogAttrs(context.Background(), slog.LevelInfo, "disconnecting slow client",
		slog.String("member", c.member.ID), slog.String("reason", reason))
	go c.closeAfterTelling("too slow")
}

// closeAfterTelling tries to tell the client why (1008) for a moment, then
// drops it: a stalled client must not hold its connection for the
// library's full close-handshake timeouts.
func (c *Conn) closeAfterTelling(reason string) {
	done := make(chan struct{})
	go func() {
		_ = c.ws.Close(websocket.StatusPolicyViolation, reason)
		close(done)
	}()
	t := time.NewTimer(slowCloseGrace)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	c.cancel()
}

// cancel ends the connection now: no more frames are queued, a waiting
// replay gives up, the running command's store calls are cancelled, and
// the network connection is closed, which ends the read and a blocked
// write at once. Safe to call more than once and from any goroutine that
// does not hold c.mu.
func (c *Conn) cancel() {
	c.closing.Store(true)
	c.mu.Lock()
	c.ended = true
	c.wakeLocked()
	stop := c.stopCommand
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	if c.nc != nil {
		_ = c.nc.Close()
	} else {
		go c.ws.CloseNow() // may wait for a close handshake under way
	}
}

// writeLoop is the connection's only writer while it runs: it writes the
// queued frames in order and exits when the queue is empty (after closing
// with 1001 if the hub is going away), when the connection closes, or when
// a write fails.
func (c *Conn) writeLoop() {
	defer c.writers.Done()
	for {
		c.mu.Lock()
		var f *frame
		if !c.closing.Load() {
			f = c.q.pop()
		}
		if f == nil {
			c.writing = false
			goAway := c.goingAway && !c.closing.Load()
			if goAway || c.closing.Load() {
				c.closing.Store(true)
				c.q.reset() // a closing connection sends nothing more
			} else {
				c.q.shrink()
			}
			c.wakeLocked()
			c.mu.Unlock()
			if goAway {
				_ = c.ws.Close(websocket.StatusGoingAway, "server shutting down")
				c.cancel()
			}
			return
		}
		c.wakeLocked()
		c.mu.Unlock()
		if err := c.write(f); err != nil {
			c.cancel()
			c.mu.Lock()
			c.writing = false
			c.q.reset()
			c.mu.Unlock()
			return
		}
	}
}

// write writes one frame. Its deadline is enforced by the hub's write
// watchdog (writeStarted), not by a context timer per write: a timer per
// frame per recipient was a fifth of the writer's CPU in profiles.
func (c *Conn) write(f *frame) error {
	c.writeStarted.Store(time.Now().UnixNano())
	// Background: no per-write context registration. cancel still ends a
	// blocked write: it closes the network connection.
	err := c.ws.Write(context.Background(), websocket.MessageText, f.data)
	c.writeStarted.Store(0)
	if err != nil {
		return err
	}
	if f.seq != 0 || f.receipt != "" {
		now := c.h.Now()
		if f.seq != 0 {
			c.h.metrics.FanoutLatency.Observe(now.Sub(f.at).Seconds())
		}
		if f.receipt != "" && c.h.hooks.Delivered != nil {
			c.h.hooks.Delivered(f.receipt, c.member.ID, now)
		}
	}
	return nil
}

// writeStuck tells whether the current write has run past the timeout.
func (c *Conn) writeStuck(now time.Time) bool {
	started := c.writeStarted.Load()
	return started != 0 && now.Sub(time.Unix(0, started)) > c.h.cfg.WriteTimeout
}

// startPing pings the client in a goroutine of its own (the registry's
// keepalive loop calls it once per PingInterval).
func (c *Conn) startPing() {
	if c.closing.Load() {
		return
	}
	go c.ping()
}

// ping waits up to PingTimeout for the pong, and closes the connection
// (1008 "ping timeout") when it does not come.
func (c *Conn) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), c.h.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil && c.closing.CompareAndSwap(false, true) {
		c.mu.Lock()
		c.wakeLocked()
		c.mu.Unlock()
		c.h.metrics.Drops.WithLabelValues("ping_timeout").Inc()
		c.closeAfterTelling("ping timeout")
	}
}

// goAway asks the writer to flush the queue and close with 1001; with
// nothing queued it closes at once.
func (c *Conn) goAway() {
	c.mu.Lock()
	c.goingAway = true
	c.startWriterLocked()
	c.mu.Unlock()
}
