// Package redistest starts real redis-server processes for tests: a
// standalone server on a free port (that a test may kill and restart) and a
// Redis Cluster of several masters. Nothing is mocked: the tests that use
// it talk to the same server the product does.
//
// redis-server must be installed (Debian: apt-get install redis-server).
// When it is missing the test fails and says so; it never skips.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process owned by a test.
type Server struct {
	t    testing.TB
	Port int
	dir  string
	args []string

	mu  sync.Mutex // guards cmd
	cmd *exec.Cmd
}

// Addr is host:port of the server.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr() }

func binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is required by this test and is not installed: apt-get install redis-server (%v)", err)
	}
	return p
}

// freePort finds a port that is free, and (for a cluster node) whose
// cluster bus port (port+10000) is free too.
func freePort(t testing.TB, bus bool) int {
	t.Helper()
	for range 200 {
		p := 20000 + rand.IntN(25000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		if bus {
			l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000)))
			if err != nil {
				l.Close()
				continue
			}
			l2.Close()
		}
		l.Close()
		return p
	}
	t.Fatal("redistest: no free port found")
	return 0
}

// Start runs a standalone redis-server on a free port, with no
// persistence, for the test's lifetime. extra are more server arguments
// (e.g. "--requirepass", "secret").
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, false, extra...)
}

func start(t testing.TB, cluster bool, extra ...string) *Server {
	t.Helper()
	bin := binary(t)
	s := &Server{t: t, Port: freePort(t, cluster), dir: t.TempDir()}
	s.args = []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log")}
	if cluster {
		s.args = append(s.args, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(s.dir, "nodes.conf"),
			"--cluster-node-timeout", "2000")
	}
	s.args = append(s.args, extra...)
	s.run(bin)
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) run(bin string) {
	s.t.Helper()
	cmd := exec.Command(bin, s.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	go func() { _ = cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		reply, err := s.Do("PING")
		if (err == nil && reply == "PONG") || (err != nil && strings.Contains(err.Error(), "NOAUTH")) {
			return // up (a server with --requirepass answers NOAUTH)
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	s.t.Fatalf("redistest: redis-server on port %d did not answer PING within 10 s; its log:\n%s", s.Port, log)
}

// Kill ends the server with SIGKILL (as a crash would) and waits until its
// port refuses connections. Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts the server again on the same port (after Kill), empty:
// the server keeps nothing on disk, as the machine's own Redis.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.run(binary(s.t))
}

// Do sends one command over a fresh connection and returns the reply as
// text (simple strings, integers and bulk strings; arrays are joined by
// newlines). It is for test set-up, not for the code under test.
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("redistest: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		parts := make([]string, 0, max(n, 0))
		for range n {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("redistest: unexpected reply %q", line)
}

// Cluster is a Redis Cluster of masters only (no replicas), each a Server.
type Cluster struct {
	Nodes []*Server
}

// Addrs lists host:port of every master (seed addresses).
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// StartCluster starts masters redis-server processes in cluster mode,
// assigns the 16,384 slots evenly with CLUSTER ADDSLOTSRANGE, joins them
// with CLUSTER MEET, and waits until every node says cluster_state:ok.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	c := &Cluster{}
	for range masters {
		c.Nodes = append(c.Nodes, start(t, true))
	}
	per := 16384 / masters
	for i, n := range c.Nodes {
		lo, hi := i*per, (i+1)*per-1
		if i == masters-1 {
			hi = 16383
		}
		if _, err := n.Do("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("redistest: ADDSLOTSRANGE on %s: %v", n.Addr(), err)
		}
	}
	for _, n := range c.Nodes[1:] {
		if _, err := c.Nodes[0].Do("CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(n.Port)); err != nil {
			t.Fatalf("redistest: CLUSTER MEET: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range c.Nodes {
		for {
			info, err := n.Do("CLUSTER", "INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(masters)) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("redistest: cluster on %s not ok within 30 s: %s %v", n.Addr(), info, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return c
}
