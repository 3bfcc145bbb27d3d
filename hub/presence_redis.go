package hub

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster-wide presence: which members hold a WebSocket on some node.
//
// Each node writes its own members' presence to Redis and asks Redis about
// everyone else's; nothing is replicated into every node's memory, so a
// county of 203,000 connected members costs each node only its own.
//
//   - {prefix}presence:<shard> (presenceShards hashes, spread over a
//     cluster's slots): field = member id, value = the ids of the nodes
//     holding it, comma-separated (a member may be connected to several
//     nodes at once). Scripts add and remove one node atomically.
//   - {prefix}node:<node id>: the node's heartbeat, a key that expires
//     nodeTTL after its last renewal. A member whose nodes are all dead
//     counts as offline at once, before anyone cleans its field up.
//
// Writes are batched (a connect storm of 19,000 becomes ~40 pipelines) and
// asynchronous: a node's own connections are always known locally, so the
// batching delay only matters for other nodes' view, and Online errs on
// the side the caller chooses (SMS at once when Redis cannot say).
const (
	presenceShards = 64
	nodeTTL        = 5 * time.Second
	nodeBeat       = time.Second
	presenceFlush  = 50 * time.Millisecond
	presenceBatch  = 512
)

var (
	// KEYS[1] shard, ARGV[1] member, ARGV[2] node.
	presenceAdd = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
for n in string.gmatch(v, '[^,]+') do if n == ARGV[2] then return 0 end end
redis.call('HSET', KEYS[1], ARGV[1], v .. ',' .. ARGV[2])
return 1`)
	presenceRemove = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local keep = {}
for n in string.gmatch(v, '[^,]+') do if n ~= ARGV[2] then keep[#keep+1] = n end end
if #keep == 0 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], table.concat(keep, ',')) end
return 1`)
)

// redisPresence is this node's side of cluster-wide presence.
type redisPresence struct {
	c      redis.UniversalClient
	prefix string
	node   string
	log    *slog.Logger

	mu      sync.Mutex // guards pending
	pending []presenceOp
	wake    chan struct{}

	nodesSeen atomic.Int64 // nodes alive at the last heartbeat (this one included)
}

type presenceOp struct {
	member string
	add    bool
}

func newRedisPresence(c redis.UniversalClient, prefix, node string, log *slog.Logger) *redisPresence {
	return &redisPresence{c: c, prefix: prefix, node: node, log: log, wake: make(chan struct{}, 1)}
}

func (p *redisPresence) shardKey(member string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(member))
	return fmt.Sprintf("%spresence:%d", p.prefix, h.Sum32()%presenceShards)
}

func (p *redisPresence) nodeKey(node string) string { return p.prefix + "node:" + node }

// Connected and Disconnected record a member's first connection to this
// node and its last one going away; they never block.
func (p *redisPresence) Connected(member string)    { p.queue(presenceOp{member, true}) }
func (p *redisPresence) Disconnected(member string) { p.queue(presenceOp{member, false}) }

func (p *redisPresence) queue(op presenceOp) {
	p.mu.Lock()
	p.pending = append(p.pending, op)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run renews the heartbeat and writes queued changes until ctx ends; then
// it removes this node's heartbeat so other nodes stop counting its
// members at once (a killed node's heartbeat expires after nodeTTL).
// local lists this node's connected members: after Redis comes back (it
// may have lost everything, keeping nothing on disk) they are written
// again.
func (p *redisPresence) Run(ctx context.Context, local func() []string) {
	beat := time.NewTicker(nodeBeat)
	defer beat.Stop()
	flush := time.NewTimer(presenceFlush)
	defer flush.Stop()
	healthy := false
	for {
		select {
		case <-ctx.Done():
			p.flush(context.Background())
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = p.c.Del(dctx, p.nodeKey(p.node)).Err()
			_ = p.c.ZRem(dctx, p.prefix+"nodes", p.node).Err()
			cancel()
			return
		case <-beat.C:
			// SET ... GET answers the previous heartbeat: none means this
			// is the first beat, or Redis lost our keys (restarted empty,
			// or we stalled past nodeTTL and others counted us dead), so
			// every local member is written again.
			_, err := p.c.SetArgs(ctx, p.nodeKey(p.node), time.Now().UTC().Format(time.RFC3339),
				redis.SetArgs{TTL: nodeTTL, Get: true}).Result()
			switch {
			case errors.Is(err, redis.Nil):
				if healthy {
					p.log.Warn("presence: Redis lost this node's heartbeat; writing its members again")
				}
				healthy = true
				for _, m := range local() {
					p.queue(presenceOp{m, true})
				}
			case err != nil:
				if healthy {
					p.log.Warn("presence heartbeat failed", "err", err)
				}
				healthy = false
			}
			if healthy {
				p.flush(ctx) // what an outage held back
				p.countNodes(ctx)
			}
		case <-p.wake:
			// Let a burst gather for presenceFlush, then write it.
			select {
			case <-ctx.Done():
				continue
			case <-time.After(presenceFlush):
			}
			p.flush(ctx)
		}
	}
}

// countNodes records this node in the set of live nodes and counts them
// (the SMS rate's fallback share when Redis cannot answer).
func (p *redisPresence) countNodes(ctx context.Context) {
	key := p.prefix + "nodes"
	now := time.Now()
	pipe := p.c.TxPipeline()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: p.node})
	pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.Add(-nodeTTL).UnixMilli(), 10))
	card := pipe.ZCard(ctx, key)
	if _, err := pipe.Exec(ctx); err == nil {
		p.nodesSeen.Store(card.Val())
	}
}

// LiveNodes is the number of nodes alive at the last heartbeat (at least 1).
func (p *redisPresence) LiveNodes() int { return int(max(1, p.nodesSeen.Load())) }

func (p *redisPresence) flush(ctx context.Context) {
	p.mu.Lock()
	ops := p.pending
	p.pending = nil
	p.mu.Unlock()
	for len(ops) > 0 {
		n := min(len(ops), presenceBatch)
		pipe := p.c.Pipeline()
		for _, op := range ops[:n] {
			s := presenceRemove
			if op.add {
				s = presenceAdd
			}
			// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
			s.Eval(ctx, pipe, []string{p.shardKey(op.member)}, op.member, p.node)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			// Redis is down: keep the changes, in order, for the next
			// flush (a restarted, empty Redis also gets every local
			// member again from the heartbeat).
			p.log.Warn("presence write failed", "ops", n, "err", err)
			p.mu.Lock()
			p.pending = append(ops, p.pending...)
			p.mu.Unlock()
			return
		}
		ops = ops[n:]
	}
}

// Online tells, for each member, whether some live node holds a
// connection of it. An error means Redis could not say.
func (p *redisPresence) Online(ctx context.Context, members []string) ([]bool, error) {
	out := make([]bool, len(members))
	if len(members) == 0 {
		return out, nil
	}
	byShard := map[string][]int{}
	for i, m := range members {
		k := p.shardKey(m)
		byShard[k] = append(byShard[k], i)
	}
	pipe := p.c.Pipeline()
	cmds := make(map[string]*redis.SliceCmd, len(byShard))
	for k, idx := range byShard {
		fields := make([]string, len(idx))
		for j, i := range idx {
			fields[j] = members[i]
		}
		cmds[k] = pipe.HMGet(ctx, k, fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("presence: %w", err)
	}
	nodes := map[string][]int{} // node id -> members it holds
	for k, idx := range byShard {
		vals := cmds[k].Val()
		for j, i := range idx {
			s, _ := vals[j].(string)
			for _, n := range strings.Split(s, ",") {
				if n != "" {
					nodes[n] = append(nodes[n], i)
				}
			}
		}
	}
	if len(nodes) == 0 {
		return out, nil
	}
	alive, err := p.liveNodes(ctx, nodes)
	if err != nil {
		return nil, err
	}
	for n, idx := range nodes {
		if alive[n] {
			for _, i := range idx {
				out[i] = true
			}
		}
	}
	return out, nil
}

func (p *redisPresence) liveNodes(ctx context.Context, nodes map[string][]int) (map[string]bool, error) {
	pipe := p.c.Pipeline()
	cmds := make(map[string]*redis.IntCmd, len(nodes))
	for n := range nodes {
		cmds[n] = pipe.Exists(ctx, p.nodeKey(n))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("presence: node heartbeats: %w", err)
	}
	alive := make(map[string]bool, len(nodes))
	for n, c := range cmds {
		alive[n] = c.Val() == 1
	}
	return alive, nil
}
