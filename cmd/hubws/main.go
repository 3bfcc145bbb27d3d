// Command hubws is a small WebSocket client for the hub: it connects with
// a member's token, prints every frame it receives, one JSON per line, and
// sends each line typed on standard input as a command.
//
//	go run ./cmd/hubws -url ws://127.0.0.1:8080/ws -token TOKEN
//	{"type":"resume","id":"1","since":0}
//	{"type":"ack","id":"2","alert_id":"a_...","response":"safe"}
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/coder/websocket"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "the hub's WebSocket URL")
	token := flag.String("token", os.Getenv("HUB_TOKEN"), "member token (env HUB_TOKEN)")
	resume := flag.Int64("resume", -1, "send resume with this seq right after the welcome (-1: don't)")
	flag.Parse()
	if *token == "" {
		fmt.Fprintln(os.Stderr, "hubws: -token is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, resp, err := websocket.Dial(dctx, *url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + *token}},
	})
	cancel()
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		fmt.Fprintln(os.Stderr, "hubws: dial:", err)
		os.Exit(1)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	go func() {
		if *resume >= 0 {
			_ = c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"type":"resume","id":"resume","since":%d}`, *resume))
		}
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			line := strings.TrimSpace(in.Text())
			if line == "" {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Write(wctx, websocket.MessageText, []byte(line))
			cancel()
			if err != nil {
				fmt.Fprintln(os.Stderr, "hubws: write:", err)
				return
			}
		}
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "hubws: closed:", err)
				os.Exit(1)
			}
			_ = c.Close(websocket.StatusNormalClosure, "bye")
			return
		}
		fmt.Println(string(data))
	}
}
