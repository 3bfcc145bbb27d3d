package hub

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/internal/redistest"
)

// presenceNode is one node's presence writer running until the test ends.
type presenceNode struct {
	p      *redisPresence
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex // guards local
	local []string
}

func startPresence(t *testing.T, spec, prefix, node string) *presenceNode {
	t.Helper()
	c, _, err := DialRedis(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	n := &presenceNode{p: newRedisPresence(c, prefix, node, slog.New(slog.DiscardHandler)), cancel: cancel, done: make(chan struct{})}
	go func() {
		n.p.Run(ctx, func() []string { n.mu.Lock(); defer n.mu.Unlock(); return slices.Clone(n.local) })
		close(n.done)
	}()
	t.Cleanup(func() { cancel(); <-n.done })
	return n
}

func (n *presenceNode) connect(ms ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range ms {
		n.local = append(n.local, m)
		n.p.Connected(m)
	}
}

func (n *presenceNode) disconnect(ms ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range ms {
		n.local = slices.DeleteFunc(n.local, func(x string) bool { return x == m })
		n.p.Disconnected(m)
	}
}

// waitOnline polls until Online(members) equals want, or fails after 5 s.
func waitOnline(t *testing.T, p *redisPresence, members []string, want []bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var got []bool
	var err error
	for time.Now().Before(deadline) {
		got, err = p.Online(context.Background(), members)
		if err == nil && slices.Equal(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Online(%v) = %v, %v; want %v", members, got, err, want)
}

func testPresence(t *testing.T, spec string) {
	prefix := "t" + strings.ReplaceAll(t.Name(), "/", "_") + ":"
	a := startPresence(t, spec, prefix, "A")
	b := startPresence(t, spec, prefix, "B")
	ms := []string{"m1", "m2", "m3"}
	a.connect("m1")
	b.connect("m1", "m2")
	waitOnline(t, a.p, ms, []bool{true, true, false})
	// m1 leaves B but is still on A; m2 leaves B altogether.
	b.disconnect("m1", "m2")
	waitOnline(t, b.p, ms, []bool{true, false, false})
	// A stops cleanly: its heartbeat is removed, so m1 is offline at once,
	// even though no one deleted m1's field.
	a.cancel()
	<-a.done
	waitOnline(t, b.p, ms, []bool{false, false, false})
}

func TestRedisPresence(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { testPresence(t, redistest.Start(t).URL()) })
	t.Run("cluster", func(t *testing.T) {
		testPresence(t, strings.Join(redistest.StartCluster(t, 3).Addrs(), ","))
	})
}

// A killed node's members count as offline once its heartbeat expires,
// and a restarted (empty) Redis learns every live node's members again.
func TestRedisPresenceDeadNodeAndRestart(t *testing.T) {
	srv := redistest.Start(t)
	a := startPresence(t, srv.URL(), "p:", "A")
	b := startPresence(t, srv.URL(), "p:", "B")
	a.connect("m1")
	b.connect("m2")
	waitOnline(t, b.p, []string{"m1", "m2"}, []bool{true, true})

	// A node that died without cleaning up: a field naming it, no heartbeat.
	if _, err := srv.Do("HSET", b.p.shardKey("ghost"), "ghost", "Z"); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, b.p, []string{"ghost"}, []bool{false})
	// Its heartbeat expires: a node whose key is given a short TTL.
	if _, err := srv.Do("SET", "p:node:Y", "x", "PX", "300"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("HSET", b.p.shardKey("m9"), "m9", "Y"); err != nil {
		t.Fatal(err)
	}
	waitOnline(t, b.p, []string{"m9"}, []bool{true})
	waitOnline(t, b.p, []string{"m9"}, []bool{false})

	srv.Restart()
	waitOnline(t, b.p, []string{"m1", "m2"}, []bool{true, true})
}
