package hub

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/longyou/hub/storage"
)

// Envelope is one event on its way to the connections of every node. The
// frame is encoded once by the node that accepted the event; each node
// picks its local recipients from the Audience, which the emitting service
// fills in: the core knows no domain rule.
type Envelope struct {
	Type string    `json:"type"` // for the fan-out metric
	Seq  int64     `json:"seq,omitempty"`
	At   time.Time `json:"at"`
	// Frame is the bytes every recipient's queue shares.
	Frame []byte `json:"frame"`
	// Receipt, when set, is passed to Hooks.Delivered each time the frame
	// is written on a connection (alerts: the alert id).
	Receipt string `json:"receipt,omitempty"`
	// Lossy frames are skipped, not a reason to disconnect, when a queue
	// is full (alert_progress); they are not counted as fanned out.
	Lossy bool `json:"lossy,omitempty"`
	// Replay marks an event already in the stream sent again to new
	// recipients (an alert to a member who moved into its area): it is
	// delivered at once, outside the seq order (Seq is the event's own).
	Replay   bool     `json:"replay,omitempty"`
	Audience Audience `json:"audience"`
}

// Audience is who an envelope is for. With no roles set (AnyRoles and
// VillageRoles zero) it is exactly Members, looked up by id; otherwise a
// member is in it when it is listed in Members, or has one of AnyRoles, or
// belongs to one of Villages with one of VillageRoles.
type Audience struct {
	Members      []string `json:"members,omitempty"`       // these members (alerts: the recipients)
	AnyRoles     RoleMask `json:"any_roles,omitempty"`     // members of these roles, wherever they are
	Villages     []string `json:"villages,omitempty"`      // members of these villages ...
	VillageRoles RoleMask `json:"village_roles,omitempty"` // ... with these roles (0: none)
	// Alert, when set, says that Members are this alert's targets (its
	// delivery rows). A node that receives the envelope without the list
	// (a broker leaves a long one out, and a node catching up from the
	// store has none) looks up which of its own members they are.
	Alert string `json:"alert,omitempty"`
}

// AddressedAudience is the audience of an addressed event (v1.6): the
// members of its To and, with ToVillage, every member of its village.
// Services publish their addressed events with it, and a node catching up
// from the store routes them with it.
func AddressedAudience(ev *storage.Event) Audience {
	a := Audience{Members: ev.To}
	if ev.ToVillage && ev.VillageID != "" {
		a.Villages, a.VillageRoles = []string{ev.VillageID}, AllRoles
	}
	return a
}

// byRule tells whether the audience needs the rule (a scan of the
// connections) rather than the member list alone.
func (a *Audience) byRule() bool { return a.AnyRoles != 0 || a.VillageRoles != 0 }

// includes tells whether member m is in a by-rule audience.
func (a *Audience) includes(m *storage.Member) bool {
	bit := RoleBit(m.Role)
	if a.AnyRoles&bit != 0 {
		return true
	}
	if a.VillageRoles&bit != 0 && m.VillageID != "" && slices.Contains(a.Villages, m.VillageID) {
		return true
	}
	return slices.Contains(a.Members, m.ID)
}

// Broker carries envelopes to every node, this one included. The
// in-process MemoryBroker serves one node; a Redis broker spreads fan-out
// across nodes with the same interface.
type Broker interface {
	// Publish hands env to every subscribed node. It returns once the
	// broker has taken it (for the memory broker: once delivered locally).
	Publish(ctx context.Context, env *Envelope) error
	// Subscribe registers this node's delivery function; called once,
	// before the first Publish.
	Subscribe(ctx context.Context, deliver func(*Envelope)) error
}

// Closer is the optional capability of a broker that holds resources.
type Closer interface {
	Close() error
}

// MemoryBroker delivers in process, synchronously: one node, no network.
type MemoryBroker struct {
	mu      sync.RWMutex // guards deliver
	deliver func(*Envelope)
}

var _ Broker = (*MemoryBroker)(nil)

// Publish delivers env to the subscriber at once.
func (b *MemoryBroker) Publish(_ context.Context, env *Envelope) error {
	b.mu.RLock()
	d := b.deliver
	b.mu.RUnlock()
	if d != nil {
		d(env)
	}
	return nil
}

// Subscribe sets the delivery function.
func (b *MemoryBroker) Subscribe(_ context.Context, deliver func(*Envelope)) error {
	b.mu.Lock()
	b.deliver = deliver
	b.mu.Unlock()
	return nil
}

// parallelMin is the recipient count above which fan-out is split across
// cores: below it the goroutine hand-off costs more than it saves.
const parallelMin = 2048

// receive takes an envelope from the broker (this node's own included):
// events go through the sequencer, the rest are delivered at once.
func (h *Node) receive(env *Envelope) {
	if h.applyControl(env) {
		return
	}
	if env.Seq > 0 && !env.Replay {
		h.seq.push(env)
		return
	}
	_ = h.deliver(env) // outside the stream: a failure is not retried (a move-in is found again on the next connect or locate)
}

// deliver completes an envelope that came without its member list or its
// frame (from another node, or rebuilt from the store) and hands it to the
// connections on this node it is for. false: the store could not say, try
// again later.
func (h *Node) deliver(env *Envelope) bool {
	aud := &env.Audience
	if (aud.Alert != "" && aud.Members == nil && !aud.byRule()) || env.Frame == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		e := *env
		if aud.Alert != "" && aud.Members == nil && !aud.byRule() {
			ids, err := h.store.TargetsAmong(ctx, aud.Alert, h.conns.memberIDs())
			if err != nil {
				h.log.Error("find this node's recipients of an alert (will try again)", "alert", aud.Alert, "seq", env.Seq, "err", err)
				h.metrics.Drops.WithLabelValues("targets_lookup").Inc()
				return false
			}
			e.Audience.Members = ids
		}
		if e.Frame == nil && len(e.Audience.Members)+int(e.Audience.AnyRoles|e.Audience.VillageRoles) > 0 {
			evs, err := h.store.EventsAfter(ctx, env.Seq-1, 1)
			if err != nil || len(evs) != 1 || evs[0].Seq != env.Seq {
				h.log.Error("read the frame of an event (will try again)", "seq", env.Seq, "err", err)
				h.metrics.Drops.WithLabelValues("frame_lookup").Inc()
				return false
			}
			e.Frame = EncodeEvent(&evs[0])
		}
		if e.Frame == nil {
			return true // nobody here
		}
		env = &e
	}
	h.deliverLocal(env)
	return true
}

// deliverLocal hands env to the connections on this node it is for.
func (h *Node) deliverLocal(env *Envelope) {
	f := &frame{data: env.Frame, seq: env.Seq, at: env.At, lossy: env.Lossy, receipt: env.Receipt, moveIn: env.Replay}
	var n int
	aud := &env.Audience
	if !aud.byRule() {
		n = h.deliverMembers(aud.Members, f)
	} else {
		var start []*Conn
		h.conns.each(func(c *Conn) {
			if aud.includes(&c.member) {
				if c.deliver(f) {
					start = append(start, c)
				}
				n++
			}
		})
		startWriters(start)
	}
	if !env.Lossy {
		h.metrics.FannedOut.WithLabelValues(env.Type).Add(float64(n))
	}
}

// deliverMembers queues f on the connections of ids, each part of a big
// list on its own core, and only when every part is queued starts the
// writers that were idle (see conn.deliver): a part still queueing
// while another's writers start would be preempted behind thousands of
// them (seen as 200-400 ms fan-outs at 19,000 recipients).
func (h *Node) deliverMembers(ids []string, f *frame) int {
	queue := func(ids []string) (n int, start []*Conn) {
		start = make([]*Conn, 0, len(ids))
		for _, id := range ids {
			n += h.conns.forMember(id, func(c *Conn) {
				if c.deliver(f) {
					start = append(start, c)
				}
			})
		}
		return n, start
	}
	workers := runtime.GOMAXPROCS(0)
	if len(ids) < parallelMin || workers == 1 {
		n, start := queue(ids)
		startWriters(start)
		return n
	}
	var wg sync.WaitGroup
	counts := make([]int, workers)
	starts := make([][]*Conn, workers)
	chunk := (len(ids) + workers - 1) / workers
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(ids))
		if lo >= hi {
			break
		}
		wg.Go(func() { counts[w], starts[w] = queue(ids[lo:hi]) })
	}
	wg.Wait()
	n := 0
	var all []*Conn
	for w := range workers {
		n += counts[w]
		all = append(all, starts[w]...)
	}
	startWriters(all)
	return n
}

// Writer pool for big fan-outs.
const (
	// poolMin is the number of idle writers to start from which a pool
	// writes for them instead of a goroutine each.
	poolMin = 1024
	// PoolWorkers bounds the pool (exported for the tests of the assembled node): enough that a few stalled clients (a
	// write into a full socket buffer blocks) hold back only the worker
	// on them, while the others take the rest of the list.
	PoolWorkers = 64
	// poolStall is how long the pool may go without taking a new
	// connection before every connection left gets a writer of its own.
	poolStall = 50 * time.Millisecond
)

// startWriters runs the writers of connections claimed by conn.deliver.
// A few get a goroutine each. Many are written by a pool of PoolWorkers
// goroutines taking connections from one list (each runs the connection's
// writeLoop, which drains its queue and returns): 19,000 writers started at
// once made 19,000 goroutines runnable, and the goroutine still starting
// them, once preempted, waited behind all of them (200+ ms in 4 of 10
// fan-outs, alerts and cancels, at 19,000). A stalled client holds only
// the worker on it; a watchdog gives every connection left a goroutine of
// its own if the pool takes none for poolStall, so stalled clients can
// never hold the rest back for longer than that.
func startWriters(cs []*Conn) {
	if len(cs) < poolMin {
		for _, c := range cs {
			go c.writeLoop()
		}
		return
	}
	var next atomic.Int64
	take := func() *Conn {
		if i := next.Add(1) - 1; i < int64(len(cs)) {
			return cs[i]
		}
		return nil
	}
	for range min(PoolWorkers, len(cs)/16) {
		go func() {
			for c := take(); c != nil; c = take() {
				c.writeLoop()
			}
		}()
	}
	go func() {
		t := time.NewTicker(poolStall)
		defer t.Stop()
		last := int64(-1)
		for range t.C {
			i := next.Load()
			if i >= int64(len(cs)) {
				return
			}
			if i == last {
				for c := take(); c != nil; c = take() {
					go c.writeLoop()
				}
				return
			}
			last = i
		}
	}()
}

// EncodeEvent builds the frame clients receive for a stored event: the
// event's object (its Body) under its type's name, with the seq.
func EncodeEvent(ev *storage.Event) []byte {
	b := make([]byte, 0, len(ev.Body)+64)
	b = append(b, `{"type":"`...)
	b = append(b, ev.Type...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	switch ev.Type {
	case storage.EventAlertCancel:
		b = append(b, `,"alert_id":`...)
		id, _ := json.Marshal(ev.AlertID)
		b = append(b, id...)
	default: // alert, bulletin, report: the object under its type's name
		b = append(b, `,"`...)
		b = append(b, ev.Type...)
		b = append(b, `":`...)
		b = append(b, ev.Body...)
	}
	return append(b, '}')
}

// eventFrame is the frame of a stored event, for replay.
func eventFrame(ev *storage.Event) *frame {
	f := &frame{data: EncodeEvent(ev), seq: ev.Seq, at: ev.CreatedAt}
	if ev.Type == storage.EventAlert {
		f.receipt = ev.AlertID
	}
	return f
}

// Publish sends an envelope to its audience on every node. A failure is
// counted and logged: the event is stored, members get it on resume.
func (h *Node) Publish(ctx context.Context, env *Envelope) {
	if err := h.broker.Publish(ctx, env); err != nil {
		h.metrics.Drops.WithLabelValues("broker_publish").Inc()
		h.log.ErrorContext(ctx, "broker publish failed", "type", env.Type, "seq", env.Seq, "err", err)
	}
}

// PublishEvent sends a stored event to aud: its frame is encoded once here.
// An alert's frame carries its id as the receipt (delivery marks).
func (h *Node) PublishEvent(ctx context.Context, ev *storage.Event, aud Audience) {
	env := &Envelope{Type: ev.Type, Seq: ev.Seq, At: ev.CreatedAt, Frame: EncodeEvent(ev), Audience: aud}
	if ev.Type == storage.EventAlert {
		env.Receipt = ev.AlertID
	}
	h.Publish(ctx, env)
}
