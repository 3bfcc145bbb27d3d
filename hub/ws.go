package hub

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
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
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  h.cfg.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept wrote the HTTP error (bad origin, not a WebSocket)
	}
	ws.SetReadLimit(maxFrame)
	h.wsWG.Add(1)
	defer h.wsWG.Done()
	h.metrics.connects.Inc()

	c := h.newConn(ws, p.Member)
	h.conns.add(c) // live frames are held (c.holding) until the welcome is out
	defer func() {
		h.conns.remove(c)
		c.cancel()
		<-c.done
		_ = ws.CloseNow()
	}()
	go c.writeLoop()

	if err := h.welcome(c); err != nil {
		h.log.Error("websocket welcome", "member", p.ID, "err", err)
		_ = ws.Close(websocket.StatusInternalError, "try again")
		return
	}
	h.readLoop(c)
}

// welcome sends the welcome, then the active alerts addressed to the member
// (covering it now), then releases live frames held meanwhile.
func (h *Hub) welcome(c *conn) error {
	defer c.release()
	ctx := c.ctx
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

func (h *Hub) readLoop(c *conn) {
	for {
		typ, data, err := c.ws.Read(c.ctx)
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
	p := &Principal{Member: c.member}
	switch cmd.Type {
	case "ping":
		return nil, nil
	case "resume":
		if cmd.Since == nil || *cmd.Since < 0 || *cmd.Since > 1<<53-1 {
			return nil, badRequest("since must be a seq from 0 to 2^53-1")
		}
		seq, err := h.resume(c, *cmd.Since)
		if err != nil {
			return nil, err
		}
		return map[string]any{"seq": seq}, nil
	case "locate":
		return nil, h.locate(c, cmd)
	case "ack":
		return h.ack(c, cmd)
	case "report":
		rep, err := h.CreateReport(c.ctx, &ReportRequest{Kind: cmd.Kind, Text: cmd.Text, Lat: cmd.Lat, Lng: cmd.Lng, Photos: cmd.Photos, ClientID: cmd.ClientID}, p)
		if err != nil {
			return nil, err
		}
		return map[string]any{"report": rep}, nil
	case "":
		return nil, badRequest("type is required")
	default:
		return nil, badRequest("unknown type %q", cmd.Type)
	}
}

// resume replays, in seq order, the stored events addressed to the member
// after since that this connection has not sent, then the active alerts it
// was never sent; live events arriving meanwhile are held and follow.
func (h *Hub) resume(c *conn, since int64) (int64, error) {
	if !c.hold() {
		return 0, apiErr(CodeConflict, "a resume is already running")
	}
	defer c.release()
	ctx := c.ctx
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

func (h *Hub) locate(c *conn, cmd *command) error {
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
	if err := h.store.SetLivePosition(c.ctx, c.member.ID, pos); err != nil {
		return err
	}
	h.dir.locate(c.member.ID, pos)
	h.coverNewPosition(c.ctx, c.member.ID)
	return nil
}

var responses = []string{storage.RespReceived, storage.RespSafe, storage.RespNeedHelp, storage.RespComing, storage.RespUnavailable}

func (h *Hub) ack(c *conn, cmd *command) (any, error) {
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
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
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
