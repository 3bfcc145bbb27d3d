package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"runtime/debug"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

// maxFrame is the largest client message; larger closes with 1009.
const maxFrame = 64 << 10

// replayPage is how many stored events resume reads at a time.
const replayPage = 500

// wsReadBuf and wsWriteBuf size the WebSocket's read and write buffers,
// which every connection holds for its whole life. net/http hands a
// hijacked connection 4 KiB of each: 8 KiB of the ~14 KiB of heap an idle
// connection held. Client commands are small (a larger one takes one more
// read call); a frame larger than wsWriteBuf takes one more write call, as
// frames above 4 KiB did before. Circle alerts, bulletins and replies fit.
const (
	wsReadBuf  = 512
	wsWriteBuf = 2 << 10
)

// ServeWS upgrades the request to a WebSocket of member m, whom the caller
// has authenticated, sends the welcome and starts its read loop. It returns
// once the welcome is out (or failed); the connection lives on.
//
// memberJSON is the member object of the welcome frame, as the layer above
// (api) encodes it: the core sends those bytes as they are and knows no
// wire shape of a member. It must be valid JSON (nil sends null).
func (h *Node) ServeWS(w http.ResponseWriter, r *http.Request, m storage.Member, memberJSON json.RawMessage) {
	h.serveWS(w, r, m, "", memberJSON)
}

func (h *Node) serveWS(w http.ResponseWriter, r *http.Request, m storage.Member, tokenID string, memberJSON json.RawMessage) {
	addr, ok := h.admitAddr(w, r)
	if !ok {
		return // 429 written
	}
	hw := &hijackWriter{ResponseWriter: w}
	var aw http.ResponseWriter = hw
	if _, ok := w.(http.Hijacker); !ok {
		aw = w // cannot hijack (HTTP/2): Accept answers 501, as before
	}
	ws, err := websocket.Accept(aw, r, &websocket.AcceptOptions{
		OriginPatterns:  h.cfg.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		h.addrs.release(addr)
		return // Accept wrote the HTTP error (bad origin, not a WebSocket)
	}
	ws.SetReadLimit(maxFrame)
	h.wsWG.Add(1)
	h.metrics.Connects.Inc()

	c := h.newConn(ws, hw.nc, m)
	c.tokenID = tokenID
	c.addr = addr
	// Live frames are held (c.holding) until the welcome is out.
	if h.conns.add(c) && h.cfg.Presence != nil {
		h.cfg.Presence.Connected(m.ID)
	}
	h.capMember(c)
	if err := h.welcome(c, memberJSON); err != nil {
		if !c.closing.Load() {
			h.log.Error("websocket welcome", "member", m.ID, "err", err)
			_ = ws.Close(websocket.StatusInternalError, "try again")
		}
		h.endConn(c)
		return
	}
	// The connection's reads go on in a goroutine of its own and this
	// handler returns: net/http then lets go of the request, and the
	// handler's stack, grown by the welcome's store calls, is freed. An
	// idle connection keeps one small goroutine.
	go h.readConn(c)
}

// readConn runs the read loop until the connection ends, then cleans up.
func (h *Node) readConn(c *Conn) {
	defer h.endConn(c)
	defer func() {
		// handleFrame recovers a command's panic; this is for the rest,
		// which no longer runs under the HTTP handler's recover.
		if v := recover(); v != nil {
			h.metrics.Panics.WithLabelValues("ws").Inc()
			h.log.Error("panic in websocket read loop", "member", c.member.ID, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	h.readLoop(c)
}

// endConn unregisters a connection, closes it, waits for its writer and
// tells Shutdown it is gone.
func (h *Node) endConn(c *Conn) {
	if h.conns.remove(c) && h.cfg.Presence != nil {
		h.cfg.Presence.Disconnected(c.member.ID)
	}
	c.cancel()
	c.writers.Wait()
	_ = c.ws.CloseNow()
	h.addrs.release(c.addr)
	h.wsWG.Done()
}

// hijackWriter hands the WebSocket library smaller buffers than net/http's
// (wsReadBuf, wsWriteBuf) and keeps the network connection, so that
// conn.cancel can close it at once whatever the library is doing.
type hijackWriter struct {
	http.ResponseWriter
	nc net.Conn
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hub: the response writer cannot hijack")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // empty in practice
		nc.Close()
		return nil, nil, err
	}
	rd := brw.Reader
	if rd.Buffered() == 0 {
		// Bytes read past the handshake (a client that did not wait for
		// the 101) stay in net/http's reader; otherwise a small one.
		rd = bufio.NewReaderSize(nc, wsReadBuf)
	}
	w.nc = nc
	return nc, bufio.NewReadWriter(rd, bufio.NewWriterSize(nc, wsWriteBuf)), nil
}

// welcome sends the welcome, then lets the layers above address the
// member's position (Hooks.Joined), then the active alerts addressed to the
// member, then releases live frames held meanwhile.
func (h *Node) welcome(c *Conn, memberJSON json.RawMessage) error {
	defer c.release()
	ctx, done := c.commandContext()
	defer done()
	seq, err := h.store.LatestSeq(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(map[string]any{"type": "welcome", "member": memberJSON, "seq": seq})
	if err != nil {
		return err
	}
	if err := c.enqueueWait(&frame{data: data}); err != nil {
		return err
	}
	if h.hooks.Joined != nil {
		h.hooks.Joined(ctx, c.member.ID)
	}
	return h.replayActiveAlerts(ctx, c)
}

func (h *Node) replayActiveAlerts(ctx context.Context, c *Conn) error {
	evs, err := h.store.ActiveAlertsFor(ctx, c.member.ID, h.Now())
	if err != nil {
		return err
	}
	for i := range evs {
		if err := c.sendReplay(eventFrame(&evs[i])); err != nil {
			return err
		}
	}
	return nil
}

// readLoop reads with a context that is never cancelled: no per-read
// registration. conn.cancel closes the network connection, which ends a
// blocked read at once.
func (h *Node) readLoop(c *Conn) {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			return // closed, too big (1009 sent by the library), or gone
		}
		if h.hooks.Commands != nil {
			h.hooks.Commands.HandleFrame(c, typ == websocket.MessageText, data)
		}
	}
}

// ErrResumeRunning: a resume was asked while another runs on the connection.
var ErrResumeRunning = errors.New("a resume is already running")

// Resume replays, in seq order, the stored events addressed to the member
// after since that this connection has not sent, then the active alerts it
// was never sent; live events arriving meanwhile are held and follow. It
// returns the newest seq the client has now seen.
func (h *Node) Resume(ctx context.Context, c *Conn, since int64) (int64, error) {
	newest, _, err := h.ResumeFrom(ctx, c, since)
	return newest, err
}

// ResumeFrom is Resume that also returns the seq the replay started after:
// since, or the connection's low-water mark when since is below it (the
// connection counts every seq at or below it as sent: sentset.go).
func (h *Node) ResumeFrom(ctx context.Context, c *Conn, since int64) (newest, from int64, err error) {
	if !c.hold() {
		return 0, 0, ErrResumeRunning
	}
	defer c.release()
	c.mu.Lock()
	from = max(since, c.sent.floor)
	c.mu.Unlock()
	newest, err = h.store.LatestSeq(ctx)
	if err != nil {
		return 0, 0, err
	}
	aud := storage.Audience{MemberID: c.member.ID, Role: c.member.Role, VillageID: c.member.VillageID}
	for cursor := from; ; {
		evs, err := h.store.EventsSince(ctx, aud, cursor, replayPage)
		if err != nil {
			return 0, 0, err
		}
		for i := range evs {
			if err := c.sendReplay(eventFrame(&evs[i])); err != nil {
				return 0, 0, err
			}
			cursor = evs[i].Seq
			newest = max(newest, cursor)
		}
		if len(evs) < replayPage {
			break
		}
	}
	if err := h.replayActiveAlerts(ctx, c); err != nil {
		return 0, 0, err
	}
	return newest, from, nil
}
