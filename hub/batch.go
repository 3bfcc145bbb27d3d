package hub

import (
	"context"
	"sync"
	"time"

	"github.com/longyou/hub/storage"
)

// ackBatcher stores answers in few transactions: every answer waiting when
// the store becomes free goes in the next one. An answer is confirmed to
// the member only after its transaction committed.
type ackBatcher struct {
	h  *Hub
	in chan *ackReq
}

type ackReq struct {
	ack  storage.Ack
	done chan ackResult
}

type ackResult struct {
	ok  bool
	err error
}

const maxAckBatch = 1000

func newAckBatcher(h *Hub) *ackBatcher {
	return &ackBatcher{h: h, in: make(chan *ackReq, 4*maxAckBatch)}
}

// submit stores one answer and waits until it is durable.
func (b *ackBatcher) submit(ctx context.Context, a storage.Ack) (bool, error) {
	r := &ackReq{ack: a, done: make(chan ackResult, 1)}
	select {
	case b.in <- r:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.ok, res.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (b *ackBatcher) run(ctx context.Context) {
	batch := make([]*ackReq, 0, maxAckBatch)
	for {
		select {
		case r := <-b.in:
			batch = append(batch[:0], r)
		case <-ctx.Done():
			// Drain what was accepted before stopping.
			for {
				select {
				case r := <-b.in:
					b.flush([]*ackReq{r})
				default:
					return
				}
			}
		}
	more:
		for len(batch) < maxAckBatch {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			default:
				break more
			}
		}
		b.flush(batch)
	}
}

func (b *ackBatcher) flush(batch []*ackReq) {
	acks := make([]storage.Ack, len(batch))
	for i, r := range batch {
		acks[i] = r.ack
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	ok, err := b.h.store.RecordAcks(ctx, acks)
	cancel()
	b.h.metrics.ackBatches.Observe(float64(len(batch)))
	for i, r := range batch {
		if err != nil {
			r.done <- ackResult{err: err}
			continue
		}
		if ok[i] {
			b.h.metrics.acks.Inc()
			b.h.progress.touch(r.ack.AlertID)
		}
		r.done <- ackResult{ok: ok[i]}
	}
}

// deliveryRecorder collects "written on a live WebSocket" marks from the
// writers (which must never block) and stores them in batches. A mark lost
// in a crash only lowers the delivered count: the alert itself is stored.
type deliveryRecorder struct {
	h *Hub

	mu      sync.Mutex // guards pending
	pending []storage.Delivery
}

func newDeliveryRecorder(h *Hub) *deliveryRecorder { return &deliveryRecorder{h: h} }

func (d *deliveryRecorder) add(alertID, memberID string, at time.Time) {
	d.mu.Lock()
	d.pending = append(d.pending, storage.Delivery{AlertID: alertID, MemberID: memberID, At: at})
	d.mu.Unlock()
}

func (d *deliveryRecorder) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			d.flush()
		case <-ctx.Done():
			d.flush()
			return
		}
	}
}

func (d *deliveryRecorder) flush() {
	d.mu.Lock()
	batch := d.pending
	d.pending = nil
	d.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.h.store.MarkDelivered(ctx, batch); err != nil {
		d.h.log.Error("record deliveries", "count", len(batch), "err", err)
		d.h.metrics.drops.WithLabelValues("delivery_marks").Add(float64(len(batch)))
		return
	}
	seen := map[string]bool{}
	for _, x := range batch {
		if !seen[x.AlertID] {
			seen[x.AlertID] = true
			d.h.progress.touch(x.AlertID)
		}
	}
}
