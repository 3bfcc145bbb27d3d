package notify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limiter paces one channel's sends: Wait returns when the next message may
// go, or with ctx's error.
type Limiter interface {
	Wait(ctx context.Context) error
}

// RedisLimiter is the rate of a whole cluster: every node asks the same
// Redis key (GCRA in a script, on Redis's own clock; go-redis/redis_rate),
// so N nodes together never send faster than the rate.
//
// When Redis cannot answer, a node falls back to its share, the rate
// divided by the number of nodes it last saw alive (Nodes), so a Redis
// outage neither stops the SMS nor lets the cluster exceed the rate (as
// long as no node joins during the outage).
type RedisLimiter struct {
	l     *redis_rate.Limiter
	key   string
	limit redis_rate.Limit
	rate  float64
	nodes func() int

	mu       sync.Mutex // guards fallback, share
	fallback *rate.Limiter
	share    int
}

// NewRedisLimiter paces perSecond messages through key for the cluster;
// nodes tells how many nodes were last seen alive.
func NewRedisLimiter(c redis.UniversalClient, key string, perSecond float64, nodes func() int) *RedisLimiter {
	if perSecond <= 0 {
		perSecond = 1
	}
	return &RedisLimiter{
		l: redis_rate.NewLimiter(c), key: key, rate: perSecond, nodes: nodes,
		// One message per emission interval, no burst: the same shape as
		// the single node's token bucket of burst 1.
		limit: redis_rate.Limit{Rate: 1, Burst: 1, Period: time.Duration(float64(time.Second) / perSecond)},
	}
}

// Wait blocks until the cluster's rate lets one more message go.
func (r *RedisLimiter) Wait(ctx context.Context) error {
	for {
		res, err := r.l.Allow(ctx, r.key, r.limit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return r.fallbackWait(ctx)
		}
		if res.Allowed > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(res.RetryAfter, time.Millisecond)):
		}
	}
}

func (r *RedisLimiter) fallbackWait(ctx context.Context) error {
	n := max(1, r.nodes())
	r.mu.Lock()
	if r.fallback == nil || r.share != n {
		r.fallback = rate.NewLimiter(rate.Limit(r.rate/float64(n)), 1)
		r.share = n
	}
	l := r.fallback
	r.mu.Unlock()
	if err := l.Wait(ctx); err != nil {
		return fmt.Errorf("notify: rate: %w", err)
	}
	return nil
}
