// Package travel is the travel-network service: the roads, rivers and
// bridges that turn docs/API.md's "N minutes' reach" into an isochrone
// (geo.Network), stored in versions, shared by every node, and the readable
// places (the nearest named road or hamlet) shown on reports.
//
// One network is current at a time. The node that accepts an upload parses
// it (the parse is the validation), stores it as a new version and swaps it
// in; the other nodes notice the new version on their next poll of the
// store's head (PollInterval) and load it. Everything else reads the
// current network through an atomic pointer, so a reach compiled during a
// swap uses one version or the other, never a mix.
package travel

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// PollInterval is how often a node checks the store for a network another
// node stored (docs/API.md: "other nodes within 5 seconds").
const PollInterval = 4 * time.Second

// HistoryLen is how many versions GET /api/v1/geo/network lists.
const HistoryLen = 20

// Store is what the service reads and writes.
type Store interface {
	PutNetwork(ctx context.Context, n *storage.Network) error
	CurrentNetwork(ctx context.Context) (storage.Network, error)
	NetworkHead(ctx context.Context) (storage.Network, error)
	ListNetworks(ctx context.Context, limit int) ([]storage.Network, error)
}

// Config configures the Service.
type Config struct {
	Store    Store // required
	Logger   *slog.Logger
	Clock    func() time.Time
	Registry prometheus.Registerer // nil: no metrics
	// Parse builds a network from its GeoJSON; nil means geo.ParseNetwork.
	Parse func([]byte) (*geo.Network, error)
}

// Version describes a stored network version (the wire's network object).
type Version struct {
	Version   string          `json:"version"`
	Seq       int64           `json:"seq"`
	CreatedAt time.Time       `json:"created_at"`
	CreatedBy string          `json:"created_by"`
	Stats     json.RawMessage `json:"stats,omitempty"`
}

func versionOf(n storage.Network) Version {
	return Version{Version: n.Version, Seq: n.Seq, CreatedAt: n.CreatedAt.UTC(), CreatedBy: n.CreatedBy, Stats: n.Stats}
}

// current is the network in use and the stored version it came from.
type current struct {
	net *geo.Network // nil: none (straight-line reach)
	seq int64        // the stored version's seq; 0 when none was stored
	ver Version
}

// Service holds the current network.
type Service struct {
	store Store
	log   *slog.Logger
	clock func() time.Time
	parse func([]byte) (*geo.Network, error)

	cur atomic.Pointer[current]
	mu  sync.Mutex // serializes loads and uploads on this node

	isoSeconds prometheus.Histogram
	cache      *cacheCollector
}

// New returns the service with no network; Start loads the stored one.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Parse == nil {
		cfg.Parse = geo.ParseNetworkBytes
	}
	s := &Service{store: cfg.Store, log: cfg.Logger, clock: cfg.Clock, parse: cfg.Parse,
		isoSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hub_isochrone_seconds", Help: "Time to answer a travel-time reach (cache hits included).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	s.cache = &cacheCollector{s: s, desc: prometheus.NewDesc("hub_isochrone_cache_total",
		"Travel-time reach lookups by cache result.", []string{"result"}, nil)}
	s.cur.Store(&current{})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(s.isoSeconds, s.cache)
	}
	return s
}

// Start loads the stored network, if any. A stored network that no longer
// parses (a newer hub tightened a limit) is logged and skipped: reach then
// falls back to circles, which is safe, rather than the node not starting.
func (s *Service) Start(ctx context.Context) error {
	_, err := s.reload(ctx, true)
	return err
}

// Run polls the store for a version another node stored until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.reload(ctx, false); err != nil && ctx.Err() == nil {
				s.log.Warn("travel network: poll failed", "err", err)
			}
		}
	}
}

// reload loads the store's current version when it differs from ours.
func (s *Service) reload(ctx context.Context, first bool) (bool, error) {
	head, err := s.store.NetworkHead(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if head.Seq == s.cur.Load().seq {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if head.Seq <= s.cur.Load().seq { // an upload here got there first
		return false, nil
	}
	rec, err := s.store.CurrentNetwork(ctx)
	if err != nil {
		return false, err
	}
	c := &current{seq: rec.Seq, ver: versionOf(rec)}
	if len(rec.GeoJSON) > 0 {
		start := time.Now()
		n, err := s.parse(rec.GeoJSON)
		if err != nil {
			s.log.Error("travel network: stored version does not load; reach uses straight-line circles",
				"seq", rec.Seq, "version", rec.Version, "err", err)
			c.ver.Version = ""
		} else {
			c.net = n
			s.log.Info("travel network loaded", "seq", rec.Seq, "version", rec.Version,
				"cells", n.Stats().Cells, "ms", time.Since(start).Milliseconds(), "at_start", first)
		}
	}
	s.swap(c)
	return true, nil
}

func (s *Service) swap(c *current) {
	if old := s.cur.Swap(c); old.net != nil {
		h, m := old.net.CacheStats()
		s.cache.retire(h, m)
	}
}

// Network is the network in use; nil when there is none.
func (s *Service) Network() *geo.Network { return s.cur.Load().net }

// Current is the version in use; ok is false when there is none.
func (s *Service) Current() (Version, bool) {
	c := s.cur.Load()
	return c.ver, c.net != nil
}

// History lists the stored versions, newest first.
func (s *Service) History(ctx context.Context) ([]Version, error) {
	ns, err := s.store.ListNetworks(ctx, HistoryLen)
	if err != nil {
		return nil, err
	}
	out := make([]Version, len(ns))
	for i, n := range ns {
		out[i] = versionOf(n)
	}
	return out, nil
}

// Put parses, stores and swaps in a network uploaded by an admin. created
// is false when it is the version already in use (nothing stored).
func (s *Service) Put(ctx context.Context, body []byte, by service.Actor) (v Version, created bool, err error) {
	n, err := s.parse(body)
	if err != nil {
		return Version{}, false, networkErr(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cur.Load(); c.net != nil && c.net.Version() == n.Version() {
		return c.ver, false, nil
	}
	stats, err := json.Marshal(n.Stats())
	if err != nil {
		return Version{}, false, err
	}
	rec := &storage.Network{Version: n.Version(), GeoJSON: body, Stats: stats, CreatedBy: by.ID, CreatedAt: s.clock().UTC()}
	if err := s.store.PutNetwork(ctx, rec); err != nil {
		return Version{}, false, err
	}
	c := &current{net: n, seq: rec.Seq, ver: versionOf(*rec)}
	s.swap(c)
	s.log.Info("travel network stored", "seq", rec.Seq, "version", rec.Version, "by", by.ID, "bytes", len(body),
		"cells", n.Stats().Cells)
	return c.ver, true, nil
}

// Remove stops using a network (a version recording the removal).
func (s *Service) Remove(ctx context.Context, by service.Actor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Load().net == nil {
		return nil
	}
	rec := &storage.Network{CreatedBy: by.ID, CreatedAt: s.clock().UTC()}
	if err := s.store.PutNetwork(ctx, rec); err != nil {
		return err
	}
	s.swap(&current{seq: rec.Seq, ver: versionOf(*rec)})
	s.log.Info("travel network removed", "seq", rec.Seq, "by", by.ID)
	return nil
}

func networkErr(err error) error {
	var fe *geo.FieldError
	msg := err.Error()
	if errors.As(err, &fe) {
		msg = fe.Field + ": " + fe.Msg
	}
	if errors.Is(err, geo.ErrNetworkTooLarge) {
		return service.Errorf(service.CodeTooLarge, "travel network too large: %s", msg)
	}
	return service.Invalid("travel network: %s", msg)
}

// Reach is how a reach area is (or would be) computed: docs/API.md v1.3's
// reach object.
type Reach struct {
	Method         string         `json:"method"`   // network | circle
	Fallback       string         `json:"fallback"` // "", no_network, outside_network
	NetworkVersion string         `json:"network_version"`
	Resolution     int            `json:"resolution,omitempty"`
	Mode           string         `json:"mode"`
	Minutes        float64        `json:"minutes"`
	ByMode         map[string]int `json:"by_mode,omitempty"`
}

// Fallback reasons.
const (
	FallbackNoNetwork      = "no_network"
	FallbackOutsideNetwork = "outside_network"
)

// Compile compiles an area over the current network, timing the reach.
// It returns the region and, for a reach, how it was computed.
func (s *Service) Compile(a geo.Area) (*geo.Region, *Reach, error) {
	return s.compileOn(s.Network(), a)
}

func (s *Service) compileOn(n *geo.Network, a geo.Area) (*geo.Region, *Reach, error) {
	if a.Reach == nil {
		r, err := geo.Compile(a)
		return r, nil, err
	}
	start := time.Now()
	r, err := n.Compile(a)
	if err != nil {
		return nil, nil, err
	}
	if n != nil {
		s.isoSeconds.Observe(time.Since(start).Seconds())
	}
	ra := r.Area().Reach
	rc := &Reach{Method: "circle", Mode: ra.Mode, Minutes: ra.Minutes}
	switch {
	case r.Isochrone() != nil:
		rc.Method, rc.NetworkVersion, rc.Resolution = "network", n.Version(), geo.NetworkRes
	case n == nil:
		rc.Fallback = FallbackNoNetwork
	default:
		rc.Fallback = FallbackOutsideNetwork
		rc.NetworkVersion = n.Version()
	}
	return r, rc, nil
}

// ReachSet is a reach compiled for every travel mode a responder may carry,
// on one network version: member m is addressed when its position is in
// Region(mode of m), the area's mode for members without one.
type ReachSet struct {
	Area  geo.Area
	Reach *Reach
	s     *Service
	net   *geo.Network // the version every mode is compiled on

	mu      sync.Mutex
	regions map[string]*geo.Region // by mode; more are compiled as asked
}

// CompileReach compiles a reach area for its own mode and for each of modes
// (the responders' own modes in use), on the current network.
func (s *Service) CompileReach(a geo.Area, modes []string) (*ReachSet, error) {
	n := s.Network()
	r, rc, err := s.compileOn(n, a)
	if err != nil {
		return nil, err
	}
	rs := &ReachSet{Area: r.Area(), Reach: rc, regions: map[string]*geo.Region{rc.Mode: r}, s: s, net: n}
	for _, m := range modes {
		rs.Region(m) // compiled now, on n, rather than by the first member who asks
	}
	return rs, nil
}

// Region is the reach for a member travelling by mode ("": the area's),
// on the network version the set was compiled on; a mode not compiled yet
// (a member took it up since) is compiled now.
func (rs *ReachSet) Region(mode string) *geo.Region {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r, ok := rs.regions[mode]; ok {
		return r
	}
	if mode == "" || geo.ReachRadiusM(1, mode) == 0 {
		return rs.regions[rs.Reach.Mode]
	}
	b := rs.Area
	rr := *b.Reach
	rr.Mode = mode
	b.Reach = &rr
	r, _, err := rs.s.compileOn(rs.net, b)
	if err != nil { // cannot happen: the area compiled for another mode
		return rs.regions[rs.Reach.Mode]
	}
	rs.regions[mode] = r
	return r
}

// Modes lists the modes compiled, the area's first.
func (rs *ReachSet) Modes() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := []string{rs.Reach.Mode}
	for m := range rs.regions {
		if m != rs.Reach.Mode {
			out = append(out, m)
		}
	}
	return out
}

// ETA is the travel time in minutes from p to the reach's point for a
// member travelling by mode (""  : the area's), over the network when the
// reach was computed on it, else by straight line at the mode's speed;
// false when p is out of reach.
func (rs *ReachSet) ETA(p geo.LatLng, mode string) (float64, bool) {
	r := rs.Region(mode)
	if iso := r.Isochrone(); iso != nil {
		return iso.MinutesTo(p)
	}
	ra := r.Area().Reach
	d := geo.DistanceM(geo.LatLng{Lat: ra.Lat, Lng: ra.Lng}, p)
	perMin := geo.ReachRadiusM(1, ra.Mode)
	if perMin <= 0 || d > perMin*ra.Minutes {
		return 0, false
	}
	return d / perMin, true
}

// Place is the readable place of a position: the nearest named road, river
// or hamlet of the network within maxM.
func (s *Service) Place(p geo.LatLng, maxM float64) (geo.Place, bool) {
	return s.Network().NearestPlace(p, maxM)
}

// Features is the current network's drawable GeoJSON; nil without one.
func (s *Service) Features() []byte {
	if n := s.Network(); n != nil {
		return n.Features()
	}
	return nil
}

// cacheCollector reports the isochrone cache's hits and misses, summed
// over the networks this node has used.
type cacheCollector struct {
	s    *Service
	desc *prometheus.Desc

	mu                   sync.Mutex
	retiredH, retiredMis uint64
}

func (c *cacheCollector) retire(h, m uint64) {
	c.mu.Lock()
	c.retiredH += h
	c.retiredMis += m
	c.mu.Unlock()
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	var h, m uint64
	if n := c.s.Network(); n != nil {
		h, m = n.CacheStats()
	}
	c.mu.Lock()
	h, m = h+c.retiredH, m+c.retiredMis
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(h), "hit")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(m), "miss")
}
