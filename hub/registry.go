package hub

import (
	"hash/maphash"
	"sync"

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
type registry struct {
	seed   maphash.Seed
	shards [numShards]regShard
}

type regShard struct {
	mu    sync.RWMutex // guards conns
	conns map[string][]*conn
	_     cpu.CacheLinePad
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].conns = make(map[string][]*conn)
	}
	return r
}

func (r *registry) shard(id string) *regShard {
	return &r.shards[maphash.String(r.seed, id)%numShards]
}

func (r *registry) add(c *conn) {
	s := r.shard(c.member.ID)
	s.mu.Lock()
	s.conns[c.member.ID] = append(s.conns[c.member.ID], c)
	s.mu.Unlock()
}

func (r *registry) remove(c *conn) {
	s := r.shard(c.member.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.conns[c.member.ID]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.conns, c.member.ID)
	} else {
		s.conns[c.member.ID] = list
	}
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
func (r *registry) forMember(id string, fn func(*conn)) int {
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
func (r *registry) each(fn func(*conn)) {
	var list []*conn
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		for _, cs := range s.conns {
			list = append(list, cs...)
		}
		s.mu.RUnlock()
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
