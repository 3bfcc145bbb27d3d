// Package server is the composition root of a node: it wires the store,
// the real-time core (hub.Node), the policy, the scheduler, the services,
// the SMS dispatcher and the API, and mounts the web pages beside the API
// on one mux.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longyou/hub/api"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/internal/pii"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/schedule"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/service/board"
	"github.com/longyou/hub/service/bulletins"
	"github.com/longyou/hub/service/credit"
	"github.com/longyou/hub/service/invites"
	"github.com/longyou/hub/service/letters"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/service/patrol"
	"github.com/longyou/hub/service/replies"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/sqlite"
	"github.com/longyou/hub/web"
	"github.com/longyou/hub/web/basemap"
)

// Store is everything a node needs of its store: the union of what each
// part declares. storage/sqlite.Store and storage/postgres.Store satisfy it.
type Store interface {
	hub.Store
	alerting.Store
	reports.Store
	bulletins.Store
	members.Store
	travel.Store
	outboxStore
	privacyStore
	replies.Store
	invites.Store
	letters.Store
	board.Store
	credit.Store
	patrol.Store
	api.Pinger
	api.AuditStore    // v1.6 audit trail
	api.TemplateStore // v1.6 alert templates
	storage.Settings  // v1.6 the stored policy (policy.go)
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)

// Config configures a node. The zero value of each optional field picks the
// default its comment names.
type Config struct {
	Store  Store         // required; the caller closes it after Shutdown
	Broker hub.Broker    // nil: in-process MemoryBroker (one node)
	Sender notify.Sender // nil: notify.LogSender on Logger (numbers masked, text at DEBUG)
	// Logger is where the node logs; phone numbers are masked in every
	// line (internal/pii). Nil: slog.Default().
	Logger *slog.Logger
	// Clock returns the current time; nil means time.Now. Tests inject one
	// for expiry and TTL logic. The services read the policy with it and
	// the scheduler runs on it.
	Clock func() time.Time
	// Policy is the rule set every service reads (report kinds and time
	// limits, the report state machine, bulletin categories, alert kinds,
	// severities and expiry limits, rate limits). It must pass
	// policy.Policy.Validate. Nil means policy.Default().
	Policy *policy.Policy
	// PublicURL is where people reach the hub (links in SMS, the URL
	// Twilio signs its callbacks for). Empty means http://localhost.
	PublicURL string
	// CAP is how the node signs its CAP 1.2 export and whether its Atom
	// feed is public (-cap-sender, -cap-sender-name, -public-feed).
	CAP api.CAPConfig
	// CAPFeeds are the -cap-feed feeds polled every CAPFeedEvery (default
	// a minute) with CAPFeedClient (default a 20 s timeout) (v1.6,
	// capfeed.go).
	CAPFeeds      []api.CAPFeed
	CAPFeedEvery  time.Duration
	CAPFeedClient *http.Client
	// OriginPatterns are extra browser origins allowed to open a WebSocket;
	// the hub's own host is always allowed, requests without Origin
	// (native clients) too.
	OriginPatterns []string
	// NodeID names this node in the SMS outbox claims. Empty means the
	// hostname.
	NodeID string
	// SMSRate is SMS per second through one sender number. Zero means 1.
	SMSRate float64
	// Voice places alert calls (voice.go). Nil: when Sender is Twilio,
	// calls through the same account from VoiceFrom; else (or when Twilio
	// has no caller number) notify.LogCaller on Logger.
	Voice notify.Sender
	// VoiceFrom is the calls' caller number. Empty means Twilio's SMS
	// sender number.
	VoiceFrom string
	// VoiceRate is calls per second. Zero means 1.
	VoiceRate float64
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
	// Registry receives the node's metrics. Nil means a new registry,
	// served on /metrics.
	Registry *prometheus.Registry
	// Redis, when set, makes this node one of a cluster: one URL (a single
	// Redis, or any master of a Redis Cluster) or a comma-separated list
	// of cluster seeds. Empty: one node, in-process fan-out. Broker, when
	// set, wins (tests).
	Redis string
	// RedisPrefix starts every Redis key and channel. Empty: "hub:".
	RedisPrefix string
	// Map is the basemap GET /api/v1/map shows and /tiles serves. Nil: no
	// basemap. The caller closes it after Shutdown.
	Map *basemap.Map
	// HasNetwork tells GET /api/v1/map whether a travel network is loaded
	// (the pages then offer its layer). Nil: whether the node's travel
	// service has one now.
	HasNetwork func() bool
	// StaffTokenTTL is how long the tokens of cadres, commanders and
	// admins last. Zero means 90 days; negative means they do not expire.
	StaffTokenTTL time.Duration
	// TokenCheckInterval is how often the node checks its WebSockets'
	// tokens (a revoked or expired token's connections are closed) and
	// records tokens' last use. Zero means 3 seconds.
	TokenCheckInterval time.Duration
	// Privacy bounds uploads and says how long personal data is kept
	// (privacy.go); the zero value is the defaults.
	Privacy PrivacyConfig
	// MaxConnsPerMember bounds a member's WebSockets on this node (a new
	// one closes the oldest). Zero means 5; negative: no bound.
	MaxConnsPerMember int
	// LinkSecret signs invitation links, login codes and SMS answer links
	// (HMAC-SHA256); at least 32 characters. Empty: a random key made once
	// and kept in the store (shared by every node on one database).
	LinkSecret string
	// InviteTTL is how long an invitation link works. Zero means 7 days.
	InviteTTL time.Duration
	// MaxConnsPerAddr bounds the WebSockets from one source address on
	// this node (more are refused with 429). Zero means 2,000; negative: no
	// bound.
	MaxConnsPerAddr int
	// OnDeedConfirmed, when set, is called after a good deed's
	// confirmation committed (service/board Config.OnDeedConfirmed; the
	// credit points hook here). Nil: nothing is called.
	OnDeedConfirmed func(ctx context.Context, d storage.Deed)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = pii.Logger(c.Logger)
	if c.Sender == nil {
		c.Sender = &notify.LogSender{Logger: c.Logger}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Policy == nil {
		p := policy.Default()
		c.Policy = &p
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
	if c.VoiceRate <= 0 {
		c.VoiceRate = 1
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
}

// Server is one assembled node.
type Server struct {
	cfg       Config
	node      *hub.Node
	alerting  *alerting.Service
	reports   *reports.Service
	board     *board.Service // the village board (v1.6)
	bulletins *bulletins.Service
	members   *members.Service
	travel    *travel.Service
	invites   *invites.Service
	letters   *letters.Service // the villager mailbox (v1.6)
	credit    *credit.Service  // inspections, boards, credit points (v1.6)
	sms       *outbox
	replies   *replies.Service // SMS replies and call keys (voice.go)
	patrol    *patrol.Service  // rounds, visits, tallies (v1.6)
	api       *api.API
	// sched runs timed jobs (reports' due times) on cfg.Clock. It is not
	// durable: the store is the source of truth, and the services schedule
	// again from it on start.
	sched   *schedule.Scheduler
	handler http.Handler
	// retention clears personal data past its time (privacy.go).
	retention *retention
	capFeeds  *capFeeds // v1.6 (capfeed.go)

	bg   sync.WaitGroup
	stop context.CancelFunc
}

// New loads the directory and the active alerts from the store and starts
// the node's background loops.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("server: Config.Store is required")
	}
	cfg.setDefaults()
	cfg.setVoice()
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	// The rules in force: the configured ones, or those an admin stored
	// (PUT /api/v1/policy, policy.go).
	policy.MakeLive(cfg.Policy)
	rules := &policyKeeper{pol: cfg.Policy, store: cfg.Store, log: cfg.Logger}
	if err := rules.load(ctx); err != nil {
		return nil, fmt.Errorf("server: read the stored policy: %w", err)
	}
	if err := cfg.Privacy.setDefaults(cfg.LiveTTL); err != nil {
		return nil, err
	}
	m := metrics.New(cfg.Registry)
	var presence hub.Presence
	var rb *hub.RedisBroker
	if cfg.Broker == nil && cfg.Redis != "" {
		var err error
		rb, err = hub.NewRedisBroker(ctx, hub.RedisConfig{URL: cfg.Redis, Prefix: cfg.RedisPrefix,
			NodeID: cfg.NodeID, Logger: cfg.Logger, Metrics: m})
		if err != nil {
			return nil, err
		}
		cfg.Broker, presence = rb, rb.Presence()
		cfg.Logger.Info("cluster fan-out through Redis", "redis_cluster", rb.Cluster(), "prefix", cfg.RedisPrefix, "node", cfg.NodeID)
	}
	hc := hub.Config{
		Store: cfg.Store, Broker: cfg.Broker, Presence: presence, Logger: cfg.Logger, Clock: cfg.Clock,
		OriginPatterns: cfg.OriginPatterns, SendQueueLen: cfg.SendQueueLen, SendQueueBytes: cfg.SendQueueBytes,
		WriteTimeout: cfg.WriteTimeout, PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout,
		LiveTTL: cfg.LiveTTL, Metrics: m,
	}
	floodLimits(&cfg, &hc)
	node, err := hub.New(ctx, hc)
	if err != nil {
		return nil, err
	}
	// The clock is a function that tests move ahead (FuncClock): they call
	// Scheduler.Wake after a jump, else the scheduler notices within its
	// MaxWait (a minute).
	s := &Server{cfg: cfg, node: node,
		sched: schedule.New(schedule.FuncClock(cfg.Clock), schedule.Config{Logger: cfg.Logger})}
	key, err := invites.LoadKey(ctx, cfg.Store, cfg.LinkSecret)
	if err != nil {
		return nil, fmt.Errorf("server: the link key: %w", err)
	}
	links, err := invites.NewLinks(key)
	if err != nil {
		return nil, fmt.Errorf("server: the link key: %w", err)
	}
	if s.sms, err = newOutbox(&cfg, m, rb, links); err != nil {
		return nil, err
	}
	// The travel network before the active alerts: their reach compiles on it.
	s.travel = travel.New(travel.Config{Store: cfg.Store, Logger: cfg.Logger, Clock: cfg.Clock, Registry: cfg.Registry})
	if err := s.travel.Start(ctx); err != nil {
		return nil, fmt.Errorf("server: load the travel network: %w", err)
	}
	s.alerting, err = alerting.New(ctx, alerting.Config{Store: cfg.Store, Node: node, SMS: s.sms, Logger: cfg.Logger,
		Policy: cfg.Policy, Travel: s.travel, Rates: map[string]float64{storage.ChannelSMS: cfg.SMSRate, storage.ChannelVoice: cfg.VoiceRate}})
	if err != nil {
		return nil, err
	}
	s.sms.alerting = s.alerting
	s.replies = newReplies(&cfg, s)
	s.board = board.New(board.Config{Store: cfg.Store, Node: node, Logger: cfg.Logger, Places: s.travel.Place,
		OnDeedConfirmed: func(ctx context.Context, d storage.Deed) {
			// A confirmed good deed earns its household the policy's
			// good_deed points, once (keyed by the deed).
			if d.HouseholdID != "" && s.credit != nil {
				if _, _, err := s.credit.Award(ctx, d.HouseholdID, "good_deed", "好人好事："+d.Title, d.DecidedBy,
					"deed:"+d.ID); err != nil {
					cfg.Logger.WarnContext(ctx, "good deed points not awarded", "deed", d.ID, "household", d.HouseholdID, "err", err)
				}
			}
			if cfg.OnDeedConfirmed != nil {
				cfg.OnDeedConfirmed(ctx, d)
			}
		}})
	s.reports = reports.New(reports.Config{Store: cfg.Store, Node: node, Logger: cfg.Logger, Policy: cfg.Policy,
		Scheduler: s.sched, Places: s.travel.Place, Wake: s.sms.Wake, Board: s.board.ReportEvent,
		Staff: func(ctx context.Context, villageID, level string) ([]string, error) {
			return s.members.StaffAt(ctx, villageID, level) // set below, before any report is made
		}})
	s.sms.reports, s.sms.publicURL = s.reports, cfg.PublicURL
	s.bulletins = bulletins.New(bulletins.Config{Store: cfg.Store, Node: node, Logger: cfg.Logger, Policy: cfg.Policy})
	s.patrol = patrol.New(patrol.Config{Store: cfg.Store, Clock: node.Now, Policy: cfg.Policy, Logger: cfg.Logger,
		Publish: func(ctx context.Context, ev *storage.Event) { node.PublishEvent(ctx, ev, hub.AddressedAudience(ev)) },
		Staff: func(ctx context.Context, villageID string) ([]string, error) {
			return s.members.StaffAt(ctx, villageID, members.LevelVillage)
		},
		Role: func(id string) (storage.Role, bool) {
			role, _, ok := node.Directory().Member(id)
			return role, ok
		},
		// The tallies' report figures are the report service's (issue 16
		// part 1: on time, overdue, solved in the village, median time to
		// resolve).
		ReportFigures: func(ctx context.Context, from, to time.Time, villageIDs []string) (map[string]patrol.ReportFigures, error) {
			figs, err := s.reports.Figures(ctx, from, to, villageIDs)
			if err != nil {
				return nil, err
			}
			out := make(map[string]patrol.ReportFigures, len(figs))
			for v, f := range figs {
				pf := patrol.ReportFigures{OnTime: f.OnTime, Overdue: f.Overdue, SolvedInVillage: f.SolvedInVillage}
				if f.MedianResolveS != nil {
					pf.MedianResolveS = float64(*f.MedianResolveS)
				}
				out[v] = pf
			}
			return out, nil
		}})
	s.members = members.New(members.Config{Store: cfg.Store, Node: node, Logger: cfg.Logger, Moved: s.alerting.MemberMoved,
		Policy: cfg.Policy, StaffTokenTTL: cfg.StaffTokenTTL, TokenCheckInterval: cfg.TokenCheckInterval,
		Media: cfg.Privacy.mediaLimits(), Located: s.patrol.Located})
	s.invites = invites.New(invites.Config{Store: cfg.Store, Links: links, Alerting: s.alerting, Wake: s.sms.Wake,
		Clock: cfg.Clock, Logger: cfg.Logger, PublicURL: cfg.PublicURL, InviteTTL: cfg.InviteTTL,
		StaffTokenTTL: s.members.StaffTokenTTL()})
	s.sms.invites = s.invites
	s.letters = letters.New(letters.Config{Store: cfg.Store, Node: node, Logger: cfg.Logger, Policy: cfg.Policy,
		Scheduler: s.sched, Staff: s.members.StaffAt, Wake: s.sms.Wake})
	s.sms.letters = s.letters
	s.credit = credit.New(credit.Config{Store: cfg.Store, Node: node, Logger: cfg.Logger, Policy: cfg.Policy})
	s.api = api.New(api.Config{Node: node, Store: cfg.Store, Members: s.members, Alerting: s.alerting,
		Reports: s.reports, Bulletins: s.bulletins, Travel: s.travel, Invites: s.invites, Logger: cfg.Logger,
		PublicURL: cfg.PublicURL, CAP: cfg.CAP, Letters: s.letters, Board: s.board, Credit: s.credit,
		Patrol: s.patrol,
		Audit:  cfg.Store, Templates: cfg.Store, // v1.6 audit trail and templates
		Policy: rules})
	node.SetHooks(hub.Hooks{Commands: s.api.Commands(), Joined: s.alerting.MemberMoved, Delivered: s.alerting.Delivered,
		Audience: eventAudience, Streamed: s.alerting.Streamed})

	mux := http.NewServeMux()
	s.api.Register(mux)
	mux.Handle("POST "+webhookPath, s.api.Instrument("twilio_status", s.sms.webhook(&cfg, s.api, m)))
	s.mountVoice(mux, m)
	s.mountMap(mux)
	// The pages (command center and member page) speak only the API.
	pages := web.Handler()
	mux.Handle("GET /{$}", pages)
	mux.Handle("GET /m", pages)
	mux.Handle("GET /a/{code}", pages)
	mux.Handle("GET /assets/", pages)
	s.handler = mux

	// The open reports' due times, from the store (the source of truth).
	if err := s.reports.Start(ctx); err != nil {
		return nil, fmt.Errorf("server: schedule open reports: %w", err)
	}
	// The open letters' time limits, likewise.
	if err := s.letters.Start(ctx); err != nil {
		return nil, fmt.Errorf("server: schedule open letters: %w", err)
	}
	s.alerting.Start()
	s.retention = newRetention(s)
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.bg.Go(func() { s.sms.d.Run(bg) })
	s.bg.Go(func() { _ = s.sched.Run(bg) })
	s.bg.Go(func() { s.travel.Run(bg) })
	s.bg.Go(func() { s.members.RunTokens(bg) })
	s.bg.Go(func() { s.retention.run(bg) })
	s.bg.Go(func() { s.invites.Run(bg) })
	s.bg.Go(func() { rules.watch(bg) })
	s.capFeeds = newCAPFeeds(s, &cfg)
	s.bg.Go(func() { s.capFeeds.run(bg) })
	return s, nil
}

// Handler serves the API, the WebSocket, the webhooks, the ops endpoints
// and the web pages.
func (s *Server) Handler() http.Handler { return s.handler }

// Travel is the travel-network service (cmd/hubd seeds the demo network
// with it).
func (s *Server) Travel() *travel.Service { return s.travel }

// Members is the member service (cmd/hubd seeds the demo county with it).
func (s *Server) Members() *members.Service { return s.members }

// EnsureAdmin makes sure an admin can sign in (members.Service.EnsureAdmin).
func (s *Server) EnsureAdmin(ctx context.Context, token string) (string, error) {
	return s.members.EnsureAdmin(ctx, token)
}

// Shutdown stops accepting WebSockets, flushes and closes every connection
// (hub.Node.Shutdown), then stops the scheduler (pending jobs are dropped:
// the store keeps the due times) and the services' loops after they stored
// what they accepted, then releases the broker. The caller closes the
// store afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.node.Shutdown(ctx)
	s.stop()
	_ = s.sched.Close() // waits for a running job: it may read the store
	s.alerting.Stop()
	s.bg.Wait()
	_ = s.node.Close()
	return err
}

// eventAudience is who a stored event is for, by its type: each service
// says it for its own events (a node catching up from the store).
func eventAudience(ev *storage.Event) hub.Audience {
	if ev.Addressed() {
		return hub.AddressedAudience(ev)
	}
	switch ev.Type {
	case storage.EventAlert, storage.EventAlertCancel, storage.EventAlertUpdate:
		return alerting.EventAudience(ev)
	case storage.EventBulletin:
		return bulletins.EventAudience(ev)
	case storage.EventReport:
		return reports.EventAudience(ev)
	}
	return hub.Audience{}
}
