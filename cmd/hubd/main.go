// Command hubd runs the emergency mobilization hub (docs/API.md "Starting the
// server"). With no flags it runs on the embedded default: one node, the
// embedded SQLite store in ./hubdata, in-process fan-out, SMS to the log.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/longyou/hub/api"
	"github.com/longyou/hub/internal/flagenv"
	"github.com/longyou/hub/internal/pii"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/server"
	"github.com/longyou/hub/service/invites"
	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
	"github.com/longyou/hub/storage/postgres"
	"github.com/longyou/hub/storage/sqlite"
	"github.com/longyou/hub/web/basemap"
)

// config is every setting, each a flag with an environment twin.
type config struct {
	addr, data, postgresURL, redisURL, adminToken    string
	redisPrefix                                      string
	twilioSID, twilioToken, twilioFrom, twilioMsgSvc string
	twilioAPIURL, publicURL, nodeID, logLevel        string
	origins                                          string
	mapTiles, mapKey, mapCRS, mapMBTiles, mapAttrib  string
	capSender, capSenderName                         string
	capFeeds                                         []api.CAPFeed // v1.6: -cap-feed, repeatable
	capFeedEvery                                     time.Duration
	publicFeed                                       bool
	smsRate                                          float64
	demo                                             bool
	// staffTokenTTL: how long staff tokens last; negative: forever
	// (server.Config.StaffTokenTTL).
	staffTokenTTL time.Duration
	privacy       server.PrivacyConfig
	// maxConnsPerMember, maxConnsPerIP: 0 is off (server.Config: negative).
	maxConnsPerMember, maxConnsPerIP int
	// voiceRate, twilioVoiceFrom: alert calls (issue 12).
	voiceRate       float64
	twilioVoiceFrom string
	// linkSecret signs invitation links, login codes and answer links;
	// inviteTTL is how long an invitation link works.
	linkSecret string
	inviteTTL  time.Duration
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubd:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hubd:", err)
		os.Exit(1)
	}
}

func parseConfig(args []string, getenv func(string) string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("hubd", flag.ContinueOnError)
	str := func(p *string, name, env, def, usage string) {
		flagenv.String(fs, getenv, p, name, env, def, usage)
	}
	str(&c.addr, "addr", "HUB_ADDR", "127.0.0.1:8080", "listen address")
	str(&c.data, "data", "HUB_DATA", "./hubdata", "folder of the embedded store (used without -postgres)")
	str(&c.postgresURL, "postgres", "HUB_POSTGRES_URL", "", "PostgreSQL URL; when set it is the store")
	str(&c.redisURL, "redis", "HUB_REDIS_URL", "", "Redis URL (or comma-separated Redis Cluster seeds): this node joins a cluster of nodes on one PostgreSQL")
	str(&c.redisPrefix, "redis-prefix", "HUB_REDIS_PREFIX", "hub:", "prefix of every Redis key and channel (deployments sharing one Redis use different ones)")
	str(&c.adminToken, "admin-token", "HUB_ADMIN_TOKEN", "", "bootstrap token with the admin role")
	str(&c.twilioSID, "twilio-account-sid", "TWILIO_ACCOUNT_SID", "", "Twilio account SID")
	str(&c.twilioToken, "twilio-auth-token", "TWILIO_AUTH_TOKEN", "", "Twilio auth token")
	str(&c.twilioFrom, "twilio-from", "TWILIO_FROM", "", "Twilio sender number")
	str(&c.twilioMsgSvc, "twilio-messaging-service-sid", "TWILIO_MESSAGING_SERVICE_SID", "", "Twilio messaging service SID")
	str(&c.twilioAPIURL, "twilio-api-url", "TWILIO_API_URL", "https://api.twilio.com", "where the Twilio client sends requests")
	str(&c.publicURL, "public-url", "HUB_PUBLIC_URL", "", "address people and Twilio reach the hub at (default http://<addr>)")
	str(&c.nodeID, "node-id", "HUB_NODE_ID", "", "name of this node (default: hostname)")
	str(&c.logLevel, "log-level", "HUB_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.origins, "origins", "HUB_ORIGINS", "", "comma-separated extra browser origins allowed to open WebSockets")
	str(&c.mapTiles, "map-tiles", "HUB_MAP_TILES", "", "basemap: osm, tianditu, tianditu-img, amap, or an XYZ URL template with {z}, {x}, {y}")
	str(&c.mapKey, "map-tiles-key", "HUB_MAP_TILES_KEY", "", "the Tianditu key (tk) of the tianditu presets")
	str(&c.mapCRS, "map-crs", "HUB_MAP_CRS", "wgs84", "coordinate system of an XYZ URL's or MBTiles file's tiles: wgs84 or gcj02")
	str(&c.mapMBTiles, "map-mbtiles", "HUB_MAP_MBTILES", "", "a raster MBTiles file served by hubd as the basemap (wins over -map-tiles)")
	str(&c.mapAttrib, "map-attribution", "HUB_MAP_ATTRIBUTION", "", "attribution line of an XYZ URL or MBTiles basemap")
	rate := "1"
	str(&rate, "sms-rate", "HUB_SMS_RATE", rate, "SMS per second through one sender number")
	voiceRate := "1"
	str(&voiceRate, "voice-rate", "HUB_VOICE_RATE", voiceRate, "alert calls per second (the whole cluster's)")
	str(&c.twilioVoiceFrom, "twilio-voice-from", "TWILIO_VOICE_FROM", "", "caller number of alert calls (default: -twilio-from)")
	ttl := "2160h"
	str(&ttl, "staff-token-ttl", "HUB_STAFF_TOKEN_TTL", ttl, "how long the tokens of cadres, commanders and admins last (90d, 2160h; 0: forever)")
	str(&c.linkSecret, "link-secret", "HUB_LINK_SECRET", "", "key (32+ characters) that signs invitation links, login codes and SMS answer links (default: a random key kept in the store)")
	inviteTTL := "168h"
	str(&inviteTTL, "invite-ttl", "HUB_INVITE_TTL", inviteTTL, "how long an invitation link works (7d, 168h)")
	privacy := privacyFlags(fs, getenv)
	perMember, perIP := "5", "2000"
	str(&perMember, "max-conns-per-member", "HUB_MAX_CONNS_PER_MEMBER", perMember,
		"WebSockets of one member on this node; a new one beyond it closes the oldest (0: no bound)")
	str(&perIP, "max-conns-per-ip", "HUB_MAX_CONNS_PER_IP", perIP,
		"WebSockets from one IPv4 address or IPv6 /64 on this node; more are refused with 429 (0: no bound)")
	str(&c.capSender, "cap-sender", "HUB_CAP_SENDER", "", "<sender> of the hub's CAP messages: a name unique among agencies, no spaces or commas (default: the public URL's host)")
	str(&c.capSenderName, "cap-sender-name", "HUB_CAP_SENDER_NAME", "", "<senderName> of the hub's CAP messages (default 龙游县应急指挥中心)")
	publicFeed := getenv("HUB_PUBLIC_FEED") == "1" || getenv("HUB_PUBLIC_FEED") == "true"
	fs.BoolVar(&c.publicFeed, "public-feed", publicFeed, "anyone may read the Atom feed of active alerts and their CAP messages without a token (alerts for everyone only; env HUB_PUBLIC_FEED=1)")
	fs.Func("cap-feed", "poll an Atom or RSS feed of CAP alerts: \"URL [min=SEVERITY|min=none] [anywhere]\" (repeatable; default min=severe, inside the county): alerts that pass go out at once, the others wait for a commander", func(v string) error {
		f, err := api.ParseCAPFeed(v)
		if err == nil {
			c.capFeeds = append(c.capFeeds, f)
		}
		return err
	})
	// The environment twin of -cap-feed lists feeds separated by ";" or
	// newlines; -cap-feed on the command line adds to them.
	for _, v := range strings.FieldsFunc(getenv("HUB_CAP_FEED"), func(r rune) bool { return r == ';' || r == '\n' }) {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		f, err := api.ParseCAPFeed(v)
		if err != nil {
			return nil, fmt.Errorf("HUB_CAP_FEED: %w", err)
		}
		c.capFeeds = append(c.capFeeds, f)
	}
	feedEvery := time.Minute
	if v := getenv("HUB_CAP_FEED_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("HUB_CAP_FEED_EVERY: %w", err)
		}
		feedEvery = d
	}
	fs.DurationVar(&c.capFeedEvery, "cap-feed-every", feedEvery, "how often the -cap-feed feeds are read (env HUB_CAP_FEED_EVERY)")
	demo := getenv("HUB_DEMO") == "1" || getenv("HUB_DEMO") == "true"
	fs.BoolVar(&c.demo, "demo", demo, "seed a demo county around Longyou (env HUB_DEMO=1)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	r, err := strconv.ParseFloat(rate, 64)
	if err != nil || r <= 0 {
		return nil, fmt.Errorf("-sms-rate must be a positive number, got %q", rate)
	}
	c.smsRate = r
	if c.voiceRate, err = strconv.ParseFloat(voiceRate, 64); err != nil || c.voiceRate <= 0 {
		return nil, fmt.Errorf("-voice-rate must be a positive number, got %q", voiceRate)
	}
	if c.twilioVoiceFrom != "" && !notify.ValidE164(c.twilioVoiceFrom) {
		return nil, fmt.Errorf("-twilio-voice-from must be an E.164 number, got %q", c.twilioVoiceFrom)
	}
	if c.staffTokenTTL, err = parseTTL(ttl); err != nil {
		return nil, fmt.Errorf("-staff-token-ttl: %w", err)
	}
	if c.inviteTTL, err = parseTTL(inviteTTL); err != nil || c.inviteTTL <= 0 {
		return nil, fmt.Errorf("-invite-ttl must be a positive duration such as 7d or 168h, got %q", inviteTTL)
	}
	if c.linkSecret != "" && len(c.linkSecret) < invites.MinKeyLen {
		return nil, fmt.Errorf("-link-secret must be at least %d characters (it has %d); make one with: openssl rand -base64 32",
			invites.MinKeyLen, len(c.linkSecret))
	}
	if c.adminToken != "" && len(c.adminToken) < members.MinBootstrapToken {
		return nil, fmt.Errorf("-admin-token must be at least %d characters (it has %d); make one with: openssl rand -base64 32",
			members.MinBootstrapToken, len(c.adminToken))
	}
	if c.privacy, err = privacy(); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		name, val string
		p         *int
	}{{"-max-conns-per-member", perMember, &c.maxConnsPerMember}, {"-max-conns-per-ip", perIP, &c.maxConnsPerIP}} {
		n, err := strconv.Atoi(x.val)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s must be a whole number, 0 or more, got %q", x.name, x.val)
		}
		*x.p = n
		if n == 0 {
			*x.p = -1 // off
		}
	}
	if c.publicURL == "" {
		c.publicURL = "http://" + c.addr
	}
	if c.redisURL != "" && c.postgresURL == "" {
		return nil, errors.New("-redis needs -postgres: the nodes of a cluster share one PostgreSQL store; the embedded store serves one node only")
	}
	if c.nodeID == "" {
		c.nodeID, _ = os.Hostname()
		if c.redisURL != "" {
			// Several nodes may run on one host: the port tells them apart
			// (presence, outbox claims).
			if _, port, err := net.SplitHostPort(c.addr); err == nil {
				c.nodeID += ":" + port
			}
		}
	}
	return c, nil
}

func run(cfg *config) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	// pii: phone numbers are masked in every log line (+86138****0101).
	log := pii.Logger(slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	slog.SetDefault(log)

	sender, err := newSender(cfg, log)
	if err != nil {
		return err
	}

	bm, err := basemap.Open(basemap.Config{Tiles: cfg.mapTiles, Key: cfg.mapKey, CRS: cfg.mapCRS,
		MBTiles: cfg.mapMBTiles, Attribution: cfg.mapAttrib})
	if err != nil {
		return err
	}
	defer bm.Close()
	if info := bm.Info(); len(info.Layers) > 0 {
		log.Info("basemap", "tiles", cmp.Or(cfg.mapMBTiles, cfg.mapTiles), "layers", len(info.Layers), "crs", info.CRS)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()

	var origins []string
	for o := range strings.SplitSeq(cfg.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	h, err := server.New(ctx, server.Config{
		Store: store, Logger: log, Sender: sender, PublicURL: cfg.publicURL, NodeID: cfg.nodeID,
		SMSRate: cfg.smsRate, VoiceRate: cfg.voiceRate, VoiceFrom: cfg.twilioVoiceFrom, OriginPatterns: origins, Redis: cfg.redisURL, RedisPrefix: cfg.redisPrefix,
		Map:               bm,
		StaffTokenTTL:     cfg.staffTokenTTL,
		Privacy:           cfg.privacy,
		MaxConnsPerMember: cfg.maxConnsPerMember,
		MaxConnsPerAddr:   cfg.maxConnsPerIP,
		CAP:               api.CAPConfig{Sender: cfg.capSender, SenderName: cfg.capSenderName, PublicFeed: cfg.publicFeed},
		CAPFeeds:          cfg.capFeeds,
		CAPFeedEvery:      cfg.capFeedEvery,
		LinkSecret:        cfg.linkSecret,
		InviteTTL:         cfg.inviteTTL,
	})
	if err != nil {
		return err
	}
	if tok, err := h.EnsureAdmin(ctx, cfg.adminToken); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	} else if tok != "" {
		fmt.Printf("\nNo admin existed, so one was made. Its token is shown only this once:\n  admin token: %s\n\n", tok)
	}
	if cfg.demo {
		tokens := filepath.Join(cfg.data, demoTokenFile)
		if err := seedDemo(ctx, h.Members(), h.Travel(), store, cfg.publicURL, tokens, log, os.Stdout); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("hub listening", "addr", ln.Addr().String(), "public_url", cfg.publicURL)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// docs/API.md: stop accepting, close WebSockets with 1001, finish what was
	// accepted, exit 0 within 10 seconds.
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Shutdown(sctx) }()
	hubErr := h.Shutdown(sctx)
	if err := <-errc; err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if hubErr != nil {
		log.Warn("hub shutdown", "err", hubErr)
	}
	log.Info("stopped")
	return nil
}

// newSender picks Twilio when its settings are given, else the log: with
// masked numbers, and the text at INFO only in the demo (notify.LogSender).
func newSender(cfg *config, log *slog.Logger) (notify.Sender, error) {
	if cfg.twilioSID == "" && cfg.twilioToken == "" && cfg.twilioFrom == "" && cfg.twilioMsgSvc == "" {
		log.Info("SMS goes to the log (no Twilio settings)", "text_at_info", cfg.demo)
		return &notify.LogSender{Logger: log, ShowBody: cfg.demo}, nil
	}
	if cfg.twilioSID == "" || cfg.twilioToken == "" || (cfg.twilioFrom == "" && cfg.twilioMsgSvc == "") {
		return nil, errors.New("twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
	}
	t, err := notify.NewTwilio(notify.TwilioConfig{
		AccountSID: cfg.twilioSID, AuthToken: cfg.twilioToken, From: cfg.twilioFrom,
		MessagingServiceSID: cfg.twilioMsgSvc, APIURL: cfg.twilioAPIURL,
		StatusCallbackURL: strings.TrimRight(cfg.publicURL, "/") + notify.TwilioStatusPath,
		Logger:            log,
	})
	if err != nil {
		return nil, fmt.Errorf("twilio: %w", err)
	}
	log.Info("SMS goes through Twilio", "api_url", cfg.twilioAPIURL, "rate_per_s", cfg.smsRate)
	return t, nil
}

func openStore(ctx context.Context, cfg *config, log *slog.Logger) (storage.Store, error) {
	if cfg.postgresURL != "" {
		s, err := postgres.Open(ctx, cfg.postgresURL, log)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return s, nil
	}
	path := filepath.Join(cfg.data, "hub.db")
	s, err := sqlite.Open(ctx, path, log)
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	return s, nil
}

// parseTTL reads a duration as Go writes them (2160h, 90m) or in days
// (90d); 0 means forever (returned as -1, server.Config's "never").
func parseTTL(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, err
		}
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("%q is negative", s)
	case d == 0:
		return -1, nil
	case d < time.Minute:
		return 0, fmt.Errorf("%q is shorter than a minute", s)
	}
	return d, nil
}
