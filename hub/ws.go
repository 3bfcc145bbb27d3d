package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

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

func (h *Hub) serveWS(w http.ResponseWriter, r *http.Request) {
	if h.shuttingDown.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": errUnavailable})
		return
	}
	p, err := h.authenticate(r)
	if err != nil {
		h.writeError(r.Context(), w, err)
		return
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
		return // Accept wrote the HTTP error (bad origin, not a WebSocket)
	}
	ws.SetReadLimit(maxFrame)
	h.wsWG.Add(1)
	h.metrics.connects.Inc()

	c := h.newConn(ws, hw.nc, p.Member)
	h.conns.add(c) // live frames are held (c.holding) until the welcome is out
	if err := h.welcome(c); err != nil {
		if !c.closing.Load() {
			h.log.Error("websocket welcome", "member", p.ID, "err", err)
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
func (h *Hub) readConn(c *conn) {
	defer h.endConn(c)
	defer func() {
		// handleFrame recovers a command's panic; this is for the rest,
		// which no longer runs under the HTTP handler's recover.
		if v := recover(); v != nil {
			h.metrics.panics.WithLabelValues("ws").Inc()
			h.log.Error("panic in websocket read loop", "member", c.member.ID, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	h.readLoop(c)
}

// endConn unregisters a connection, closes it, waits for its writer and
// tells Shutdown it is gone.
func (h *Hub) endConn(c *conn) {
	h.conns.remove(c)
	c.cancel()
	c.writers.Wait()
	_ = c.ws.CloseNow()
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

// welcome sends the welcome, then the active alerts addressed to the member
// (covering it now), then releases live frames held meanwhile.
func (h *Hub) welcome(c *conn) error {
	defer c.release()
	ctx, done := c.commandContext()
	defer done()
	seq, err := h.store.LatestSeq(ctx)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"type": "welcome", "member": c.member, "seq": seq})
	if err := c.enqueueWait(&frame{data: data}); err != nil {
		return err
	}
	h.coverNewPosition(ctx, c.member.ID)
	return h.replayActiveAlerts(ctx, c)
}

func (h *Hub) replayActiveAlerts(ctx context.Context, c *conn) error {
	evs, err := h.store.ActiveAlertsFor(ctx, c.member.ID, h.now())
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
func (h *Hub) readLoop(c *conn) {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			return // closed, too big (1009 sent by the library), or gone
		}
		if typ != websocket.MessageText {
			c.send(errorReply(nil, badRequest("frames must be JSON text")))
			continue
		}
		h.handleFrame(c, data)
	}
}

// command is any client command; each type reads the fields it needs.
type command struct {
	Type      string   `json:"type"`
	ID        *string  `json:"id"`
	Since     *int64   `json:"since"`
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m"`
	AlertID   string   `json:"alert_id"`
	Response  string   `json:"response"`
	EtaMin    *int     `json:"eta_min"`
	Note      string   `json:"note"`
	Kind      string   `json:"kind"`
	Text      string   `json:"text"`
	Photos    []string `json:"photos"`
	ClientID  string   `json:"client_id"`
}

// handleFrame runs one command; a panic in it is logged, counted and
// answered, and the connection stays open.
func (h *Hub) handleFrame(c *conn, data []byte) {
	var id *string
	defer func() {
		if v := recover(); v != nil {
			h.metrics.panics.WithLabelValues("ws").Inc()
			h.log.Error("panic in websocket command", "member", c.member.ID, "panic", v, "stack", string(debug.Stack()))
			c.send(errorReply(id, &APIError{Code: CodeInternal, Message: "internal error"}))
		}
	}()
	cmd, id, err := parseCommand(data)
	if err != nil {
		c.send(errorReply(id, err))
		return
	}
	res, err := h.runCommand(c, cmd)
	switch {
	case err != nil:
		c.send(errorReply(id, err))
	case id != nil:
		if res == nil {
			res = struct{}{}
		}
		out, _ := json.Marshal(map[string]any{"type": "reply", "id": *id, "ok": true, "data": res})
		c.send(out)
	}
}

// parseCommand decodes one client frame. On failure it still returns the
// command's id when one could be read, so the error reply can carry it.
func parseCommand(data []byte) (*command, *string, error) {
	var cmd command
	if err := unmarshalStrict(data, &cmd); err != nil {
		var only struct {
			ID *string `json:"id"`
		}
		if json.Unmarshal(data, &only) == nil {
			return nil, only.ID, err
		}
		return nil, nil, err
	}
	return &cmd, cmd.ID, nil
}

func errorReply(id *string, err error) []byte {
	ae := toAPIError(err)
	out, _ := json.Marshal(map[string]any{"type": "reply", "id": id, "ok": false, "error": ae})
	return out
}

func (h *Hub) runCommand(c *conn, cmd *command) (any, error) {
	switch cmd.Type {
	case "ping":
		return nil, nil
	case "":
		return nil, badRequest("type is required")
	}
	ctx, done := c.commandContext()
	defer done()
	p := &Principal{Member: c.member}
	switch cmd.Type {
	case "resume":
		if cmd.Since == nil || *cmd.Since < 0 || *cmd.Since > 1<<53-1 {
			return nil, badRequest("since must be a seq from 0 to 2^53-1")
		}
		seq, err := h.resume(ctx, c, *cmd.Since)
		if err != nil {
			return nil, err
		}
		return map[string]any{"seq": seq}, nil
	case "locate":
		return nil, h.locate(ctx, c, cmd)
	case "ack":
		return h.ack(ctx, c, cmd)
	case "report":
		rep, err := h.CreateReport(ctx, &ReportRequest{Kind: cmd.Kind, Text: cmd.Text, Lat: cmd.Lat, Lng: cmd.Lng, Photos: cmd.Photos, ClientID: cmd.ClientID}, p)
		if err != nil {
			return nil, err
		}
		return map[string]any{"report": rep}, nil
	default:
		return nil, badRequest("unknown type %q", cmd.Type)
	}
}

// resume replays, in seq order, the stored events addressed to the member
// after since that this connection has not sent, then the active alerts it
// was never sent; live events arriving meanwhile are held and follow.
func (h *Hub) resume(ctx context.Context, c *conn, since int64) (int64, error) {
	if !c.hold() {
		return 0, apiErr(CodeConflict, "a resume is already running")
	}
	defer c.release()
	newest, err := h.store.LatestSeq(ctx)
	if err != nil {
		return 0, err
	}
	aud := storage.Audience{MemberID: c.member.ID, Role: c.member.Role, VillageID: c.member.VillageID}
	for cursor := since; ; {
		evs, err := h.store.EventsSince(ctx, aud, cursor, replayPage)
		if err != nil {
			return 0, err
		}
		for i := range evs {
			if err := c.sendReplay(eventFrame(&evs[i])); err != nil {
				return 0, err
			}
			cursor = evs[i].Seq
			newest = max(newest, cursor)
		}
		if len(evs) < replayPage {
			break
		}
	}
	if err := h.replayActiveAlerts(ctx, c); err != nil {
		return 0, err
	}
	return newest, nil
}

func (h *Hub) locate(ctx context.Context, c *conn, cmd *command) error {
	if cmd.Lat == nil || cmd.Lng == nil || !validLatLng(*cmd.Lat, *cmd.Lng) {
		return badRequest("lat and lng are required, lat in [-90, 90], lng in [-180, 180]")
	}
	acc := 0.0
	if cmd.AccuracyM != nil {
		if *cmd.AccuracyM < 0 || *cmd.AccuracyM > 100000 {
			return badRequest("accuracy_m must be between 0 and 100000")
		}
		acc = *cmd.AccuracyM
	}
	if !h.limits.allow(c.member.ID, "locate") {
		return apiErr(CodeRateLimited, "too many positions; send one every few seconds")
	}
	pos := storage.Position{Lat: *cmd.Lat, Lng: *cmd.Lng, AccuracyM: acc, At: h.now()}
	if err := h.store.SetLivePosition(ctx, c.member.ID, pos); err != nil {
		return err
	}
	h.dir.locate(c.member.ID, pos)
	h.coverNewPosition(ctx, c.member.ID)
	return nil
}

var responses = []string{storage.RespReceived, storage.RespSafe, storage.RespNeedHelp, storage.RespComing, storage.RespUnavailable}

func (h *Hub) ack(ctx context.Context, c *conn, cmd *command) (any, error) {
	if cmd.AlertID == "" || len(cmd.AlertID) > 100 {
		return nil, badRequest("alert_id is required")
	}
	if !slices.Contains(responses, cmd.Response) {
		return nil, badRequest("response must be received, safe, need_help, coming or unavailable")
	}
	if cmd.EtaMin != nil && (*cmd.EtaMin < 0 || *cmd.EtaMin > 1440) {
		return nil, badRequest("eta_min must be between 0 and 1440")
	}
	if err := checkText("note", cmd.Note, 500, true); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok, err := h.acks.submit(ctx, storage.Ack{AlertID: cmd.AlertID, MemberID: c.member.ID,
		Response: cmd.Response, EtaMin: cmd.EtaMin, Note: cmd.Note, At: h.now()})
	if err != nil {
		return nil, err
	}
	if !ok {
		if _, err := h.store.GetAlert(ctx, cmd.AlertID); errors.Is(err, storage.ErrNotFound) {
			return nil, apiErr(CodeNotFound, "no such alert")
		}
		return nil, apiErr(CodeForbidden, "this alert is not addressed to you")
	}
	h.log.LogAttrs(ctx, slog.LevelDebug, "ack", slog.String("alert", cmd.AlertID), slog.String("member", c.member.ID), slog.String("response", cmd.Response))
	return map[string]any{"alert_id": cmd.AlertID, "response": cmd.Response}, nil
}
