package alerting

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/longyou/hub/storage"
)

// The expected time to send an alert's messages (issue 12: at one SMS a
// second, a county-wide fallback to 200,000 villagers takes 55 hours).
// Every channel of the outbox is sent at its own rate, highest priority
// first (notify.Dispatcher, storage.Store.ClaimDueMessages), so the time
// to send n new messages of priority p on a channel is the rows sent
// before them (storage.Queue.QueueAhead) plus n, at the channel's rate.
// The functions take the channel: a voice channel is the same sum at the
// calls-per-second rate (Config.Rates["voice"]).

// ChannelETA is what a preview says of one channel: how many messages the
// alert would queue at once, how many later (members connected now, sent
// after sms_fallback_after_s unless they answer first), and the seconds to
// send the first ones at the channel's rate behind the queue ahead of them.
type ChannelETA struct {
	Messages int `json:"messages"`
	Later    int `json:"later"`
	EtaS     int `json:"eta_s"`
}

// etaSeconds is the whole seconds to send n messages at rate per second
// (rounded up; 0 for none or no rate).
func etaSeconds(n int, rate float64) int {
	if n <= 0 || rate <= 0 {
		return 0
	}
	return int(math.Ceil(float64(n) / rate))
}

// rate is the configured rate of a channel (messages per second); 0 when
// none is configured.
func (s *Service) rate(channel string) float64 { return s.rates[channel] }

// previewETA is a preview's ChannelETA for a draft of priority whose
// targets would get now messages at once and later ones after the
// fallback delay.
func (s *Service) previewETA(ctx context.Context, channel string, priority, now, later int) (ChannelETA, error) {
	out := ChannelETA{Messages: now, Later: later}
	if now == 0 {
		return out, nil
	}
	t := s.now()
	ahead, err := s.store.QueueAhead(ctx, channel, priority, t, t)
	if err != nil {
		return ChannelETA{}, err
	}
	out.EtaS = etaSeconds(ahead+now, s.rate(channel))
	return out, nil
}

// etaRefresh is how long an alert's computed ETA is reused before the
// queue is read again. The reads scan the
// alert's rows and the queue ahead (about 0.45 s together for a
// 200,000-row backlog on SQLite, BenchmarkQueue), and progress is pushed
// up to 4 times a second while an alert's SMS go out. The ETA shown may
// so be up to 10 s old (it is not counted down in between: a stalled
// provider would make a countdown lie). A new alert with SMS (which
// may overtake the others) drops every cached ETA (forgetETAs).
const etaRefresh = 10 * time.Second

// etaCache keeps each alert's last computed ETA per channel.
type etaCache struct {
	mu sync.Mutex // guards m
	m  map[etaKey]etaEntry
}

type etaKey struct{ alert, channel string }

type etaEntry struct {
	at  time.Time
	eta int
}

// get is the cached ETA, if fresh.
func (c *etaCache) get(k etaKey, now time.Time) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= etaRefresh || now.Before(e.at) {
		return 0, false
	}
	return e.eta, true
}

func (c *etaCache) put(k etaKey, now time.Time, eta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[etaKey]etaEntry{}
	}
	for x, e := range c.m {
		if now.Sub(e.at) >= etaRefresh {
			delete(c.m, x)
		}
	}
	c.m[k] = etaEntry{at: now, eta: eta}
}

// forget drops every cached ETA (a new alert may overtake the others).
func (c *etaCache) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// alertETA is the seconds until the alert's messages of kind alert that
// are due now on channel are sent: those and every row sent before the
// last of them, at the channel's rate. Rows due later (the fallback of
// connected members) are not counted; an alert that is no longer active
// sends nothing more (0).
func (s *Service) alertETA(ctx context.Context, channel string, a *storage.Alert) (int, error) {
	if s.Status(a) != storage.AlertActive {
		return 0, nil
	}
	now := s.now()
	k := etaKey{a.ID, channel}
	if eta, ok := s.etas.get(k, now); ok {
		return eta, nil
	}
	due, last, _, err := s.store.QueuedFor(ctx, channel, storage.AlertRef(a.ID), storage.MessageAlert, now)
	if err != nil {
		return 0, err
	}
	if due == 0 {
		s.etas.put(k, now, 0)
		return 0, nil
	}
	if last.IsZero() || last.After(now) {
		last = now
	}
	ahead, err := s.store.QueueAhead(ctx, channel, s.pol.Now().SeverityRank(a.Severity), last, now)
	if err != nil {
		return 0, err
	}
	eta := etaSeconds(max(ahead, due), s.rate(channel))
	s.etas.put(k, now, eta)
	return eta, nil
}

// ProgressOf is an alert's progress as clients see it (GET
// /api/v1/alerts/{id}, alert_progress): the store's counts and, for each
// channel with a rate, the seconds left to send its due messages.
func (s *Service) ProgressOf(ctx context.Context, a *storage.Alert) (Progress, error) {
	p, err := s.Progress(ctx, a.ID) // with the calls' counts
	if err != nil {
		return Progress{}, err
	}
	v := ProgressView(p)
	if v.SMS.Queued > 0 { // else nothing left to send: no queue to read
		if v.SMS.EtaS, err = s.alertETA(ctx, storage.ChannelSMS, a); err != nil {
			return Progress{}, err
		}
	}
	if v.Voice.Queued > 0 {
		if v.Voice.EtaS, err = s.alertETA(ctx, storage.ChannelVoice, a); err != nil {
			return Progress{}, err
		}
	}
	return v, nil
}

// smsCounts counts the targets of a draft that would get an SMS at once
// and later (the fallback policy, smsDue).
func (s *Service) smsCounts(a *storage.Alert, ids []string, onlines []bool, now time.Time) (atOnce, later int) {
	for i, id := range ids {
		due := s.smsDue(a, id, onlines[i], now)
		switch {
		case due.IsZero():
		case due.After(now):
			later++
		default:
			atOnce++
		}
	}
	return atOnce, later
}
