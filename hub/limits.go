package hub

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// The flood limits of a node's WebSockets (issue 13: one token opened
// 3,000 connections, one connection stored 16,000 answers in 8 s): the
// connections of a member and of a source address, and the commands of a
// connection. See Config for the numbers.

// Close reasons of the flood limits (docs/API.md v1.4), both with 1008.
const (
	reasonReplaced    = "replaced by a newer connection"
	reasonTooManyCmds = "too many commands"
)

// Default connection caps (Config).
const (
	defaultMemberConns = 5
	defaultAddrConns   = 2000
)

func (c *Config) setFloodDefaults() {
	if c.MaxConnsPerMember == 0 {
		c.MaxConnsPerMember = defaultMemberConns
	}
	if c.MaxConnsPerAddr == 0 {
		c.MaxConnsPerAddr = defaultAddrConns
	}
	if c.CommandEvery == 0 {
		c.CommandEvery = 50 * time.Millisecond
	}
	if c.CommandBurst <= 0 {
		c.CommandBurst = 40
	}
	if c.ResumeEvery == 0 {
		c.ResumeEvery = 5 * time.Second
	}
	if c.ResumeBurst <= 0 {
		c.ResumeBurst = 3
	}
	if c.CommandStrikes <= 0 {
		c.CommandStrikes = 100
	}
	if c.SentWindow <= 0 {
		c.SentWindow = 1024
	}
}

// addrCounter counts the WebSockets of each source address on this node.
type addrCounter struct {
	mu sync.Mutex // guards n
	n  map[string]int
}

func newAddrCounter() *addrCounter { return &addrCounter{n: map[string]int{}} }

// addrKey is the source of a request as counted: its IPv4 address, or the
// /64 of its IPv6 address (one subscriber's LAN; a host there can take any
// of 2^64 addresses). The TCP peer: behind a reverse proxy that is the
// proxy, so raise the cap or turn it off there.
func addrKey(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	a := ap.Addr().Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// take counts one more connection of key, unless it has limit already
// (limit < 0: no bound).
func (a *addrCounter) take(key string, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if limit >= 0 && a.n[key] >= limit {
		return false
	}
	a.n[key]++
	return true
}

// release counts one connection of key less.
func (a *addrCounter) release(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n[key] <= 1 {
		delete(a.n, key)
	} else {
		a.n[key]--
	}
}

// admitAddr counts a new WebSocket of r's source address, or refuses it
// with 429 rate_limited (docs/API.md's error object) before the upgrade.
// It returns the key to release when the connection ends.
func (h *Node) admitAddr(w http.ResponseWriter, r *http.Request) (key string, ok bool) {
	key = addrKey(r.RemoteAddr)
	if h.addrs.take(key, h.cfg.MaxConnsPerAddr) {
		return key, true
	}
	h.metrics.Drops.WithLabelValues("addr_conns").Inc()
	h.log.LogAttrs(r.Context(), slog.LevelWarn, "websocket refused: too many connections from one address",
		slog.String("addr", key), slog.Int("limit", h.cfg.MaxConnsPerAddr))
	body, _ := json.Marshal(map[string]any{"error": map[string]string{
		"code": "rate_limited", "message": "too many connections from this address; close some and try again"}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "10")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write(body)
	return "", false
}

// capMember closes the oldest live connections of c's member beyond
// MaxConnsPerMember; c, just registered, is the newest. A villager who
// opens the page on a new phone gets it working at once, and the old
// phone's page hears why it was closed. (Refusing the new one instead
// would lock the villager out while dead connections of the old phone
// wait for their ping timeout.)
func (h *Node) capMember(c *Conn) {
	limit := h.cfg.MaxConnsPerMember
	if limit < 0 {
		return
	}
	var live []*Conn
	h.conns.forMember(c.member.ID, func(x *Conn) {
		if !x.closing.Load() {
			live = append(live, x)
		}
	})
	for _, old := range live[:max(0, len(live)-limit)] {
		if old != c {
			old.closePolicy("member_conns", reasonReplaced)
		}
	}
}

// closePolicy closes the connection with 1008 and reason, counted in
// hub_drops_total by metric; it drops what is queued. False when a close
// had already begun.
func (c *Conn) closePolicy(metric, reason string) bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	c.mu.Lock()
	c.wakeLocked()
	c.mu.Unlock()
	c.h.metrics.Drops.WithLabelValues(metric).Inc()
	c.h.log.LogAttrs(context.Background(), slog.LevelInfo, "closing websocket",
		slog.String("member", c.member.ID), slog.String("token", c.tokenID), slog.String("reason", reason))
	go c.closeAfterTelling(reason)
	return true
}

// Errors of AllowCommand.
var (
	ErrCommandRate = errors.New("too many commands on this connection; slow down")
	ErrResumeRate  = errors.New("too many resumes on this connection; resume once after each welcome")
)

// bucket is a token bucket of one connection's reader: 16 bytes, no lock
// (only the read goroutine uses it).
type bucket struct {
	tokens float64
	last   int64 // unix nanos of the last take; 0: never (full)
}

// take refills the bucket at one token per every up to burst, then takes
// one token if there is one.
func (b *bucket) take(now int64, every time.Duration, burst int) bool {
	if b.last == 0 {
		b.tokens = float64(burst)
	} else if now > b.last {
		b.tokens = min(float64(burst), b.tokens+float64(now-b.last)/float64(every))
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// cmdRate is the command limit state of one connection.
type cmdRate struct {
	cmds, resumes, strikes bucket
}

// AllowCommand takes a token of the connection's command bucket (and of
// its resume bucket for a resume). It returns ErrCommandRate or
// ErrResumeRate when the client sends too fast: the caller answers the
// command with rate_limited. A client that keeps on (its refused commands
// outrun the command rate by CommandStrikes: at three times the rate,
// about 5 s by default) is closed with 1008 "too many commands". Call it
// from the command handler only (the connection's read goroutine).
func (c *Conn) AllowCommand(resume bool) error {
	cfg := &c.h.cfg
	now := time.Now().UnixNano()
	r := &c.rate
	err := error(nil)
	switch {
	case cfg.CommandEvery > 0 && !r.cmds.take(now, cfg.CommandEvery, cfg.CommandBurst):
		err = ErrCommandRate
	case resume && cfg.ResumeEvery > 0 && !r.resumes.take(now, cfg.ResumeEvery, cfg.ResumeBurst):
		err = ErrResumeRate
	}
	if err != nil {
		c.h.metrics.Drops.WithLabelValues("command_refused").Inc()
		every := cfg.CommandEvery
		if every <= 0 {
			every = cfg.ResumeEvery
		}
		if !r.strikes.take(now, every, cfg.CommandStrikes) {
			c.closePolicy("command_rate", reasonTooManyCmds)
		}
	}
	return err
}
