package hub

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

// limiter keeps one token bucket per (member, action), dropping idle ones.
type limiter struct {
	mu      sync.Mutex // guards buckets and swept
	buckets map[string]*rate.Limiter
	swept   time.Time
}

func newLimiter() *limiter { return &limiter{buckets: make(map[string]*rate.Limiter)} }

func (l *limiter) allow(memberID, action string) bool {
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
