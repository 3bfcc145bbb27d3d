package hub

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"
)

// numShards shards the connection registry so that connects, disconnects
// and fan-out lookups on different members rarely share a lock
// (centrifuge's hub uses 64 as well).
const numShards = 64

// registry maps member ids to their live connections on this node. It is
// keyed by member, not by H3 cell: targeting (who is inside the area) is
// the geo index's job over all members, connected or not, and fan-out then
// needs "the connections of these members".
//
// It also drives keepalive: one loop per registry pings the connections of
// one shard per tick, a tick every PingInterval/numShards, so each
// connection is pinged once per PingInterval and the pings are spread over
// the interval (shards are even by hash), instead of a ticker per
// connection. The loop runs only while connections are registered.
type registry struct {
	seed   maphash.Seed
	shards [numShards]regShard

	live    atomic.Int64  // registered connections
	pinging atomic.Bool   // the keepalive loop runs
	emptied chan struct{} // wakes the keepalive loop when live drops to 0
}

type regShard struct {
	mu    sync.RWMutex // guards conns
	conns map[string][]*Conn
	_     cpu.CacheLinePad
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed(), emptied: make(chan struct{}, 1)}
	for i := range r.shards {
		r.shards[i].conns = make(map[string][]*Conn)
	}
	return r
}

func (r *registry) shard(id string) *regShard {
	return &r.shards[maphash.String(r.seed, id)%numShards]
}

// add registers c; first tells whether it is its member's only connection
// on this node.
func (r *registry) add(c *Conn) (first bool) {
	s := r.shard(c.member.ID)
	s.mu.Lock()
	s.conns[c.member.ID] = append(s.conns[c.member.ID], c)
	first = len(s.conns[c.member.ID]) == 1
	s.mu.Unlock()
	// Count first, then start: keepalive's stop re-checks the count after
	// clearing pinging, so one of the two always keeps a loop running.
	r.live.Add(1)
	if r.pinging.CompareAndSwap(false, true) {
		// Every connection of a registry belongs to one node: its
		// PingInterval is the hub's.
		go r.keepalive(c.h.cfg.PingInterval)
	}
	return first
}

// remove unregisters c; last tells whether its member has no connection
// left on this node.
func (r *registry) remove(c *Conn) (last bool) {
	s := r.shard(c.member.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.conns[c.member.ID]
	found := false
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			found = true
			break
		}
	}
	if len(list) == 0 {
		delete(s.conns, c.member.ID)
	} else {
		s.conns[c.member.ID] = list
	}
	if found && r.live.Add(-1) == 0 {
		select {
		case r.emptied <- struct{}{}:
		default:
		}
	}
	return found && len(list) == 0
}

// memberIDs lists the members with a connection on this node.
func (r *registry) memberIDs() []string {
	var out []string
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		for id := range s.conns {
			out = append(out, id)
		}
		s.mu.RUnlock()
	}
	return out
}

// keepalive pings every registered connection once per interval, one
// shard per tick, and returns when no connection is left.
func (r *registry) keepalive(interval time.Duration) {
	t := time.NewTicker(max(interval/numShards, time.Millisecond))
	defer t.Stop()
	var list []*Conn
	for i := 0; ; {
		select {
		case <-t.C:
		case <-r.emptied:
			if r.stopIfIdle() {
				return
			}
			continue
		}
		if r.stopIfIdle() {
			return
		}
		list = r.shards[i].appendConns(list)
		for _, c := range list {
			c.startPing()
		}
		clear(list) // keep no closed connection alive until the next round
		list = list[:0]
		i = (i + 1) % numShards
	}
}

// stopIfIdle tells the keepalive loop to return when no connection is
// registered. A connection added meanwhile either sees pinging cleared and
// starts a new loop, or is seen here and this loop goes on.
func (r *registry) stopIfIdle() bool {
	if r.live.Load() > 0 {
		return false
	}
	r.pinging.Store(false)
	return r.live.Load() == 0 || !r.pinging.CompareAndSwap(false, true)
}

// connected tells whether the member has a live connection here.
func (r *registry) connected(id string) bool {
	s := r.shard(id)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns[id]) > 0
}

// forMember calls fn for each connection of the member. The list is copied
// under the read lock (a slice header: append-only replaced on change) and
// fn runs outside it.
func (r *registry) forMember(id string, fn func(*Conn)) int {
	s := r.shard(id)
	s.mu.RLock()
	list := s.conns[id]
	s.mu.RUnlock()
	for _, c := range list {
		fn(c)
	}
	return len(list)
}

// each calls fn for every connection on this node.
func (r *registry) each(fn func(*Conn)) {
	var list []*Conn
	for i := range r.shards {
		list = r.shards[i].appendConns(list)
		for _, c := range list {
			fn(c)
		}
		list = list[:0]
	}
}

func (r *registry) count() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		for _, cs := range s.conns {
			n += len(cs)
		}
		s.mu.RUnlock()
	}
	return n
}

// appendConns appends the shard's connections to list; conn methods are
// called after the lock is released (locksordering.txt).
func (s *regShard) appendConns(list []*Conn) []*Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, cs := range s.conns {
		list = append(list, cs...)
	}
	return list
}
