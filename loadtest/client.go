package main

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// clientWriteTimeout bounds each command a client writes.
const clientWriteTimeout = 10 * time.Second

// client is one simulated member: one WebSocket at a time, one reader
// goroutine that always reads (so pings are answered and nothing backs up
// in the hub), and commands matched to their replies by id.
type client struct {
	w    *worker
	slot int // index in the worker's client list (receipt slot)
	m    memberRef
	urls []string // every target's WebSocket URL, in -targets order
	// proto is the protocol spoken: "" the hub's, protoCentrifugo the peer's.
	proto string

	mu sync.Mutex // guards the following fields
	// target is the index in urls of the node this client dials (or is
	// on); a failover moves it round-robin.
	target int
	ws     *websocket.Conn
	// gen counts connections; a reader only acts for its own generation.
	gen int
	up  bool // welcomed and not yet lost
	// dropping: the loss that follows is intended (drop, close), not an error.
	dropping bool
	pending  map[string]chan reply
	// seen holds the seqs received on the current connection: any seq twice
	// on one connection is a duplicate (docs/API.md: no event is sent twice on
	// one connection).
	seen map[int64]struct{}
	// lastSeq is the newest seq this member knows (welcome or event), the
	// cursor for resume.
	lastSeq int64
	// since is the resume cursor of the current connection; -1 when it was
	// not a resume. Alerts at or below it are re-pushes of active alerts.
	since int64
	// failing: a failover (redial after a loss nobody asked for) is in
	// progress; foCancel stops it and foDone closes when it has stopped.
	failing  bool
	foCancel context.CancelFunc
	foDone   chan struct{}
}

// reply is a command's answer as the client saw it.
type reply struct {
	ok   bool
	code string // error code, or a client-side failure: closed, timeout, write_failed, not_connected
	sent time.Time
	at   int64 // unix ns the reply was read
	data json.RawMessage
}

// inFrame holds the fields of any server frame the load tester reads.
type inFrame struct {
	Type  string  `json:"type"`
	Seq   int64   `json:"seq"`
	ID    *string `json:"id"`
	OK    bool    `json:"ok"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
	AlertID string `json:"alert_id"`
	Alert   *struct {
		ID string `json:"id"`
	} `json:"alert"`
	Bulletin *struct {
		ID string `json:"id"`
	} `json:"bulletin"`
	Data json.RawMessage `json:"data"`
}

// dial connects, waits for the welcome and, when resume is set, resumes
// from the last seq this member saw and waits for the resume's reply. It
// returns the time all that took, or the kind of failure.
func (c *client) dial(ctx context.Context, resume bool, timeout time.Duration) (time.Duration, string) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.mu.Lock()
	since := c.lastSeq
	u := c.urls[c.target]
	c.mu.Unlock()
	if c.m.Token != "" {
		u += "?token=" + url.QueryEscape(c.m.Token)
	}
	ws, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: c.w.hc})
	if err != nil {
		kind := dialErrKind(dctx, resp, err)
		if c.m.Token != "" { // never write a token to the log
			err = errors.New(strings.ReplaceAll(err.Error(), url.QueryEscape(c.m.Token), "<token>"))
		}
		c.w.sample("dial_"+kind, err)
		return 0, kind
	}
	ws.SetReadLimit(1 << 20)
	welcome := make(chan struct{})
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.ws, c.up, c.dropping = ws, false, false
	c.seen = make(map[int64]struct{}, 4)
	c.since = -1
	if resume {
		c.since = since
	}
	c.mu.Unlock()
	c.w.readers.Add(1)
	// The reader lives as long as the worker, not as the operation that
	// dialed.
	if c.proto == protoCentrifugo {
		go c.readCentrifugo(c.w.ctx, ws, gen, welcome)
		if err := ws.Write(dctx, websocket.MessageText, centrifugoHello); err != nil {
			_ = ws.CloseNow()
			return 0, "write_failed"
		}
	} else {
		go c.readLoop(c.w.ctx, ws, gen, welcome)
	}
	select {
	case <-welcome:
		if !c.isUp() {
			return 0, "closed_before_welcome"
		}
	case <-dctx.Done():
		_ = ws.CloseNow()
		return 0, "welcome_timeout"
	}
	if resume && c.proto == "" {
		r := c.command(dctx, func(id string) []byte {
			return []byte(`{"type":"resume","id":"` + id + `","since":` + strconv.FormatInt(since, 10) + `}`)
		})
		if !r.ok {
			return 0, "resume_" + r.code
		}
	}
	return time.Since(start), ""
}

// dialErrKind names a dial failure for the error counts.
func dialErrKind(ctx context.Context, resp *http.Response, err error) string {
	switch {
	case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
		return "http_" + strconv.Itoa(resp.StatusCode)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no_free_port"
	case ctx.Err() != nil:
		return "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "other"
}

func (c *client) readLoop(ctx context.Context, ws *websocket.Conn, gen int, welcome chan struct{}) {
	defer c.w.readers.Done()
	welcomed := false
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if !welcomed {
				close(welcome) // dial counts this failure
			}
			c.lost(ctx, gen, err, welcomed)
			return
		}
		now := time.Now().UnixNano()
		c.w.frames.Add(1)
		var f inFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.w.errs.add("frame_bad_json", 1)
			continue
		}
		switch f.Type {
		case "welcome":
			c.mu.Lock()
			c.lastSeq = max(c.lastSeq, f.Seq)
			if !welcomed && c.gen == gen {
				c.up = true
				c.w.connected.Add(1)
			}
			c.mu.Unlock()
			if !welcomed {
				welcomed = true
				close(welcome)
			}
		case "reply":
			c.resolve(&f, now)
		case "alert":
			if f.Alert != nil {
				c.event(f.Seq, f.Type, keyAlert+f.Alert.ID, now, len(data))
			}
		case "alert_cancel":
			c.event(f.Seq, f.Type, keyCancel+f.AlertID, now, len(data))
		case "bulletin":
			if f.Bulletin != nil {
				c.event(f.Seq, f.Type, keyBulletin+f.Bulletin.ID, now, len(data))
			}
		case "report":
			c.event(f.Seq, f.Type, "", now, len(data))
		case "alert_progress":
			// A live view without seq; residents do not get it.
		default:
			c.w.errs.add("frame_unknown_type", 1)
		}
	}
}

// event records an event frame: its seq for duplicates and the resume
// cursor, and its receipt.
func (c *client) event(seq int64, typ, key string, at int64, size int) {
	c.mu.Lock()
	_, dup := c.seen[seq]
	if c.seen != nil {
		c.seen[seq] = struct{}{}
	}
	since := c.since
	c.lastSeq = max(c.lastSeq, seq)
	c.mu.Unlock()
	if dup {
		c.w.errs.add("duplicate_seq", 1)
	}
	if since >= 0 && seq <= since {
		if typ == "alert" {
			c.w.repushed.Add(1) // an active alert, pushed again on the new connection
		} else {
			c.w.errs.add("old_event_after_resume", 1)
		}
	}
	if key != "" {
		c.w.book.Load().get(key, true).mark(c.slot, at, size)
	}
}

func (c *client) resolve(f *inFrame, at int64) {
	code := ""
	if !f.OK {
		code = "unknown"
		if f.Error != nil {
			code = f.Error.Code
		}
	}
	if f.ID == nil {
		c.w.errs.add("reply_without_id_"+code, 1)
		return
	}
	c.mu.Lock()
	ch := c.pending[*f.ID]
	delete(c.pending, *f.ID)
	c.mu.Unlock()
	if ch == nil {
		c.w.errs.add("reply_unexpected", 1)
		return
	}
	ch <- reply{ok: f.OK, code: code, at: at, data: f.Data}
}

// lost ends a connection's generation: pending commands fail, and the
// loss counts as an error unless it was asked for (drop, close) or the
// run said the node would die (expectLoss). A loss nobody asked for also
// starts a failover: the client redials the next target and resumes.
func (c *client) lost(ctx context.Context, gen int, err error, welcomed bool) {
	lostAt := time.Now()
	c.mu.Lock()
	if gen != c.gen {
		c.mu.Unlock()
		return
	}
	wasUp, intended := c.up, c.dropping
	c.up = false
	pend := c.pending
	c.pending = nil
	from := c.target
	// A connection made by a running failover that fails before its
	// resume reply is that failover's business: it tries the next target.
	inFailover := c.failing
	startFailover := !intended && welcomed && ctx.Err() == nil && !inFailover
	var fctx context.Context
	var cancel context.CancelFunc
	var done chan struct{}
	if startFailover {
		fctx, cancel = context.WithDeadline(ctx, c.w.runDeadline())
		done = make(chan struct{})
		c.failing, c.foCancel, c.foDone = true, cancel, done
		c.w.readers.Add(1) // the failover lives as long as a reader
	}
	c.mu.Unlock()
	if wasUp {
		c.w.connected.Add(-1)
	}
	for _, ch := range pend {
		ch <- reply{code: "closed"}
	}
	if !startFailover {
		return
	}
	if c.w.isDying(from) {
		c.w.expectedLoss.Add(1) // the run killed this node on purpose
	} else {
		kind := "closed_eof"
		if s := websocket.CloseStatus(err); s != -1 {
			kind = "closed_" + strconv.Itoa(int(s))
		}
		c.w.errs.add(kind, 1)
		c.w.sample(kind, err)
	}
	go c.failover(fctx, cancel, done, lostAt, from)
}

// Failover backoff: exponential from failoverBase, capped at failoverCap,
// with full jitter (each wait drawn uniformly from zero to the bound), so
// that thousands of clients of one dead node do not all dial at once.
const (
	failoverBase = 100 * time.Millisecond
	failoverCap  = 2 * time.Second
)

// failoverBound is the upper bound of the wait before attempt n (0-based).
func failoverBound(attempt int) time.Duration {
	if attempt >= 16 {
		return failoverCap
	}
	return min(failoverBase<<attempt, failoverCap)
}

// failoverWait draws the wait before attempt n: full jitter.
func failoverWait(attempt int) time.Duration {
	return rand.N(failoverBound(attempt))
}

// failoverRec is one client's failover: from which target to which, when
// its connection was lost and when the resume was answered on the new
// one, and how many dials it took.
type failoverRec struct {
	Idx      int   `json:"i"`
	From     int   `json:"f"`
	To       int   `json:"t"`
	Lost     int64 `json:"l"` // unix ns the loss was seen
	Resumed  int64 `json:"r"` // unix ns the resume reply was read
	Attempts int   `json:"a"`
}

// firstFailoverTarget is where the member with this index goes first when
// target from is lost: one of the others, chosen by the index, so that a
// dead node's clients spread evenly over the survivors.
func firstFailoverTarget(from, idx, n int) int {
	if n <= 1 {
		return 0
	}
	return (from + 1 + idx%(n-1)) % n
}

// failover redials after a loss nobody asked for: another target than the
// one it was on, the first one picked by the member's index so that a dead
// node's clients spread over all the survivors (not all onto the next one,
// which would double its load), then round-robin (the same one when there
// is only one),
// waiting failoverWait before each attempt, until a connection is welcomed
// and its resume (from the last seq this member saw) is answered, or ctx
// ends (the run's deadline, or drop). Failed attempts are not errors (the
// node is dead: that is the point); giving up is.
func (c *client) failover(ctx context.Context, cancel context.CancelFunc, done chan struct{}, lostAt time.Time, from int) {
	defer c.w.readers.Done()
	defer close(done)
	defer cancel()
	c.w.failing.Add(1)
	defer c.w.failing.Add(-1)
	rec := failoverRec{Idx: c.m.Idx, From: from, To: -1, Lost: lostAt.UnixNano()}
	to := from
	for attempt := 0; ; attempt++ {
		t := time.NewTimer(failoverWait(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
		if attempt == 0 {
			to = firstFailoverTarget(from, c.m.Idx, len(c.urls))
		} else {
			to = (to + 1) % len(c.urls)
		}
		c.mu.Lock()
		c.target = to
		c.mu.Unlock()
		rec.Attempts++
		_, kind := c.dial(ctx, true, c.w.dialTimeout)
		c.mu.Lock()
		ok := kind == "" && c.up
		if ok {
			c.failing, c.foCancel = false, nil
		}
		ws := c.ws
		c.mu.Unlock()
		if ok {
			rec.To, rec.Resumed = to, time.Now().UnixNano()
			c.w.addFailover(rec)
			return
		}
		if kind == "" {
			kind = "lost_before_resumed"
		} else if strings.HasPrefix(kind, "resume_") && ws != nil {
			_ = ws.CloseNow() // welcomed but not resumed: try the next one
		}
		c.w.foFails.add(kind, 1)
	}
	c.mu.Lock()
	c.failing, c.foCancel = false, nil
	c.mu.Unlock()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && c.w.ctx.Err() == nil {
		c.w.errs.add("failover_gave_up", 1)
		c.w.foGaveUp.Add(1)
	}
}

// command sends one command built around its id and waits for the reply.
func (c *client) command(ctx context.Context, build func(id string) []byte) reply {
	id := "c" + strconv.FormatInt(c.w.nextID.Add(1), 36)
	ch := make(chan reply, 1)
	c.mu.Lock()
	ws := c.ws
	if ws == nil || !c.up {
		c.mu.Unlock()
		return reply{code: "not_connected", sent: time.Now()}
	}
	if c.pending == nil {
		c.pending = make(map[string]chan reply)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	sent := time.Now()
	wctx, cancel := context.WithTimeout(ctx, clientWriteTimeout)
	err := ws.Write(wctx, websocket.MessageText, build(id))
	cancel()
	if err != nil {
		c.unpend(id)
		return reply{code: "write_failed", sent: sent}
	}
	select {
	case r := <-ch:
		r.sent = sent
		return r
	case <-ctx.Done():
		c.unpend(id)
		return reply{code: "timeout", sent: sent}
	}
}

func (c *client) unpend(id string) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// drop closes the connection at once, as a lost network would; the
// client then stays down (no failover) until it is dialed again. A
// failover in progress is stopped first.
func (c *client) drop() {
	c.mu.Lock()
	c.dropping = true
	cancel, done := c.foCancel, c.foDone
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	c.mu.Lock()
	c.dropping = true // a failover's dial may have cleared it
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		_ = ws.CloseNow()
	}
}

// isFailing reports whether a failover is in progress.
func (c *client) isFailing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failing
}

func (c *client) isUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up
}
