package hub

import (
	"context"
	"errors"
	"log/slog"
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
	alertID string    // set on alert frames: writing one records a delivery
	at      time.Time // when the event was accepted, for fan-out latency
	lossy   bool      // may be dropped when the queue is full (alert_progress)
}

// slowCloseGrace is how long a slow client gets to receive its 1008.
const slowCloseGrace = time.Second

// conn is one member's WebSocket. It has exactly one writer goroutine fed
// by a bounded queue; publishers never block on it. A full queue (by count
// or bytes) disconnects the client with 1008 so it reconnects and catches
// up from the store with resume.
type conn struct {
	h      *Hub
	ws     *websocket.Conn
	member storage.Member
	queue  chan *frame
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the writer has exited

	queuedBytes  atomic.Int64
	writeStarted atomic.Int64 // unix nanos when the current write began; 0 when idle
	closing      atomic.Bool  // a close was started; further frames are dropped

	mu sync.Mutex // guards the following fields
	// holding: live frames are held back in held (while the welcome and the
	// active alerts are sent, or while a resume replays), then released in
	// order, so the client sees a replay in seq order and nothing twice.
	holding bool
	held    []*frame
	// sent holds the seqs sent on this connection: no event twice.
	sent map[int64]struct{}
	// goingAway: close with 1001 once the queue is drained.
	goingAway bool
}

func (h *Hub) newConn(ws *websocket.Conn, m storage.Member) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		h: h, ws: ws, member: m,
		queue:   make(chan *frame, h.cfg.SendQueueLen),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		holding: true,
	}
}

// deliver queues a live frame, or holds it while a replay runs.
func (c *conn) deliver(f *frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		if len(c.held) >= c.h.cfg.SendQueueLen*4 {
			c.closeSlowLocked("held_full")
			return
		}
		c.held = append(c.held, f)
		return
	}
	if !c.markSentLocked(f.seq) {
		return
	}
	c.enqueueLocked(f)
}

// markSentLocked records seq as sent and reports whether it was new.
func (c *conn) markSentLocked(seq int64) bool {
	if seq == 0 {
		return true
	}
	if _, dup := c.sent[seq]; dup {
		return false
	}
	if c.sent == nil {
		c.sent = make(map[int64]struct{}, 8)
	}
	c.sent[seq] = struct{}{}
	return true
}

// enqueueLocked never blocks: a full queue disconnects the client.
func (c *conn) enqueueLocked(f *frame) {
	if c.closing.Load() {
		return
	}
	n := int64(len(f.data))
	if c.queuedBytes.Load()+n > int64(c.h.cfg.SendQueueBytes) {
		if f.lossy {
			c.h.metrics.drops.WithLabelValues("progress_skipped").Inc()
			return
		}
		c.closeSlowLocked("queue_bytes")
		return
	}
	select {
	case c.queue <- f:
		c.queuedBytes.Add(n)
	default:
		if f.lossy {
			c.h.metrics.drops.WithLabelValues("progress_skipped").Inc()
			return
		}
		c.closeSlowLocked("queue_full")
	}
}

// enqueueWait queues a replayed frame, waiting for room: a replay is paced
// by the client's reading speed instead of disconnecting it.
func (c *conn) enqueueWait(f *frame) error {
	select {
	case c.queue <- f:
		c.queuedBytes.Add(int64(len(f.data)))
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-time.After(c.h.cfg.WriteTimeout):
		c.mu.Lock()
		c.closeSlowLocked("replay_stalled")
		c.mu.Unlock()
		return errors.New("client too slow")
	}
}

// sendReplay sends a stored event unless this connection already sent it.
func (c *conn) sendReplay(f *frame) error {
	c.mu.Lock()
	fresh := c.markSentLocked(f.seq)
	c.mu.Unlock()
	if !fresh {
		return nil
	}
	return c.enqueueWait(f)
}

// hold starts holding live frames; false if a replay is already running.
func (c *conn) hold() bool {
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
func (c *conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.held {
		if c.markSentLocked(f.seq) {
			c.enqueueLocked(f)
		}
	}
	c.held = nil
	c.holding = false
}

// send queues a frame that is not an event (reply, welcome).
func (c *conn) send(data []byte) {
	c.mu.Lock()
	c.enqueueLocked(&frame{data: data})
	c.mu.Unlock()
}

func (c *conn) closeSlowLocked(reason string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.h.metrics.drops.WithLabelValues(reason).Inc()
	c.h.log.LogAttrs(context.Background(), slog.LevelInfo, "disconnecting slow client",
		slog.String("member", c.member.ID), slog.String("reason", reason))
	go func() {
		// Try to tell it why (1008) for a moment, then drop it: a stalled
		// client must not hold its connection for the library's full
		// close-handshake timeouts.
		done := make(chan struct{})
		go func() {
			_ = c.ws.Close(websocket.StatusPolicyViolation, "too slow")
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(slowCloseGrace):
		}
		c.cancel()
	}()
}

// writeLoop is the connection's only writer.
func (c *conn) writeLoop() {
	defer close(c.done)
	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case f := <-c.queue:
			c.queuedBytes.Add(-int64(len(f.data)))
			if f.data != nil { // nil: a wake-up from goAway
				if err := c.write(f); err != nil {
					c.cancel()
					return
				}
			}
		case <-ping.C:
			go c.ping()
		case <-c.ctx.Done():
			return
		}
		if len(c.queue) == 0 && c.isGoingAway() {
			_ = c.ws.Close(websocket.StatusGoingAway, "server shutting down")
			c.cancel()
			return
		}
	}
}

// write writes one frame. Its deadline is enforced by the hub's write
// watchdog (writeStarted), not by a context timer per write: a timer per
// frame per recipient was a fifth of the writer's CPU in profiles.
func (c *conn) write(f *frame) error {
	c.writeStarted.Store(time.Now().UnixNano())
	// Background: no per-write context registration. A cancelled c.ctx
	// still ends a blocked write, because the read loop's Read(c.ctx) then
	// closes the connection.
	err := c.ws.Write(context.Background(), websocket.MessageText, f.data)
	c.writeStarted.Store(0)
	if err != nil {
		return err
	}
	if f.seq != 0 || f.alertID != "" {
		now := c.h.now()
		if f.seq != 0 {
			c.h.metrics.fanoutLatency.Observe(now.Sub(f.at).Seconds())
		}
		if f.alertID != "" {
			c.h.deliveries.add(f.alertID, c.member.ID, now)
		}
	}
	return nil
}

// writeStuck tells whether the current write has run past the timeout.
func (c *conn) writeStuck(now time.Time) bool {
	started := c.writeStarted.Load()
	return started != 0 && now.Sub(time.Unix(0, started)) > c.h.cfg.WriteTimeout
}

func (c *conn) ping() {
	ctx, cancel := context.WithTimeout(c.ctx, c.h.cfg.PingTimeout)
	defer cancel()
	if err := c.ws.Ping(ctx); err != nil && c.ctx.Err() == nil {
		c.h.metrics.drops.WithLabelValues("ping_timeout").Inc()
		_ = c.ws.Close(websocket.StatusPolicyViolation, "ping timeout")
		c.cancel()
	}
}

func (c *conn) isGoingAway() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goingAway
}

// goAway asks the writer to flush its queue and close with 1001.
func (c *conn) goAway() {
	c.mu.Lock()
	c.goingAway = true
	c.mu.Unlock()
	// Wake the writer if its queue is empty.
	select {
	case c.queue <- &frame{data: nil}:
	default:
	}
}
