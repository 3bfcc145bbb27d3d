package alerting

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// ackBatcher stores answers in few transactions: every answer waiting when
// the store becomes free goes in the next one. An answer is confirmed to
// the member only after its transaction committed.
type ackBatcher struct {
	s  *Service
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

func newAckBatcher(s *Service) *ackBatcher {
	return &ackBatcher{s: s, in: make(chan *ackReq, 4*maxAckBatch)}
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
	ok, err := b.s.store.RecordAcks(ctx, acks)
	cancel()
	b.s.metrics.AckBatches.Observe(float64(len(batch)))
	for i, r := range batch {
		if err != nil {
			r.done <- ackResult{err: err}
			continue
		}
		if ok[i] {
			b.s.metrics.Acks.Inc()
			b.s.progress.touch(r.ack.AlertID)
		}
		r.done <- ackResult{ok: ok[i]}
	}
}

// deliveryRecorder collects "written on a live WebSocket" marks from the
// writers (which must never block) and stores them in batches. A mark lost
// in a crash only lowers the delivered count: the alert itself is stored.
//
// It stores a batch once the marks have gone quiet (no new one for
// deliveryQuiet) or the oldest has waited deliveryMaxHold: marks stream in
// while an alert is being written to its recipients, and storing them
// then would take the CPU from the writes still to come (issue 11:
// nothing but the frame writes until the last is out). The delivered
// counts of progress lag by at most deliveryMaxHold.
type deliveryRecorder struct {
	s *Service

	mu      sync.Mutex // guards the fields below
	pending []storage.Delivery
	first   time.Time // when the oldest pending mark came (monotonic)
	last    time.Time // when the newest came
}

const (
	deliveryTick    = 25 * time.Millisecond
	deliveryQuiet   = 50 * time.Millisecond
	deliveryMaxHold = time.Second
)

func (d *deliveryRecorder) add(alertID, memberID string, at time.Time) {
	now := time.Now()
	d.mu.Lock()
	if len(d.pending) == 0 {
		d.first = now
	}
	d.last = now
	d.pending = append(d.pending, storage.Delivery{AlertID: alertID, MemberID: memberID, At: at})
	d.mu.Unlock()
}

// due reports whether the pending marks should be stored now.
func (d *deliveryRecorder) due(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) > 0 && (now.Sub(d.last) >= deliveryQuiet || now.Sub(d.first) >= deliveryMaxHold)
}

func (d *deliveryRecorder) run(ctx context.Context) {
	t := time.NewTicker(deliveryTick)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			if d.due(now) {
				d.flush()
			}
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
	if err := d.s.store.MarkDelivered(ctx, batch); err != nil {
		d.s.log.Error("record deliveries", "count", len(batch), "err", err)
		d.s.metrics.Drops.WithLabelValues("delivery_marks").Add(float64(len(batch)))
		return
	}
	seen := map[string]bool{}
	for _, x := range batch {
		if !seen[x.AlertID] {
			seen[x.AlertID] = true
			d.s.progress.touch(x.AlertID)
		}
	}
}

// Delivered records that an alert frame was written on a member's live
// WebSocket (the core's Hooks.Delivered). It never blocks.
func (s *Service) Delivered(alertID, memberID string, at time.Time) {
	s.deliveries.add(alertID, memberID, at)
}

var responses = []string{storage.RespReceived, storage.RespSafe, storage.RespNeedHelp, storage.RespComing, storage.RespUnavailable}

// Answer is a member's answer to an alert.
type Answer struct {
	AlertID  string
	MemberID string
	Response string
	EtaMin   *int
	Note     string
	// By is the member who records it for MemberID (AnswerFor); "" when
	// the member answers itself.
	By string
}

// Answer validates and stores an answer, batched with others, and returns
// once it is durable.
func (s *Service) Answer(ctx context.Context, in Answer) error {
	in.By = ""
	_, err := s.answer(ctx, in)
	return err
}

// answer is Answer and AnswerFor: it returns the answer as stored.
func (s *Service) answer(ctx context.Context, in Answer) (storage.Ack, error) {
	if in.AlertID == "" || len(in.AlertID) > 100 {
		return storage.Ack{}, service.Invalid("alert_id is required")
	}
	if !slices.Contains(responses, in.Response) {
		return storage.Ack{}, service.Invalid("response must be received, safe, need_help, coming or unavailable")
	}
	if in.EtaMin != nil && (*in.EtaMin < 0 || *in.EtaMin > 1440) {
		return storage.Ack{}, service.Invalid("eta_min must be between 0 and 1440")
	}
	if err := service.CheckText("note", in.Note, 500, true); err != nil {
		return storage.Ack{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ack := storage.Ack{AlertID: in.AlertID, MemberID: in.MemberID,
		Response: in.Response, EtaMin: in.EtaMin, Note: in.Note, At: s.now(), By: in.By}
	ok, err := s.acks.submit(ctx, ack)
	if err != nil {
		return storage.Ack{}, err
	}
	if !ok {
		if _, err := s.store.GetAlert(ctx, in.AlertID); errors.Is(err, storage.ErrNotFound) {
			return storage.Ack{}, service.Errorf(service.CodeNotFound, "no such alert")
		}
		if in.By != "" {
			return storage.Ack{}, service.Errorf(service.CodeNotFound, "this alert is not addressed to that member")
		}
		return storage.Ack{}, service.Errorf(service.CodeForbidden, "this alert is not addressed to you")
	}
	s.log.LogAttrs(ctx, slog.LevelDebug, "ack", slog.String("alert", in.AlertID), slog.String("member", in.MemberID),
		slog.String("response", in.Response), slog.String("by", in.By))
	return ack, nil
}
