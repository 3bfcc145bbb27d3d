// Package hub is the real-time emergency mobilization hub: WebSocket
// connections and their protocol, fan-out, the HTTP API, and the alert,
// report and bulletin services on top of a storage.Store.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

// Config configures a Hub. The zero value of each optional field picks the
// default its comment names.
type Config struct {
	Store  storage.Store // required
	Broker Broker        // nil: in-process MemoryBroker (one node)
	Sender notify.Sender // nil: notify.LogSender on Logger
	Logger *slog.Logger  // nil: slog.Default()
	// Clock returns the current time; nil means time.Now. Tests inject one
	// for expiry and TTL logic.
	Clock func() time.Time
	// PublicURL is where people reach the hub (links in SMS). Empty means
	// http://localhost.
	PublicURL string
	// OriginPatterns are extra browser origins allowed to open a WebSocket;
	// the hub's own host is always allowed, requests without Origin
	// (native clients) too.
	OriginPatterns []string
	// NodeID names this node in the SMS outbox claims. Empty means the
	// hostname.
	NodeID string
	// SMSRate is SMS per second through one sender number. Zero means 1.
	SMSRate float64
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
	// Registerer receives the hub's metrics. Nil means a new registry,
	// served on /metrics.
	Registry *prometheus.Registry
}

func (c *Config) setDefaults() {
	if c.Broker == nil {
		c.Broker = &MemoryBroker{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Sender == nil {
		c.Sender = &notify.LogSender{Logger: c.Logger}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost"
	}
	if c.NodeID == "" {
		c.NodeID, _ = os.Hostname()
	}
	if c.SMSRate <= 0 {
		c.SMSRate = 1
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
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// Hub is one node of the mobilization hub.
type Hub struct {
	cfg     Config
	store   storage.Store
	broker  Broker
	log     *slog.Logger
	metrics *metrics
	dir     *directory
	conns   *registry
	alerts  *activeAlerts

	acks       *ackBatcher
	deliveries *deliveryRecorder
	progress   *progressPusher
	sms        *notify.Dispatcher // the outbox (SMS)
	webhook    http.Handler       // Twilio's status callbacks
	limits     *limiter

	shuttingDown atomic.Bool
	bg           sync.WaitGroup // background loops
	stop         context.CancelFunc
	wsWG         sync.WaitGroup // WebSocket handlers
}

// New loads the member directory and the active alerts from the store,
// subscribes to the broker and starts the background loops.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	if cfg.Store == nil {
		return nil, errors.New("hub: Config.Store is required")
	}
	cfg.setDefaults()
	h := &Hub{
		cfg:    cfg,
		store:  cfg.Store,
		broker: cfg.Broker,
		log:    cfg.Logger,
		dir:    newDirectory(cfg.LiveTTL),
		conns:  newRegistry(),
		alerts: newActiveAlerts(),
		limits: newLimiter(),
	}
	h.metrics = newMetrics(cfg.Registry, h)
	sms, err := newDispatcher(h)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	h.sms = sms
	h.webhook = newWebhook(h) // after h.sms: its sink
	if err := h.loadDirectory(ctx); err != nil {
		return nil, err
	}
	if err := h.loadActiveAlerts(ctx); err != nil {
		return nil, err
	}
	if err := h.broker.Subscribe(ctx, h.deliverLocal); err != nil {
		return nil, fmt.Errorf("hub: subscribe to broker: %w", err)
	}
	bg, stop := context.WithCancel(context.Background())
	h.stop = stop
	h.acks = newAckBatcher(h)
	h.deliveries = newDeliveryRecorder(h)
	h.progress = newProgressPusher(h)
	for _, loop := range []func(context.Context){h.acks.run, h.deliveries.run, h.progress.run, h.sms.Run, h.housekeeping} {
		h.bg.Go(func() { loop(bg) })
	}
	return h, nil
}

func (h *Hub) now() time.Time { return h.cfg.Clock().UTC() }

func (h *Hub) loadDirectory(ctx context.Context) error {
	now := h.now()
	after := ""
	for {
		ms, err := h.store.ListMembers(ctx, after, 5000)
		if err != nil {
			return fmt.Errorf("hub: load members: %w", err)
		}
		for i := range ms {
			h.dir.add(&ms[i], now)
		}
		if len(ms) < 5000 {
			break
		}
		after = ms[len(ms)-1].ID
	}
	h.log.Info("member directory loaded", "members", h.dir.len())
	return nil
}

// housekeeping expires live positions and active alerts, and is the write
// watchdog: a connection whose current write has taken longer than
// WriteTimeout is closed.
func (h *Hub) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wall := time.Now()
		h.conns.each(func(c *conn) {
			if c.writeStuck(wall) {
				h.metrics.drops.WithLabelValues("write_timeout").Inc()
				c.cancel() // ends the blocked write and closes the socket
			}
		})
		if n%15 == 0 {
			now := h.now()
			h.dir.expire(now)
			h.alerts.prune(now)
		}
	}
}

// Shutdown stops accepting WebSockets, flushes each connection's queue and
// closes it with 1001 (in batches with jitter, so clients do not all
// reconnect at once), then stops the background loops after they have
// written what they accepted. The caller closes the store afterwards.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.shuttingDown.Store(true)
	var list []*conn
	h.conns.each(func(c *conn) { list = append(list, c) })
	const batch = 500
	for i := 0; i < len(list); i += batch {
		for _, c := range list[i:min(i+batch, len(list))] {
			c.goAway()
		}
		if i+batch < len(list) {
			select {
			case <-time.After(time.Duration(5+randIntn(20)) * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}
	done := make(chan struct{})
	go func() { h.wsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		h.conns.each(func(c *conn) { _ = c.ws.CloseNow(); c.cancel() })
		<-done
	}
	h.stop()
	h.bg.Wait()
	if c, ok := h.broker.(Closer); ok {
		_ = c.Close()
	}
	return ctx.Err()
}

// Handler is the hub's HTTP handler: the API, the WebSocket and the ops
// endpoints.
func (h *Hub) Handler() http.Handler { return h.routes() }
