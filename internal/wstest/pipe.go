// Package wstest serves HTTP over in-memory pipes for the WebSocket tests
// of the core (hub) and of the assembled node (server).
package wstest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Listener serves HTTP over in-memory net.Pipe connections: no file
// descriptors (so one process can hold 10,000 clients under the 20,000
// open-file limit) and no kernel buffers (a client that stops reading
// blocks the server's next write at once).
type Listener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newListener() *Listener {
	return &Listener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *Listener) Addr() net.Addr { return pipeAddr{} }

// Dial returns the client end of a new in-memory connection.
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// Serve serves the hub's handler on a pipe listener until cleanup.
func Serve(t testing.TB, h http.Handler) *Listener {
	l := newListener()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve pipe: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return l
}

// DialWS opens a WebSocket over the pipe listener.
func DialWS(ctx context.Context, l *Listener, token string) (*websocket.Conn, error) {
	hc := &http.Client{Transport: &http.Transport{DialContext: l.Dial}}
	c, _, err := websocket.Dial(ctx, "ws://pipe/ws", &websocket.DialOptions{
		HTTPClient: hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	return c, err
}

// DialStalled upgrades by hand and then never reads.
func DialStalled(t testing.TB, l *Listener, token string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := l.Dial(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	var key [16]byte
	_, _ = rand.Read(key[:])
	go fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: pipe\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nAuthorization: Bearer %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(key[:]), token)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return nc
}
