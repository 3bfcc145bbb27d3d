package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
)

// serveWS authenticates a WebSocket request and hands it to the core.
func (a *API) serveWS(w http.ResponseWriter, r *http.Request) {
	if a.node.ShuttingDown() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": errorOf(service.ErrUnavailable)})
		return
	}
	// Authenticating may wait on the store: bound it like a request.
	actx, cancel := context.WithTimeout(r.Context(), defaultDeadlines.work)
	p, err := a.authenticate(r.WithContext(actx))
	cancel()
	if err != nil {
		a.WriteError(r.Context(), w, err)
		return
	}
	// A connection that served requests before may carry their deadlines;
	// the WebSocket keeps its own (pings, write timeouts).
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	a.node.ServeWSToken(w, r, p.Member, p.Token.ID, memberJSON(&p.Member))
}

// Commands is the handler of the commands clients send on their WebSocket.
func (a *API) Commands() hub.CommandHandler { return commands{a} }

type commands struct{ a *API }

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
	// Visibility of a report (v1.6): private or public.
	Visibility string `json:"visibility"`
}

// HandleFrame runs one command; a panic in it is logged, counted and
// answered, and the connection stays open.
func (h commands) HandleFrame(c *hub.Conn, text bool, data []byte) {
	var id *string
	defer func() {
		if v := recover(); v != nil {
			h.a.metrics.Panics.WithLabelValues("ws").Inc()
			h.a.log.Error("panic in websocket command", "member", c.Member().ID, "panic", v, "stack", string(debug.Stack()))
			c.Send(errorReply(id, &service.Error{Code: service.CodeInternal, Message: "internal error"}))
		}
	}()
	var cmd *command
	var err error
	if text {
		cmd, id, err = parseCommand(data)
	} else {
		err = service.Invalid("frames must be JSON text")
	}
	// Every frame counts, a bad one too (docs/API.md v1.4).
	if lerr := c.AllowCommand(cmd != nil && cmd.Type == "resume"); lerr != nil {
		c.Send(errorReply(id, service.Errorf(service.CodeRateLimited, "%s", lerr.Error())))
		return
	}
	if err != nil {
		c.Send(errorReply(id, err))
		return
	}
	res, err := h.a.runCommand(c, cmd)
	switch {
	case err != nil:
		c.Send(errorReply(id, err))
	case id != nil:
		if res == nil {
			res = struct{}{}
		}
		out, _ := json.Marshal(map[string]any{"type": "reply", "id": *id, "ok": true, "data": res})
		c.Send(out)
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
	out, _ := json.Marshal(map[string]any{"type": "reply", "id": id, "ok": false, "error": errorOf(err)})
	return out
}

func (a *API) runCommand(c *hub.Conn, cmd *command) (any, error) {
	switch cmd.Type {
	case "ping":
		return nil, nil
	case "":
		return nil, service.Invalid("type is required")
	}
	ctx, done := c.CommandContext()
	defer done()
	p := &Principal{Member: *c.Member()}
	switch cmd.Type {
	case "resume":
		if cmd.Since == nil || *cmd.Since < 0 || *cmd.Since > 1<<53-1 {
			return nil, service.Invalid("since must be a seq from 0 to 2^53-1")
		}
		seq, from, err := a.node.ResumeFrom(ctx, c, *cmd.Since)
		if errors.Is(err, hub.ErrResumeRunning) {
			return nil, service.Errorf(service.CodeConflict, "a resume is already running")
		}
		if err != nil {
			return nil, err
		}
		if from > *cmd.Since {
			// The connection no longer remembers that far back (docs/API.md
			// v1.4): what it replayed starts after from.
			return map[string]any{"seq": seq, "from": from}, nil
		}
		return map[string]any{"seq": seq}, nil
	case "locate":
		if cmd.Lat == nil || cmd.Lng == nil {
			return nil, service.Invalid("lat and lng are required, lat in [-90, 90], lng in [-180, 180]")
		}
		if !may(p, ActReceive, Scope{}) {
			return nil, service.ErrForbidden
		}
		return nil, a.members.Locate(ctx, p.ID, *cmd.Lat, *cmd.Lng, cmd.AccuracyM)
	case "ack":
		if !may(p, ActReceive, Scope{}) {
			return nil, service.ErrForbidden
		}
		err := a.alerting.Answer(ctx, alerting.Answer{AlertID: cmd.AlertID, MemberID: p.ID,
			Response: cmd.Response, EtaMin: cmd.EtaMin, Note: cmd.Note})
		if err != nil {
			return nil, err
		}
		return map[string]any{"alert_id": cmd.AlertID, "response": cmd.Response}, nil
	case "report":
		if !may(p, ActReceive, Scope{}) {
			return nil, service.ErrForbidden
		}
		req := reportRequest{Kind: cmd.Kind, Text: cmd.Text, Lat: cmd.Lat, Lng: cmd.Lng, Photos: cmd.Photos, ClientID: cmd.ClientID,
			Visibility: cmd.Visibility}
		rep, err := a.reports.Create(ctx, req.draft(), p.actor())
		if err != nil {
			return nil, err
		}
		a.auditWS(ctx, p, "report", rep.ID) // v1.6 audit trail
		return map[string]any{"report": a.reports.View(ctx, &rep)}, nil
	default:
		return nil, service.Invalid("unknown type %q", cmd.Type)
	}
}
