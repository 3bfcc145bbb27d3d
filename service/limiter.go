package service

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limits per member and action: generous for people, tight enough that one
// stuck client cannot flood the store.
var actionLimits = map[string]struct {
	every time.Duration
	burst int
}{
	"report": {2 * time.Second, 10},
	"media":  {time.Second, 20},
	"locate": {200 * time.Millisecond, 20},
}

// Limiter keeps one token bucket per (member, action), dropping idle ones.
type Limiter struct {
	mu      sync.Mutex // guards buckets and swept
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter { return &Limiter{buckets: make(map[string]*rate.Limiter)} }

// Allow takes a token of the member's bucket for action; actions without a
// limit are always allowed.
func (l *Limiter) Allow(memberID, action string) bool {
	lim, ok := actionLimits[action]
	if !ok {
		return true
	}
	key := action + "\x00" + memberID
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
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
		b = rate.NewLimiter(rate.Every(lim.every), lim.burst)
		l.buckets[key] = b
	}
	return b.AllowN(now, 1)
}
