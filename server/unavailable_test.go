package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/postgres/pgtest"
)

// pgProxy forwards TCP connections to PostgreSQL and can stall them (bytes
// stop flowing, connections stay open) or refuse them (every connection
// closed, new ones refused), the two ways a database "goes away".
type pgProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	stalled bool
	resume  chan struct{}
	conns   []net.Conn
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, resume: make(chan struct{})}
	t.Cleanup(func() { p.refuse() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *pgProxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				stalled, resume := p.stalled, p.resume
				p.mu.Unlock()
				if stalled {
					<-resume
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				dst.Close()
				return
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
}

func (p *pgProxy) stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

func (p *pgProxy) unstall() {
	p.mu.Lock()
	p.stalled = false
	close(p.resume)
	p.resume = make(chan struct{})
	p.mu.Unlock()
}

// refuse closes the listener and every connection.
func (p *pgProxy) refuse() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	if p.stalled {
		p.stalled = false
		close(p.resume)
		p.resume = make(chan struct{})
	}
}

// TestStoreUnavailable503: with PostgreSQL stalled, then refusing, a POST
// answers 503 unavailable within its work deadline (not hung), /readyz is
// 503 without the connection's details, and the hub recovers when the
// database does.
func TestStoreUnavailable503(t *testing.T) {
	t.Parallel()
	base, err := url.Parse(pgtest.TestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, base.Host)
	via := *base
	via.Host = proxy.ln.Addr().String()
	ctx := context.Background()
	store, err := postgres.Open(ctx, via.String(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := newEnv(t, func(c *Config) { c.Store = store })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	e.member(storage.RoleResident, 0, inside)
	alert := circleAlert(29.03, 119.17, 3000, nil)
	if code, out := e.call("POST", "/api/v1/alerts", cmdTok, alert); code != http.StatusCreated {
		t.Fatalf("alert before the stall: %d %v", code, out)
	}

	check503 := func(what string) {
		t.Helper()
		done := make(chan struct{})
		var code int
		var out map[string]any
		go func() {
			defer close(done)
			code, out = e.call("POST", "/api/v1/alerts", cmdTok, alert)
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second): // the work deadline is 10 s
			t.Fatalf("%s: POST /api/v1/alerts still hanging after 60 s", what)
		}
		if code != http.StatusServiceUnavailable || errCode(out) != service.CodeUnavailable {
			t.Fatalf("%s: POST = %d %v, want 503 unavailable", what, code, out)
		}
		msg := fmt.Sprint(out)
		for _, leak := range []string{via.Host, base.Host, "postgres", strings.TrimPrefix(base.Path, "/")} {
			if strings.Contains(msg, leak) {
				t.Fatalf("%s: the error shows %q: %s", what, leak, msg)
			}
		}
		rcode, body := e.callRaw("GET", "/readyz", "", nil)
		if rcode != http.StatusServiceUnavailable || strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "hubtest_") {
			t.Fatalf("%s: /readyz = %d %s, want 503 without connection details", what, rcode, body)
		}
	}

	proxy.stall()
	check503("stalled")
	proxy.unstall()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out := e.call("POST", "/api/v1/alerts", cmdTok, alert)
		if code == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the stall ended: %d %v", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	proxy.refuse()
	check503("refused")
}

// TestSlowBodyCut: a request body that never finishes is cut at its read
// deadline (15 s), with or without a token, instead of holding the
// connection for minutes.
func TestSlowBodyCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, tok := range []string{"", cmdTok} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		auth := ""
		if tok != "" {
			auth = "Authorization: Bearer " + tok + "\r\n"
		}
		fmt.Fprintf(c, "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"kind\":", auth)
		start := time.Now()
		// Trickle a byte every second; the server must close the connection.
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			_, _ = io.Copy(io.Discard, bufio.NewReader(c))
		}()
	trickle:
		for {
			select {
			case <-closed:
				break trickle
			case <-time.After(time.Second):
				if _, err := c.Write([]byte(" ")); err != nil {
					break trickle
				}
				if time.Since(start) > 90*time.Second {
					t.Fatalf("token %v: a trickling body held the connection for 90 s", tok != "")
				}
			}
		}
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Fatalf("token %v: the connection was not closed", tok != "")
		}
	}
}
