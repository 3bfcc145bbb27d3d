// Package hub is the real-time core of a node: WebSocket connections and
// their queues, the connection registry, fan-out through a Broker, the
// event log replay (welcome, resume), keepalive, the slow-client policy,
// graceful shutdown, and the member directory that targeting reads (H3
// index, live positions, presence). It knows no alert, report or bulletin
// rules: the services (service/...) build events and their Audience, and
// the API (api) handles the commands clients send, through CommandHandler.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/storage"
)

// Store is what the core reads from the durable store: the event log (for
// the welcome and resume) and the member list (to load the directory).
type Store interface {
	LatestSeq(ctx context.Context) (int64, error)
	EventsSince(ctx context.Context, a storage.Audience, since int64, limit int) ([]storage.Event, error)
	ActiveAlertsFor(ctx context.Context, memberID string, now time.Time) ([]storage.Event, error)
	ListMembers(ctx context.Context, after string, limit int) ([]storage.Member, error)
	// The sequencer's catch-up and a node's own recipients of an alert
	// accepted elsewhere.
	EventsAfter(ctx context.Context, since int64, limit int) ([]storage.Event, error)
	TargetsAmong(ctx context.Context, alertID string, members []string) ([]string, error)
}

// Config configures a Node. The zero value of each optional field picks the
// default its comment names.
type Config struct {
	Store  Store        // required
	Broker Broker       // nil: in-process MemoryBroker (one node)
	Logger *slog.Logger // nil: slog.Default()
	// Clock returns the current time; nil means time.Now. Tests inject one
	// for expiry and TTL logic.
	Clock func() time.Time
	// OriginPatterns are extra browser origins allowed to open a WebSocket;
	// the hub's own host is always allowed, requests without Origin
	// (native clients) too.
	OriginPatterns []string
	// SendQueueLen bounds each connection's queue in frames. Zero means 256.
	SendQueueLen int
	// SendQueueBytes bounds each connection's queue in bytes. Zero: 1 MiB.
	SendQueueBytes int
	// WriteTimeout bounds each WebSocket write. Zero means 10 seconds.
	WriteTimeout time.Duration
	// PingInterval is the keepalive period. Zero means 30 seconds.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take. Zero means 20 seconds.
	PingTimeout time.Duration
	// LiveTTL is how long a live position counts. Zero means 30 minutes.
	LiveTTL time.Duration
	// Metrics receives the node's counters. Nil means new ones on a new
	// registry.
	Metrics *metrics.Metrics
	// Presence is cluster-wide presence (from the Redis broker). Nil: one
	// node, whose own connections are all there is.
	Presence Presence
	// The flood limits (limits.go, sentset.go; docs/API.md v1.4). Each
	// counts on this node: in a cluster a member may hold MaxConnsPerMember
	// connections on every node.
	//
	// MaxConnsPerMember bounds a member's WebSockets: a new one beyond it
	// closes the member's oldest with 1008 "replaced by a newer
	// connection". Zero means 5; negative: no bound.
	MaxConnsPerMember int
	// MaxConnsPerAddr bounds the WebSockets from one source address (an
	// IPv4 address, an IPv6 /64): beyond it the upgrade is refused with 429
	// rate_limited. Villagers share carrier-grade NAT, hence the high
	// default. Zero means 2,000; negative: no bound.
	MaxConnsPerAddr int
	// CommandEvery and CommandBurst are the token bucket of the commands
	// of one connection; ResumeEvery and ResumeBurst that of its resumes
	// (on top). A command over them gets an error reply rate_limited; a
	// connection whose refused commands outrun CommandEvery by
	// CommandStrikes is closed with 1008 "too many commands". Zero means
	// 50 ms (20 a second), 40, 5 s, 3 and 100; a negative CommandEvery or
	// ResumeEvery: no limit.
	CommandEvery   time.Duration
	CommandBurst   int
	ResumeEvery    time.Duration
	ResumeBurst    int
	CommandStrikes int
	// SentWindow is how many seqs a connection remembers exactly having
	// sent, above a low-water mark (sentset.go). Zero means 1,024.
	SentWindow int
}

// Presence tells every node who is connected anywhere. A node reports its
// members' first connection and last disconnection, and asks about the
// members it has no connection of.
type Presence interface {
	Connected(memberID string)
	Disconnected(memberID string)
	// Online tells, for each member, whether a live node holds a
	// connection of it; an error means it could not say.
	Online(ctx context.Context, members []string) ([]bool, error)
	// Run keeps the node's presence until ctx ends; local lists the
	// members connected to this node (written again after Redis lost them).
	Run(ctx context.Context, local func() []string)
}

func (c *Config) setDefaults() {
	if c.Broker == nil {
		c.Broker = &MemoryBroker{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.SendQueueLen <= 0 {
		c.SendQueueLen = 256
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = 1 << 20
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.LiveTTL <= 0 {
		c.LiveTTL = 30 * time.Minute
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New(prometheus.NewRegistry())
	}
	c.setFloodDefaults()
}

// CommandHandler handles what clients send on their WebSocket (the api
// package implements it). Its methods run on the connection's read
// goroutine, one at a time per connection.
type CommandHandler interface {
	// HandleFrame handles one message of the client.
	HandleFrame(c *Conn, text bool, data []byte)
}

// Hooks are the calls the core makes into the layers above it. They are
// set once with SetHooks, before the node serves WebSockets.
type Hooks struct {
	// Commands handles client messages. Nil: every message is ignored.
	Commands CommandHandler
	// Joined runs during a connection's welcome, after the welcome frame
	// and before the active alerts are replayed: live frames published
	// meanwhile are held and follow (alerting addresses the member's new
	// position). Nil: nothing.
	Joined func(ctx context.Context, memberID string)
	// Delivered is called each time a frame whose Envelope carried a
	// Receipt was written on a member's connection. It runs on the
	// writer and must not block. Nil: nothing.
	Delivered func(receipt, memberID string, at time.Time)
	// Audience is who a stored event is for, when the node rebuilds its
	// envelope from the store (a catch-up). Nil: nobody.
	Audience func(ev *storage.Event) Audience
	// Streamed is called with each event of the live stream once this
	// node has delivered it, in seq order, whichever node accepted it
	// (alerting keeps its cache of active alerts current with the alerts
	// and cancels of other nodes). It runs on the delivering goroutine, in
	// order: keep it short. Nil: nothing.
	Streamed func(env *Envelope)
}

// Announcer is the optional capability of a broker between nodes: send an
// envelope to the other nodes only (directory changes, already applied
// here).
type Announcer interface {
	Announce(ctx context.Context, env *Envelope) error
}

// Control envelopes between nodes: the directory's changes.
const (
	ctlMember = "dir_member"
	ctlLocate = "dir_locate"
)

type locateMsg struct {
	ID  string           `json:"id"`
	Pos storage.Position `json:"pos"`
}

func (n *Node) announce(an Announcer, typ string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		n.log.Error("encode a directory change", "type", typ, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := an.Announce(ctx, &Envelope{Type: typ, At: time.Now(), Frame: data}); err != nil {
		// The store has the change; nodes reload members when Redis is
		// back (resubscribe) and live positions expire anyway.
		n.log.Warn("tell the other nodes about a directory change", "type", typ, "err", err)
	}
}

// subscribed runs each time the broker's subscription is (re-)established:
// the events missed meanwhile come from the store at once, and so do the
// directory changes of other nodes (a reload, at most every 5 s).
func (n *Node) subscribed() {
	n.seq.kickCatchUp()
	if time.Since(n.started) < 5*time.Second {
		return // the first subscription: the directory was just loaded
	}
	n.reloadMu.Lock()
	if time.Since(n.lastReload) < 5*time.Second {
		n.reloadMu.Unlock()
		return
	}
	n.lastReload = time.Now()
	n.reloadMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := n.loadDirectory(ctx); err != nil {
			n.log.Warn("reload the member directory after the broker came back", "err", err)
		}
	}()
}

// applyControl applies another node's directory change; false when env is
// not a control envelope.
func (n *Node) applyControl(env *Envelope) bool {
	switch env.Type {
	case ctlMember:
		var m storage.Member
		if err := json.Unmarshal(env.Frame, &m); err != nil {
			n.log.Warn("undecodable member change", "err", err)
			return true
		}
		n.dir.add(&m, n.Now())
		if m.Inactive {
			n.closeMember(m.ID, ReasonDeactivated)
		}
		return true
	case ctlLocate:
		var l locateMsg
		if err := json.Unmarshal(env.Frame, &l); err != nil {
			n.log.Warn("undecodable position", "err", err)
			return true
		}
		n.dir.locate(l.ID, l.Pos)
		return true
	case ctlForget:
		n.applyForget(env)
		return true
	}
	return false
}

// Resubscriber is the optional capability of a broker that can lose
// messages (Redis): it calls fn each time its subscription is
// (re-)established, and the node then catches up from the store.
type Resubscriber interface {
	OnSubscribed(fn func())
}

// ErrShuttingDown is returned for work refused because the node is
// shutting down.
var ErrShuttingDown = errors.New("hub is shutting down")

// Node is one node of the hub's cluster: the connections of its members
// and the fan-out to them.
type Node struct {
	cfg     Config
	store   Store
	broker  Broker
	log     *slog.Logger
	metrics *metrics.Metrics
	dir     *Directory
	conns   *registry
	addrs   *addrCounter // connections per source address (limits.go)
	hooks   Hooks
	seq     *sequencer
	started time.Time

	reloadMu   sync.Mutex // guards lastReload
	lastReload time.Time

	shuttingDown atomic.Bool
	bg           sync.WaitGroup // background loops
	stop         context.CancelFunc
	wsWG         sync.WaitGroup // WebSocket handlers
}

// New loads the member directory from the store, subscribes to the broker
// and starts the housekeeping loop.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Store == nil {
		return nil, errors.New("hub: Config.Store is required")
	}
	cfg.setDefaults()
	n := &Node{
		cfg:     cfg,
		store:   cfg.Store,
		broker:  cfg.Broker,
		log:     cfg.Logger,
		metrics: cfg.Metrics,
		dir:     newDirectory(cfg.LiveTTL),
		conns:   newRegistry(),
		addrs:   newAddrCounter(),
	}
	cfg.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hub_connections", Help: "Open WebSocket connections on this node.",
	}, func() float64 { return float64(n.conns.count()) }))
	if err := n.loadDirectory(ctx); err != nil {
		return nil, err
	}
	latest, err := n.store.LatestSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub: read the newest seq: %w", err)
	}
	gapWait := localGapWait
	if _, ok := n.broker.(Resubscriber); ok {
		gapWait = clusterGapWait
	}
	n.seq = newSequencer(n, latest, gapWait)
	n.started = time.Now()
	bg, stop := context.WithCancel(context.Background())
	n.stop = stop
	if rs, ok := n.broker.(Resubscriber); ok {
		rs.OnSubscribed(n.subscribed)
	}
	if an, ok := n.broker.(Announcer); ok {
		n.dir.onAdd = func(m *storage.Member) { n.announce(an, ctlMember, m) }
		n.dir.onLocate = func(id string, p storage.Position) {
			n.announce(an, ctlLocate, locateMsg{ID: id, Pos: p})
		}
	}
	if err := n.broker.Subscribe(ctx, n.receive); err != nil {
		stop()
		return nil, fmt.Errorf("hub: subscribe to broker: %w", err)
	}
	n.bg.Go(func() { n.housekeeping(bg) })
	n.bg.Go(func() { n.seq.run(bg) })
	if p := cfg.Presence; p != nil {
		n.bg.Go(func() { p.Run(bg, n.conns.memberIDs) })
	}
	return n, nil
}

// SetHooks sets the calls into the layers above; call it once, before the
// node serves WebSockets.
func (n *Node) SetHooks(h Hooks) { n.hooks = h }

// Now is the node's clock, in UTC.
func (n *Node) Now() time.Time { return n.cfg.Clock().UTC() }

// Metrics are the node's counters, shared with the layers above.
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

// Directory is the member directory that targeting reads.
func (n *Node) Directory() *Directory { return n.dir }

// LiveTTL is how long a live position counts.
func (n *Node) LiveTTL() time.Duration { return n.cfg.LiveTTL }

// ShuttingDown tells whether Shutdown has begun: new work is refused.
func (n *Node) ShuttingDown() bool { return n.shuttingDown.Load() }

// Connected tells whether the member has a live connection on this node.
func (n *Node) Connected(memberID string) bool { return n.conns.connected(memberID) }

// Online tells, for each member, whether it is connected to this node or,
// in a cluster, to any live node. When the cluster cannot say (Redis is
// down), a member not connected here counts as offline: the caller then
// errs toward sending an SMS, never toward silence.
func (n *Node) Online(ctx context.Context, members []string) []bool {
	out := make([]bool, len(members))
	var rest []string
	var restIdx []int
	for i, id := range members {
		if n.conns.connected(id) {
			out[i] = true
		} else if n.cfg.Presence != nil {
			rest = append(rest, id)
			restIdx = append(restIdx, i)
		}
	}
	if len(rest) == 0 {
		return out
	}
	on, err := n.cfg.Presence.Online(ctx, rest)
	if err != nil {
		n.metrics.Drops.WithLabelValues("presence_unknown").Add(float64(len(rest)))
		n.log.Warn("cluster presence unknown: members not connected here count as offline", "members", len(rest), "err", err)
		return out
	}
	for j, i := range restIdx {
		out[i] = on[j]
	}
	return out
}

// Connections is the number of open WebSocket connections on this node.
func (n *Node) Connections() int { return n.conns.count() }

// Ping checks the broker when it can be checked (a Redis broker).
func (n *Node) Ping(ctx context.Context) error {
	if p, ok := n.broker.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (n *Node) loadDirectory(ctx context.Context) error {
	now := n.Now()
	after := ""
	seen := make(map[string]bool, n.dir.Len())
	if err := n.loadVillages(ctx); err != nil {
		return err
	}
	for {
		ms, err := n.store.ListMembers(ctx, after, 5000)
		if err != nil {
			return fmt.Errorf("hub: load members: %w", err)
		}
		for i := range ms {
			n.dir.add(&ms[i], now)
			seen[ms[i].ID] = true
		}
		if len(ms) < 5000 {
			break
		}
		after = ms[len(ms)-1].ID
	}
	n.pruneDirectory(ctx, seen) // erased while this node did not hear it (forget.go)
	n.log.Info("member directory loaded", "members", n.dir.Len())
	return nil
}

// housekeeping expires live positions and is the write watchdog: a
// connection whose current write has taken longer than WriteTimeout is
// closed.
func (n *Node) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wall := time.Now()
		n.conns.each(func(c *Conn) {
			if c.writeStuck(wall) {
				n.metrics.Drops.WithLabelValues("write_timeout").Inc()
				c.cancel() // ends the blocked write and closes the socket
			}
		})
		if i%15 == 0 {
			n.dir.expire(n.Now())
		}
	}
}

// Shutdown stops accepting WebSockets, flushes each connection's queue and
// closes it with 1001 (in batches with jitter, so clients do not all
// reconnect at once), and stops the housekeeping loop. The services stop
// their loops after it (they record what the connections wrote), then
// Close releases the broker.
func (n *Node) Shutdown(ctx context.Context) error {
	n.shuttingDown.Store(true)
	var list []*Conn
	n.conns.each(func(c *Conn) { list = append(list, c) })
	const batch = 500
	for i := 0; i < len(list); i += batch {
		for _, c := range list[i:min(i+batch, len(list))] {
			c.goAway()
		}
		if i+batch < len(list) {
			select {
			case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}
	done := make(chan struct{})
	go func() { n.wsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		n.conns.each(func(c *Conn) { _ = c.ws.CloseNow(); c.cancel() })
		<-done
	}
	n.stop()
	n.bg.Wait()
	return ctx.Err()
}

// Close releases the broker (when it holds resources). Call it after
// Shutdown and after the services stopped publishing.
func (n *Node) Close() error {
	if c, ok := n.broker.(Closer); ok {
		return c.Close()
	}
	return nil
}
