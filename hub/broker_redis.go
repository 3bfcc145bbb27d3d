package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longyou/hub/internal/metrics"
)

// RedisBroker carries envelopes between the nodes of a cluster through
// Redis pub/sub; the store stays the source of truth.
//
// Redis only says "something new": an envelope is published after its
// event is durable, and a node that misses it (Redis down or restarted, a
// subscriber dropped for a full output buffer, a node killed between its
// commit and its publish) notices by the seq and reads the event from the
// store (see sequencer). So a lost message delays a delivery, never loses
// it.
//
// A node hears only what it needs to decide alone, never the whole
// audience: an alert addressed to 203,000 members is announced by its id
// and seq (Audience.Alert), without the member list, and each node asks
// the store which of its own connected members the alert is addressed to
// (TargetsAmong: one indexed query per node). Member lists up to
// inlineMembers travel inline (a move-in, a report's reporter), and a
// frame over inlineFrame is left out for the receivers that have someone
// to give it to to read from the store: a node with none of its members in
// an alert's area receives well under 1 KiB for it. Rejected instead:
// routing by village or H3 channels, which helps only when a node's
// members live in a few places, while behind a load balancer every node
// holds members of every village.
//
// On a Redis Cluster the messages go over sharded pub/sub (SPUBLISH and
// SSUBSCRIBE) on redisShards channels spread over the cluster's slots, so
// no one master carries the whole stream; each node subscribes to all of
// them. On a single Redis, one channel.
type RedisBroker struct {
	c       redis.UniversalClient
	cluster bool
	prefix  string
	node    string
	log     *slog.Logger
	m       *metrics.Metrics
	pres    *redisPresence

	mu           sync.Mutex // guards the following fields
	deliver      func(*Envelope)
	onSubscribed func()
	subs         []*redis.PubSub
	cancel       context.CancelFunc
	wg           sync.WaitGroup
}

// RedisConfig configures a RedisBroker.
type RedisConfig struct {
	// URL is one redis:// or rediss:// URL (of a single server or of any
	// master of a cluster), or a comma-separated list of cluster seeds.
	URL string
	// Prefix starts every key and channel, so that deployments or test
	// runs can share one Redis without hearing each other. Empty: "hub:".
	Prefix string
	// NodeID names this node (its presence, and its own messages, which
	// it skips). Required.
	NodeID  string
	Logger  *slog.Logger     // nil: slog.Default()
	Metrics *metrics.Metrics // required
}

const (
	redisShards   = 8
	inlineMembers = 64
	inlineFrame   = 640
)

var (
	_ Broker       = (*RedisBroker)(nil)
	_ Resubscriber = (*RedisBroker)(nil)
	_ Closer       = (*RedisBroker)(nil)
	_ Announcer    = (*RedisBroker)(nil)
)

// NewRedisBroker connects to Redis (DialRedis) and returns the broker; it
// fails when Redis cannot be reached at start.
func NewRedisBroker(ctx context.Context, cfg RedisConfig) (*RedisBroker, error) {
	if cfg.NodeID == "" {
		return nil, errors.New("redis broker: a node id is required")
	}
	if cfg.Metrics == nil {
		return nil, errors.New("redis broker: metrics are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "hub:"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c, cluster, err := DialRedis(ctx, cfg.URL)
	var ue *UnreachableError
	switch {
	case errors.As(err, &ue):
		// Start anyway: unready (/readyz 503) until Redis answers; events
		// reach this node's members from the store meanwhile.
		cfg.Logger.Warn("Redis does not answer; starting without it, unready, and connecting when it is back", "err", err)
	case err != nil:
		return nil, err
	}
	b := &RedisBroker{c: c, cluster: cluster, prefix: cfg.Prefix, node: cfg.NodeID, log: cfg.Logger, m: cfg.Metrics}
	b.pres = newRedisPresence(c, cfg.Prefix, cfg.NodeID, cfg.Logger)
	return b, nil
}

// Cluster tells whether Redis is a Redis Cluster.
func (b *RedisBroker) Cluster() bool { return b.cluster }

// Client is the broker's Redis client (the cluster-wide SMS rate uses it).
func (b *RedisBroker) Client() redis.UniversalClient { return b.c }

// Prefix starts every key and channel of this deployment.
func (b *RedisBroker) Prefix() string { return b.prefix }

// LiveNodes is the number of nodes alive at the last heartbeat.
func (b *RedisBroker) LiveNodes() int { return b.pres.LiveNodes() }

// Presence is the cluster-wide presence kept in the same Redis.
func (b *RedisBroker) Presence() Presence { return b.pres }

// OnSubscribed registers fn, called each time a subscription is
// (re-)established.
func (b *RedisBroker) OnSubscribed(fn func()) {
	b.mu.Lock()
	b.onSubscribed = fn
	b.mu.Unlock()
}

func (b *RedisBroker) channels() []string {
	if !b.cluster {
		return []string{b.prefix + "ev"}
	}
	out := make([]string, redisShards)
	for i := range out {
		out[i] = b.prefix + "ev:" + strconv.Itoa(i)
	}
	return out
}

// channelFor spreads envelopes over the shards: events by seq, others by
// type. Order between channels does not matter: the sequencer orders.
func (b *RedisBroker) channelFor(env *Envelope) string {
	chs := b.channels()
	if len(chs) == 1 {
		return chs[0]
	}
	k := uint64(env.Seq)
	if k == 0 {
		k = uint64(len(env.Type)) + uint64(env.At.UnixNano())
	}
	return chs[k%uint64(len(chs))]
}

// Ping checks that Redis answers (the node's /readyz).
func (b *RedisBroker) Ping(ctx context.Context) error { return b.c.Ping(ctx).Err() }

// wireEnvelope is an envelope's header on the wire; the frame follows it
// after a newline.
type wireEnvelope struct {
	Origin  string    `json:"o"`
	Type    string    `json:"t"`
	Seq     int64     `json:"s,omitempty"`
	At      time.Time `json:"at"`
	Receipt string    `json:"r,omitempty"`
	Lossy   bool      `json:"l,omitempty"`
	Replay  bool      `json:"rp,omitempty"`
	Aud     Audience  `json:"a"`
	NoFrame bool      `json:"nf,omitempty"`
}

func (b *RedisBroker) encode(env *Envelope) []byte {
	w := wireEnvelope{Origin: b.node, Type: env.Type, Seq: env.Seq, At: env.At, Receipt: env.Receipt,
		Lossy: env.Lossy, Replay: env.Replay, Aud: env.Audience}
	if w.Aud.Alert != "" && len(w.Aud.Members) > inlineMembers {
		w.Aud.Members = nil // each node asks the store for its own
	}
	frame := env.Frame
	if len(frame) > inlineFrame && env.Seq > 0 && !env.Replay {
		frame, w.NoFrame = nil, true // in the store; read by those who need it
	}
	head, _ := json.Marshal(&w)
	out := make([]byte, 0, len(head)+1+len(frame))
	out = append(out, head...)
	out = append(out, '\n')
	return append(out, frame...)
}

func decodeEnvelope(data []byte) (*Envelope, string, error) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return nil, "", errors.New("no header")
	}
	var w wireEnvelope
	if err := json.Unmarshal(data[:i], &w); err != nil {
		return nil, "", err
	}
	env := &Envelope{Type: w.Type, Seq: w.Seq, At: w.At, Receipt: w.Receipt, Lossy: w.Lossy,
		Replay: w.Replay, Audience: w.Aud}
	if !w.NoFrame {
		env.Frame = data[i+1:]
	}
	return env, w.Origin, nil
}

// Announce sends env to the other nodes only.
func (b *RedisBroker) Announce(ctx context.Context, env *Envelope) error {
	_, err := b.send(ctx, env)
	return err
}

func (b *RedisBroker) send(ctx context.Context, env *Envelope) (int, error) {
	msg := b.encode(env)
	pctx, cancel := context.WithTimeout(ctx, redisIOTimeout)
	defer cancel()
	var err error
	if b.cluster {
		err = b.c.SPublish(pctx, b.channelFor(env), msg).Err()
	} else {
		err = b.c.Publish(pctx, b.channelFor(env), msg).Err()
	}
	if err != nil {
		b.m.BrokerPublishErr.Inc()
		return 0, fmt.Errorf("redis publish: %w", err)
	}
	b.m.BrokerPublishes.WithLabelValues(env.Type).Inc()
	b.m.BrokerBytesOut.Add(float64(len(msg)))
	return len(msg), nil
}

// Publish announces env to the other nodes, then delivers it on this one
// (the node's own envelopes are not read back from Redis). A Redis error
// is returned after the local delivery: the event is in the store, and the
// other nodes catch up from it.
func (b *RedisBroker) Publish(ctx context.Context, env *Envelope) error {
	_, err := b.send(ctx, env)
	b.mu.Lock()
	d := b.deliver
	b.mu.Unlock()
	if d != nil {
		d(env)
	}
	return err
}

// Subscribe starts reading the channels; deliver gets the envelopes of
// the other nodes. The subscriptions come back by themselves after Redis
// does, and each (re-)subscription calls the OnSubscribed function.
func (b *RedisBroker) Subscribe(ctx context.Context, deliver func(*Envelope)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.deliver != nil {
		return errors.New("redis broker: Subscribe called twice")
	}
	b.deliver = deliver
	bg, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	var groups [][]string
	if b.cluster {
		for _, ch := range b.channels() {
			groups = append(groups, []string{ch}) // one connection per shard's master
		}
	} else {
		groups = [][]string{b.channels()}
	}
	for _, chs := range groups {
		var ps *redis.PubSub
		if b.cluster {
			ps = b.c.SSubscribe(ctx, chs...)
		} else {
			ps = b.c.Subscribe(ctx, chs...)
		}
		b.subs = append(b.subs, ps)
		b.wg.Go(func() { b.read(bg, ps, deliver) })
	}
	return nil
}

func (b *RedisBroker) read(ctx context.Context, ps *redis.PubSub, deliver func(*Envelope)) {
	failing := false
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			if !failing {
				b.log.Warn("redis subscription lost; the store covers the gap", "err", err)
				failing = true
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if failing {
				b.log.Info("redis subscription back", "channel", m.Channel)
			}
			failing = false
			b.mu.Lock()
			fn := b.onSubscribed
			b.mu.Unlock()
			if fn != nil {
				fn()
			}
		case *redis.Message:
			env, origin, err := decodeEnvelope([]byte(m.Payload))
			if err != nil {
				b.log.Warn("undecodable broker message", "channel", m.Channel, "err", err)
				continue
			}
			if origin == b.node {
				continue
			}
			b.m.BrokerReceives.WithLabelValues(env.Type).Inc()
			b.m.BrokerBytesIn.WithLabelValues(env.Type).Add(float64(len(m.Payload)))
			deliver(env)
		}
	}
}

// Close ends the subscriptions and the connections.
func (b *RedisBroker) Close() error {
	b.mu.Lock()
	cancel, subs := b.cancel, b.subs
	b.subs = nil
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, ps := range subs {
		_ = ps.Close()
	}
	b.wg.Wait()
	return b.c.Close()
}
