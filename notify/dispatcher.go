package notify

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/longyou/hub/storage"
)

// Store is what the dispatcher reads and writes: the outbox, and what its
// rows are about.
//
// The dispatcher reads a row's subject (GetAlert) when it sends it, and
// composes the text then, rather than the hub storing each message's text
// in its row: a 50,000-target alert's rows go in by COPY with keys only, the
// text follows the member's language at sending time, and the same alert
// composes differently per channel (an SMS now, a call's script next). It
// costs one GetAlert per alert per batch. The templates are notify's
// (segments, the provider's limits), so a Renderer handed in by the hub
// would only move them back out.
type Store interface {
	ClaimDueMessages(ctx context.Context, channel string, now time.Time, limit int, claimer string) ([]storage.Message, error)
	StartSending(ctx context.Context, key storage.MessageKey, claimer string, now time.Time) error
	CompleteMessage(ctx context.Context, key storage.MessageKey, res storage.MessageResult) error
	ClaimedMessages(ctx context.Context, channel, claimer string, before time.Time) ([]storage.Message, error)
	UpdateMessageStatus(ctx context.Context, channel, providerID string, u storage.StatusUpdate) error
	GetAlert(ctx context.Context, id string) (storage.Alert, error)
	GetMember(ctx context.Context, id string) (storage.Member, error)
}

// ChannelConfig is a channel the dispatcher sends, and its rate.
type ChannelConfig struct {
	Channel Channel
	// Rate is messages per second through the channel. Zero means 1.
	Rate float64
	// Limiter paces the channel; nil means a token bucket of this node at
	// Rate (one node). A cluster passes a RedisLimiter, shared by all.
	Limiter Limiter
}

// DispatcherConfig configures a Dispatcher. The zero value of each optional
// field picks the default its comment names.
type DispatcherConfig struct {
	Store    Store // required
	Channels []ChannelConfig
	// Early keeps status callbacks that came before their message's
	// provider id was stored. Nil: this node's memory (one node).
	Early EarlyStore
	// NodeID names this node's claims: at start, the rows it left claimed
	// are in doubt at once. Required.
	NodeID string
	// Clock returns the current time; nil means time.Now.
	Clock  func() time.Time
	Logger *slog.Logger // nil discards
	// Changed, when set, is called after a message's state changed, with
	// what it is about (the hub pushes the alert's progress). The ref is
	// zero when the dispatcher does not know it (a status callback).
	Changed func(ref storage.Ref)
	// Subjects, when set, reads what rows about anything but an alert
	// are about (invitations, login codes); nil: rows of other Ref types
	// have no template and are not sent.
	Subjects Subjects
	// Counted, when set, counts each send attempt of a channel by outcome:
	// sent, failed, retry, in_doubt, or stopped (a claimed message that
	// was not sent after all: its alert was cancelled or ended, or its
	// member answered, while it waited for the rate).
	Counted func(channel, outcome string)
}

const (
	batchSize  = 50
	inDoubtAge = 2 * time.Minute // a claim older than this without an outcome is in doubt
	// maxAllClearTries bounds retries of all-clear messages (about 2 hours
	// with the backoff cap). Alert messages are retried for as long as the
	// alert is active: a rural network outage must not turn into "failed,
	// no SMS"; the outbox cancels them once the alert ends.
	maxAllClearTries = 20
	sendTimeout      = 15 * time.Second
)

// Dispatcher sends the outbox: for each channel it claims due rows (highest
// priority first), composes and sends each at the channel's rate, and
// records the outcome. Nothing lives only in memory: a restart resumes the
// queue, and rows left sending by a crash are reconciled before resending.
//
// A claimed row waits for the rate (up to about a second) before it is
// sent, and its alert may be cancelled meanwhile. So the last step before
// the provider is the store's StartSending, which re-checks the row in one
// transaction with any cancel (the cancel fences the claimed rows, and
// queues the all-clear for those whose send had started): no alert
// message starts after a cancel has committed, and every one that started
// before it is followed by the all-clear.
type Dispatcher struct {
	cfg     DispatcherConfig
	log     *slog.Logger
	workers []*worker
	early   EarlyStore
}

// worker sends one channel.
type worker struct {
	d       *Dispatcher
	ch      Channel
	limiter Limiter
	wakeCh  chan struct{}
	// batch is how many rows one claim takes: about a second's worth at
	// the rate (at most batchSize). Claiming more than can be sent soon
	// would only keep them from the other nodes (they share the rate in
	// a cluster) and leave more in doubt if this node dies.
	batch int
}

// NewDispatcher checks cfg and returns a dispatcher; Run starts it.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: DispatcherConfig.Store is required")
	}
	if cfg.NodeID == "" {
		return nil, errors.New("notify: DispatcherConfig.NodeID is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg, log: log, early: cfg.Early}
	if d.early == nil {
		d.early = &earlyStatuses{}
	}
	seen := map[string]bool{}
	for _, c := range cfg.Channels {
		name := c.Channel.Name()
		if seen[name] {
			return nil, errors.New("notify: two channels named " + name)
		}
		seen[name] = true
		r := c.Rate
		if r <= 0 {
			r = 1
		}
		var lim Limiter = rate.NewLimiter(rate.Limit(r), 1)
		if c.Limiter != nil {
			lim = c.Limiter
		}
		d.workers = append(d.workers, &worker{d: d, ch: c.Channel, limiter: lim, wakeCh: make(chan struct{}, 1),
			batch: min(batchSize, max(1, int(math.Ceil(r))))})
	}
	return d, nil
}

func (d *Dispatcher) now() time.Time { return d.cfg.Clock().UTC() }

// Wake asks every channel to look for due rows now (new rows were queued).
func (d *Dispatcher) Wake() {
	for _, w := range d.workers {
		w.wake()
	}
}

// Run sends until ctx is done, one loop per channel; it returns when they
// have stopped. A message being sent when ctx ends is put back as pending,
// or left in doubt when its outcome is unknown.
func (d *Dispatcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, w := range d.workers {
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
}

func (w *worker) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *worker) run(ctx context.Context) {
	d := w.d
	// Rows this node claimed before it stopped are in doubt at once.
	w.reconcile(ctx, d.cfg.NodeID, d.now())
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSweep := d.now()
	for {
		for w.sendDue(ctx) > 0 && ctx.Err() == nil {
		}
		if now := d.now(); now.Sub(lastSweep) > inDoubtAge/2 {
			w.reconcile(ctx, "", now.Add(-inDoubtAge))
			lastSweep = now
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wakeCh:
		case <-tick.C:
		}
	}
}

// sendDue claims and sends one batch; it returns how many it claimed.
func (w *worker) sendDue(ctx context.Context) int {
	d := w.d
	rows, err := d.cfg.Store.ClaimDueMessages(ctx, w.ch.Name(), d.now(), w.batch, d.cfg.NodeID)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("claim due messages", "channel", w.ch.Name(), "err", err)
		}
		return 0
	}
	subjects := map[storage.Ref]*Item{}
	for i := range rows {
		w.send(ctx, &rows[i], subjects)
	}
	return len(rows)
}

// item is row with what it is about, read once per batch (cache).
func (w *worker) item(ctx context.Context, row *storage.Message, cache map[storage.Ref]*Item) (*Item, error) {
	if row.Ref.Type == storage.RefReply {
		return &Item{Row: row}, nil // the help SMS: no subject (notify_reply.go)
	}
	if row.Ref.Type != storage.RefAlert {
		if w.d.cfg.Subjects == nil {
			return nil, errors.New("no template for messages about " + row.Ref.Type)
		}
		it, err := w.d.cfg.Subjects(ctx, row)
		if err != nil {
			return nil, err
		}
		it.Row = row
		return it, nil
	}
	s := cache[row.Ref]
	if s == nil {
		a, err := w.d.cfg.Store.GetAlert(ctx, row.Ref.ID)
		if err != nil {
			return nil, err
		}
		s = &Item{Alert: &a}
		cache[row.Ref] = s
	}
	return &Item{Row: row, Alert: s.Alert}, nil
}

func (w *worker) send(ctx context.Context, row *storage.Message, cache map[storage.Ref]*Item) {
	d := w.d
	it, err := w.item(ctx, row, cache)
	if err != nil {
		d.log.Error("message about an unknown subject", "key", row.Key().String(), "err", err)
		if row.Ref.Type != storage.RefAlert && errors.Is(err, storage.ErrNotFound) {
			// Its subject is gone or spent (a revoked invitation): never
			// sent, never retried.
			w.complete(ctx, row, storage.MessageResult{State: storage.MessageFailed, ErrorCode: "no_subject", At: d.now()})
		}
		return
	}
	if row.Phone == "" {
		w.complete(ctx, row, storage.MessageResult{State: storage.MessageFailed, ErrorCode: "no_phone", At: d.now()})
		return
	}
	// Wait for the rate, but never past shutdown: an unsent claimed row
	// is put back as pending.
	if err := w.limiter.Wait(ctx); err != nil {
		w.complete(context.Background(), row, storage.MessageResult{State: storage.MessagePending, RetryAt: d.now(), At: d.now()})
		return
	}
	// From here on the message may reach the provider: the store says so
	// first, or refuses when a cancel (or an answer, or the expiry) came
	// while the row waited.
	if err := d.cfg.Store.StartSending(ctx, row.Key(), d.cfg.NodeID, d.now()); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			w.count("stopped")
			d.changed(row.Ref)
			return
		}
		if ctx.Err() == nil {
			d.log.Error("start sending", "key", row.Key().String(), "err", err)
		}
		// Not started: put it back (or, if that fails too, the reconcile
		// sweep releases the claim).
		w.complete(context.Background(), row, storage.MessageResult{State: storage.MessagePending, RetryAt: d.now(), At: d.now()})
		return
	}
	msg := w.ch.Compose(it)
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	res, err := w.ch.Send(sctx, msg)
	cancel()
	now := d.now()
	var se *SendError
	switch {
	case err == nil:
		w.count("sent")
		w.complete(ctx, row, storage.MessageResult{State: storage.MessageSent, ProviderID: res.ProviderID,
			Status: res.Status, Segments: res.Segments, At: now})
	case errors.As(err, &se) && (se.Permanent || (row.Kind != storage.MessageAlert && row.Attempts >= maxAllClearTries)):
		w.count("failed")
		w.complete(ctx, row, storage.MessageResult{State: storage.MessageFailed, ErrorCode: se.Code, Status: "failed", At: now})
	case errors.As(err, &se):
		w.count("retry")
		w.complete(ctx, row, storage.MessageResult{State: storage.MessagePending, ErrorCode: se.Code,
			RetryAt: now.Add(backoff(row.Attempts, se.RetryAfter)), At: now})
	default:
		// Unknown outcome (timeout, connection lost): the provider may
		// have accepted it. The row stays sending, in doubt, until the
		// reconcile sweep asks the provider; resending blindly could send
		// it twice.
		w.count("in_doubt")
		d.log.Warn("message outcome unknown, will reconcile", "key", msg.Key, "err", err)
	}
}

func (w *worker) count(outcome string) {
	if w.d.cfg.Counted != nil {
		w.d.cfg.Counted(w.ch.Name(), outcome)
	}
}

func (w *worker) complete(ctx context.Context, row *storage.Message, res storage.MessageResult) {
	d := w.d
	if err := d.cfg.Store.CompleteMessage(ctx, row.Key(), res); err != nil {
		d.log.Error("record message outcome", "key", row.Key().String(), "err", err)
		return
	}
	if res.ProviderID != "" {
		early, err := d.early.Take(ctx, earlyKey(row.Channel, res.ProviderID))
		if err != nil {
			d.log.Warn("read early status callbacks", "provider_id", res.ProviderID, "err", err)
		}
		for _, u := range early {
			if err := d.cfg.Store.UpdateMessageStatus(ctx, row.Channel, res.ProviderID, u); err != nil {
				d.log.Error("apply early status callback", "channel", row.Channel, "provider_id", res.ProviderID, "err", err)
			}
		}
	}
	d.changed(row.Ref)
}

func (d *Dispatcher) changed(ref storage.Ref) {
	if d.cfg.Changed != nil {
		d.cfg.Changed(ref)
	}
}

// reconcile resolves rows left claimed or sending by claimer ("" anyone)
// before the given time. A claimed row never reached the provider: it is
// queued again as it is. A sending one is in doubt: found at the provider,
// it is recorded as sent; not found, it is queued again. Without a channel
// that can look up, it is queued again (the log sender has nothing to
// duplicate). A row queued again about an alert cancelled meanwhile is
// cancelled when next claimed, and its all-clear with it.
func (w *worker) reconcile(ctx context.Context, claimer string, before time.Time) {
	d := w.d
	rows, err := d.cfg.Store.ClaimedMessages(ctx, w.ch.Name(), claimer, before)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("list in-doubt messages", "channel", w.ch.Name(), "err", err)
		}
		return
	}
	rec, canLookup := w.ch.(Reconciler)
	cache := map[storage.Ref]*Item{}
	for i := range rows {
		row := &rows[i]
		now := d.now()
		if canLookup && row.State == storage.MessageSending {
			if row.Phone == "" || row.Lang == "" {
				if m, err := d.cfg.Store.GetMember(ctx, row.MemberID); err == nil {
					row.Phone, row.Lang = m.Phone, m.Lang
				}
			}
			it, err := w.item(ctx, row, cache)
			if err != nil {
				d.log.Warn("reconcile: subject lookup failed; will retry", "key", row.Key().String(), "err", err)
				continue
			}
			// The body tells this row's message apart from another to the
			// same phone in the window (the alert SMS vs the all-clear).
			msg := w.ch.Compose(it)
			res, found, err := rec.Lookup(ctx, msg, row.ClaimedAt.Add(-time.Minute))
			if err != nil {
				d.log.Warn("reconcile lookup failed; will retry", "key", msg.Key, "err", err)
				continue
			}
			if found {
				w.complete(ctx, row, storage.MessageResult{State: storage.MessageSent, ProviderID: res.ProviderID,
					Status: res.Status, Segments: res.Segments, At: now})
				continue
			}
		}
		w.complete(ctx, row, storage.MessageResult{State: storage.MessagePending, RetryAt: now, At: now})
	}
	if len(rows) > 0 {
		d.log.Info("reconciled in-doubt messages", "channel", w.ch.Name(), "count", len(rows))
		w.wake()
	}
}

// backoff is the wait before retry attempts+1: the provider's hint when it
// gave one, else exponential with jitter.
func backoff(attempts int, hint time.Duration) time.Duration {
	if hint > 0 {
		return hint
	}
	d := time.Second << min(attempts, 9)              // 1 s .. ~8.5 min
	return d/2 + time.Duration(rand.Int64N(int64(d))) // jitter: 0.5x..1.5x
}

// ApplyStatus records a provider's status report on the channel's message
// with this provider id. A report for an id not recorded yet (the provider
// can call back before the send's answer was stored: a fast "sent" or
// "delivered") is kept for a few minutes and applied when it is; ApplyStatus
// then returns nil. Any other error is the store's.
func (d *Dispatcher) ApplyStatus(ctx context.Context, channel, providerID string, u storage.StatusUpdate) error {
	err := d.cfg.Store.UpdateMessageStatus(ctx, channel, providerID, u)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		key := earlyKey(channel, providerID)
		if err := d.early.Put(ctx, key, u); err != nil {
			return err
		}
		// The sender may have recorded the id (and taken the early
		// reports) between the update above and the put: try once more,
		// and if it is there now, apply what was put.
		if err := d.cfg.Store.UpdateMessageStatus(ctx, channel, providerID, u); err == nil {
			_, _ = d.early.Take(ctx, key)
			d.changed(storage.Ref{})
		}
		return nil
	case err != nil:
		return err
	}
	d.changed(storage.Ref{})
	return nil
}

func earlyKey(channel, providerID string) string { return channel + "/" + providerID }

// EarlyStore keeps status reports that arrived before their message's
// provider id was recorded, for earlyStatusTTL, until the node that sent
// the message takes them. One node keeps them in memory (earlyStatuses);
// a cluster keeps them in Redis (RedisEarly), since the provider may call
// any node.
type EarlyStore interface {
	Put(ctx context.Context, key string, u storage.StatusUpdate) error
	Take(ctx context.Context, key string) ([]storage.StatusUpdate, error)
}

// earlyStatuses is the EarlyStore of one node: status reports are
// progress, not alerts, so memory is enough.
type earlyStatuses struct {
	mu    sync.Mutex // guards m and swept
	m     map[string][]storage.StatusUpdate
	swept time.Time // when stale entries were last dropped
}

const earlyStatusTTL = 10 * time.Minute

// Put keeps u under key.
func (e *earlyStatuses) Put(_ context.Context, key string, u storage.StatusUpdate) error {
	e.put(key, u)
	return nil
}

// Take returns and forgets the reports kept under key.
func (e *earlyStatuses) Take(_ context.Context, key string) ([]storage.StatusUpdate, error) {
	return e.take(key), nil
}

func (e *earlyStatuses) put(key string, u storage.StatusUpdate) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = make(map[string][]storage.StatusUpdate)
	}
	// Drop stale entries now and then, not on every put: a burst of SMS
	// can bring thousands of early callbacks.
	if u.At.Sub(e.swept) > earlyStatusTTL/10 {
		for k, v := range e.m {
			if u.At.Sub(v[0].At) > earlyStatusTTL {
				delete(e.m, k)
			}
		}
		e.swept = u.At
	}
	e.m[key] = append(e.m[key], u)
}

func (e *earlyStatuses) take(key string) []storage.StatusUpdate {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.m[key]
	delete(e.m, key)
	return v
}
