package main

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/coder/websocket"
)

// protoCentrifugo is Centrifugo's bidirectional JSON protocol (client
// protocol v2): commands and replies are JSON objects, several in one
// frame separated by newlines; a server ping is an empty object, answered
// with an empty object.
const protoCentrifugo = "centrifugo"

// peerChannel is the one channel every peer client subscribes to.
const peerChannel = "alerts"

// centrifugoHello connects (anonymously: the peer runs in insecure client
// mode) and subscribes to peerChannel, in one frame.
var centrifugoHello = []byte(`{"id":1,"connect":{"name":"loadtest"}}` + "\n" + `{"id":2,"subscribe":{"channel":"` + peerChannel + `"}}`)

// cfFrame is one Centrifugo reply or push, with what the load tester reads.
type cfFrame struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Push *struct {
		Channel string `json:"channel"`
		Pub     *struct {
			Data json.RawMessage `json:"data"`
		} `json:"pub"`
	} `json:"push"`
}

// readCentrifugo is readLoop for a Centrifugo connection: the subscribe
// reply is the welcome, a publication's data is the hub-shaped alert frame
// the peer scenario published, and pings are answered.
func (c *client) readCentrifugo(ctx context.Context, ws *websocket.Conn, gen int, welcome chan struct{}) {
	defer c.w.readers.Done()
	welcomed := false
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			if !welcomed {
				close(welcome)
			}
			c.lost(ctx, gen, err, welcomed)
			return
		}
		now := time.Now().UnixNano()
		c.w.frames.Add(1)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue
			}
			if bytes.Equal(line, []byte("{}")) { // ping
				wctx, cancel := context.WithTimeout(ctx, clientWriteTimeout)
				_ = ws.Write(wctx, websocket.MessageText, []byte("{}"))
				cancel()
				continue
			}
			var f cfFrame
			if err := json.Unmarshal(line, &f); err != nil {
				c.w.errs.add("frame_bad_json", 1)
				continue
			}
			switch {
			case f.Error != nil:
				c.w.errs.add("centrifugo_error_"+f.Error.Message, 1)
				if !welcomed {
					welcomed = true
					close(welcome) // dial sees the client is not up
				}
			case f.ID == 2 && !welcomed:
				c.mu.Lock()
				if c.gen == gen {
					c.up = true
					c.w.connected.Add(1)
				}
				c.mu.Unlock()
				welcomed = true
				close(welcome)
			case f.Push != nil && f.Push.Pub != nil:
				var in inFrame
				if err := json.Unmarshal(f.Push.Pub.Data, &in); err != nil || in.Alert == nil {
					c.w.errs.add("frame_bad_json", 1)
					continue
				}
				c.event(in.Seq, in.Type, keyAlert+in.Alert.ID, now, len(data))
			}
		}
	}
}
