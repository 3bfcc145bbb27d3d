package service

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// Limiter keeps one token bucket per (member, action), dropping idle ones.
// The rates are the policy's (policy.Policy.Limit): generous for people,
// tight enough that one stuck client cannot flood the store. An action the
// policy does not limit is always allowed and keeps no bucket.
type Limiter struct {
	pol *policy.Policy
	now func() time.Time

	mu      sync.Mutex // guards buckets and swept
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewLimiter returns an empty limiter with the rates of pol, reading the
// time from now (the service's injected clock).
func NewLimiter(pol *policy.Policy, now func() time.Time) *Limiter {
	return &Limiter{pol: pol, now: now, buckets: make(map[string]*rate.Limiter)}
}

// Allow takes a token of the member's bucket for action.
func (l *Limiter) Allow(memberID, action string) bool {
	perSecond, burst := l.pol.Now().Limit(action)
	_, ok := l.take(memberID, action, perSecond, burst)
	return ok
}

// AllowRole is Allow at the rate of the member's role (the policy's
// RoleLimits); when it refuses, wait is how long until a token is back.
func (l *Limiter) AllowRole(memberID string, role storage.Role, action string) (wait time.Duration, ok bool) {
	perSecond, burst := l.pol.Now().LimitFor(action, string(role))
	return l.take(memberID, action, perSecond, burst)
}

func (l *Limiter) take(memberID, action string, perSecond float64, burst int) (wait time.Duration, ok bool) {
	if rate.Limit(perSecond) == rate.Inf {
		return 0, true
	}
	key := action + "\x00" + memberID
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) > 10*time.Minute {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(perSecond), burst)
		l.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return 0, true
	}
	return time.Duration((1 - b.TokensAt(now)) / perSecond * float64(time.Second)), false
}
