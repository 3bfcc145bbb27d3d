package hub

import (
	"context"
	"sync"
	"time"

	"github.com/longyou/hub/storage"
)

// The sequencer puts the node's live stream in seq order.
//
// Every stored event has a deployment-wide seq, and the store makes seq
// order visibility order (see storage): when seq N is committed, every
// seq below N is already visible. Envelopes do not arrive in that order:
// two requests on one node publish in whichever order their goroutines
// run, and with several nodes each announces its own events through the
// broker. A connection must never get seq N after seq M > N (resume from
// the last seq seen must be safe), so every envelope with a seq goes
// through the sequencer, which delivers seq N only after N-1:
//
//   - in order: delivered at once, by the goroutine that brought it (so a
//     lone publisher still writes its fan-out itself, as before);
//   - ahead of a gap: held; if the gap is not filled within the gap wait
//     (the missing envelope is usually in flight), the missing events are
//     read from the store (EventsAfter) and delivered in order, each to its
//     audience (Hooks.Audience) on this node. The wait is short between
//     nodes (clusterGapWait: Redis may have lost the envelope) and long on
//     one node (localGapWait: the envelope cannot be lost in process, only
//     late, when its publisher was descheduled between commit and publish);
//   - behind (seq already passed): dropped; it was delivered, from the
//     broker or the store.
//
// A tick also compares the store's newest seq with the last delivered one,
// so an event whose announcement never came (Redis was down, a node died
// between its commit and its publish, a subscriber was dropped by Redis)
// reaches this node's members within two ticks, with no reconnect. The
// tick catches up only to the newest seq of the tick before: an event
// committed a moment ago is most likely still on its way, and reading it
// from the store would cost more than waiting for it.
//
// A delivery that fails (the store could not say who an alert is for) is
// not skipped: the envelope stays held and is tried again.
const (
	clusterGapWait = 100 * time.Millisecond
	localGapWait   = time.Second
	catchUpEvery   = time.Second
	catchUpPage    = 500
)

type sequencer struct {
	n *Node

	mu         sync.Mutex // guards the following fields
	next       int64      // the seq to deliver next
	pending    map[int64]*Envelope
	delivering bool      // a goroutine is draining pending
	gapSince   time.Time // when the oldest unfilled gap was seen (zero: none)
	// resubscribed: the broker's subscription was re-established; run
	// catches up at once.
	resubscribed bool

	kick    chan struct{}
	gapWait time.Duration
	// seenLatest is the store's newest seq at the last tick (run only).
	seenLatest int64
}

func newSequencer(n *Node, latest int64, gapWait time.Duration) *sequencer {
	return &sequencer{n: n, next: latest + 1, pending: map[int64]*Envelope{}, kick: make(chan struct{}, 1),
		gapWait: gapWait, seenLatest: latest}
}

// push takes one envelope with a seq; see the type's comment.
func (q *sequencer) push(env *Envelope) {
	q.mu.Lock()
	if env.Seq < q.next {
		q.mu.Unlock()
		q.n.metrics.SeqDuplicates.Inc()
		return
	}
	q.pending[env.Seq] = env
	q.drainLocked()
}

// drainLocked delivers pending envelopes in order while the next one is
// there, unless another goroutine is already doing it; it unlocks q.mu.
func (q *sequencer) drainLocked() {
	if q.delivering {
		q.mu.Unlock()
		return
	}
	q.delivering = true
	for {
		env, ok := q.pending[q.next]
		if !ok {
			break
		}
		delete(q.pending, q.next)
		q.next++
		q.mu.Unlock()
		delivered := q.n.deliver(env)
		q.mu.Lock()
		if !delivered { // keep it, in order, and try again after the gap wait
			q.next--
			q.pending[q.next] = env
			break
		}
		if fn := q.n.hooks.Streamed; fn != nil {
			fn(env)
		}
	}
	q.delivering = false
	gap := len(q.pending) > 0
	if gap && q.gapSince.IsZero() {
		q.gapSince = time.Now()
		q.n.metrics.SeqGaps.Inc()
	} else if !gap {
		q.gapSince = time.Time{}
	}
	q.mu.Unlock()
	if gap {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// run fills gaps from the store, and catches up on events no envelope
// announced, until ctx ends.
func (q *sequencer) run(ctx context.Context) {
	tick := time.NewTicker(catchUpEvery)
	defer tick.Stop()
	for {
		var wait <-chan time.Time
		q.mu.Lock()
		if !q.gapSince.IsZero() {
			wait = time.After(max(0, q.gapWait-time.Since(q.gapSince)))
		}
		resub := q.resubscribed
		q.resubscribed = false
		q.mu.Unlock()
		if resub {
			q.catchUp(ctx, "resubscribe", 0)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
			continue
		case <-wait:
			q.catchUp(ctx, "gap", 0)
		case <-tick.C:
			latest, err := q.n.store.LatestSeq(ctx)
			if err != nil {
				if ctx.Err() == nil {
					q.n.log.Warn("catch-up: read the newest seq", "err", err)
				}
				continue
			}
			q.catchUp(ctx, "poll", q.seenLatest)
			q.seenLatest = latest
		}
	}
}

// kickCatchUp asks run to read what the store has beyond the last
// delivered seq now (the broker's subscription was re-established).
func (q *sequencer) kickCatchUp() {
	q.mu.Lock()
	q.resubscribed = true
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// catchUp delivers, in order, every stored event from the next expected
// seq up to upTo (0: the newest): held envelopes as they are, the others
// built from the store.
func (q *sequencer) catchUp(ctx context.Context, why string, upTo int64) {
	q.mu.Lock()
	from := q.next - 1
	q.mu.Unlock()
	latest := upTo
	if latest == 0 {
		var err error
		if latest, err = q.n.store.LatestSeq(ctx); err != nil {
			if ctx.Err() == nil {
				q.n.log.Warn("catch-up: read the newest seq", "err", err)
			}
			return
		}
	}
	if latest <= from {
		return
	}
	q.n.metrics.CatchUps.WithLabelValues(why).Inc()
	start := time.Now()
	read := 0
	for from < latest {
		evs, err := q.n.store.EventsAfter(ctx, from, catchUpPage)
		if err != nil {
			if ctx.Err() == nil {
				q.n.log.Warn("catch-up: read events", "after", from, "err", err)
			}
			return
		}
		if len(evs) == 0 {
			break
		}
		for i := range evs {
			ev := &evs[i]
			if ev.Seq > latest {
				break
			}
			q.mu.Lock()
			if ev.Seq < q.next { // delivered meanwhile
				q.mu.Unlock()
				continue
			}
			if _, held := q.pending[ev.Seq]; !held {
				q.pending[ev.Seq] = q.n.envelopeOf(ev)
			}
			q.drainLocked()
			from = ev.Seq
			read++
		}
		if evs[len(evs)-1].Seq >= latest {
			break
		}
	}
	q.n.log.Info("caught up from the store", "why", why, "events", read, "ms", time.Since(start).Milliseconds())
}

// envelopeOf builds the envelope of a stored event for this node: its
// frame, and its audience from the layers above (Hooks.Audience).
func (n *Node) envelopeOf(ev *storage.Event) *Envelope {
	env := &Envelope{Type: ev.Type, Seq: ev.Seq, At: ev.CreatedAt, Frame: EncodeEvent(ev)}
	if ev.Type == storage.EventAlert {
		env.Receipt = ev.AlertID
	}
	if n.hooks.Audience != nil {
		env.Audience = n.hooks.Audience(ev)
	}
	return env
}
