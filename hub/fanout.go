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
// picks its local recipients from the audience fields.
type Envelope struct {
	Type    string    `json:"type"`
	Seq     int64     `json:"seq,omitempty"`
	AlertID string    `json:"alert_id,omitempty"`
	At      time.Time `json:"at"`
	Frame   []byte    `json:"frame"`
	// Members, when not nil, are the recipients (alert, alert_cancel).
	Members []string `json:"members,omitempty"`
	// VillageID: a bulletin's village ("" county-wide), a report's village.
	VillageID string `json:"village_id,omitempty"`
	// MemberID: a report's reporter.
	MemberID string `json:"member_id,omitempty"`
	// Villages: an alert_progress goes to command and to cadres of these.
	Villages []string `json:"villages,omitempty"`
}

// Type of the envelope that carries alert_progress (not an event).
const envProgress = "alert_progress"

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

// deliverLocal hands env to the connections on this node it is for.
func (h *Hub) deliverLocal(env *Envelope) {
	f := &frame{data: env.Frame, seq: env.Seq, at: env.At, lossy: env.Type == envProgress}
	if env.Type == storage.EventAlert {
		f.alertID = env.AlertID
	}
	var n int
	switch {
	case env.Members != nil:
		n = h.deliverMembers(env.Members, f)
	default:
		var start []*conn
		h.conns.each(func(c *conn) {
			if h.wants(c, env) {
				if c.deliver(f) {
					start = append(start, c)
				}
				n++
			}
		})
		startWriters(start)
	}
	if env.Type != envProgress {
		h.metrics.fannedOut.WithLabelValues(env.Type).Add(float64(n))
	}
}

// deliverMembers queues f on the connections of ids, each part of a big
// list on its own core, and only when every part is queued starts the
// writers that were idle (see conn.deliver): a part still queueing
// while another's writers start would be preempted behind thousands of
// them (seen as 200-400 ms fan-outs at 19,000 recipients).
func (h *Hub) deliverMembers(ids []string, f *frame) int {
	queue := func(ids []string) (n int, start []*conn) {
		start = make([]*conn, 0, len(ids))
		for _, id := range ids {
			n += h.conns.forMember(id, func(c *conn) {
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
	starts := make([][]*conn, workers)
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
	var all []*conn
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
	// poolWorkers bounds the pool: enough that a few stalled clients (a
	// write into a full socket buffer blocks) hold back only the worker
	// on them, while the others take the rest of the list.
	poolWorkers = 64
	// poolStall is how long the pool may go without taking a new
	// connection before every connection left gets a writer of its own.
	poolStall = 50 * time.Millisecond
)

// startWriters runs the writers of connections claimed by conn.deliver.
// A few get a goroutine each. Many are written by a pool of poolWorkers
// goroutines taking connections from one list (each runs the connection's
// writeLoop, which drains its queue and returns): 19,000 writers started at
// once made 19,000 goroutines runnable, and the goroutine still starting
// them, once preempted, waited behind all of them (200+ ms in 4 of 10
// fan-outs, alerts and cancels, at 19,000). A stalled client holds only
// the worker on it; a watchdog gives every connection left a goroutine of
// its own if the pool takes none for poolStall, so stalled clients can
// never hold the rest back for longer than that.
func startWriters(cs []*conn) {
	if len(cs) < poolMin {
		for _, c := range cs {
			go c.writeLoop()
		}
		return
	}
	var next atomic.Int64
	take := func() *conn {
		if i := next.Add(1) - 1; i < int64(len(cs)) {
			return cs[i]
		}
		return nil
	}
	for range min(poolWorkers, len(cs)/16) {
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

// wants tells whether an audience-by-rule envelope is for connection c.
func (h *Hub) wants(c *conn, env *Envelope) bool {
	m := &c.member
	command := m.Role == storage.RoleCommander || m.Role == storage.RoleAdmin
	switch env.Type {
	case storage.EventBulletin:
		return env.VillageID == "" || env.VillageID == m.VillageID
	case storage.EventReport:
		return env.MemberID == m.ID || command ||
			(m.Role == storage.RoleCadre && m.VillageID == env.VillageID)
	case envProgress:
		return command || (m.Role == storage.RoleCadre && slices.Contains(env.Villages, m.VillageID))
	}
	return false
}

// encodeEvent builds the frame clients receive for a stored event.
func encodeEvent(ev *storage.Event) []byte {
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
	f := &frame{data: encodeEvent(ev), seq: ev.Seq, at: ev.CreatedAt}
	if ev.Type == storage.EventAlert {
		f.alertID = ev.AlertID
	}
	return f
}

// publish sends a stored event to its audience through the broker.
func (h *Hub) publish(ctx context.Context, ev *storage.Event, members []string, villages []string) {
	env := &Envelope{
		Type: ev.Type, Seq: ev.Seq, AlertID: ev.AlertID, At: ev.CreatedAt,
		Frame: encodeEvent(ev), Members: members,
		VillageID: ev.VillageID, MemberID: ev.MemberID, Villages: villages,
	}
	if env.Members == nil && (ev.Type == storage.EventAlert || ev.Type == storage.EventAlertCancel) {
		env.Members = []string{}
	}
	if err := h.broker.Publish(ctx, env); err != nil {
		// The event is stored: members get it on resume. Count and go on.
		h.metrics.drops.WithLabelValues("broker_publish").Inc()
		h.log.ErrorContext(ctx, "broker publish failed", "type", ev.Type, "seq", ev.Seq, "err", err)
	}
}
