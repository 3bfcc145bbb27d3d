package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/longyou/hub/storage"
)

// RedisEarly keeps early status callbacks in Redis for a cluster: the
// provider may call back any node, and the node that sent the message
// takes them when it records the provider id. Each key is a list that
// expires earlyStatusTTL after its last report.
type RedisEarly struct {
	c      redis.UniversalClient
	prefix string
}

var _ EarlyStore = (*RedisEarly)(nil)

// NewRedisEarly keeps early reports under keys starting with prefix.
func NewRedisEarly(c redis.UniversalClient, prefix string) *RedisEarly {
	return &RedisEarly{c: c, prefix: prefix + "early:"}
}

// Put appends u to key's list.
func (r *RedisEarly) Put(ctx context.Context, key string, u storage.StatusUpdate) error {
	data, err := json.Marshal(earlyJSON{State: u.State, Status: u.Status, ErrorCode: u.ErrorCode, At: u.At})
	if err != nil {
		return err
	}
	pipe := r.c.TxPipeline()
	pipe.RPush(ctx, r.prefix+key, data)
	pipe.Expire(ctx, r.prefix+key, earlyStatusTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("notify: keep early status in redis: %w", err)
	}
	return nil
}

// Take returns and deletes key's list, in arrival order.
func (r *RedisEarly) Take(ctx context.Context, key string) ([]storage.StatusUpdate, error) {
	pipe := r.c.TxPipeline()
	lr := pipe.LRange(ctx, r.prefix+key, 0, -1)
	pipe.Del(ctx, r.prefix+key)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("notify: take early statuses from redis: %w", err)
	}
	var out []storage.StatusUpdate
	for _, s := range lr.Val() {
		var e earlyJSON
		if json.Unmarshal([]byte(s), &e) == nil {
			out = append(out, storage.StatusUpdate{State: e.State, Status: e.Status, ErrorCode: e.ErrorCode, At: e.At})
		}
	}
	return out, nil
}

// earlyJSON is a report's form in Redis.
type earlyJSON struct {
	State     string    `json:"state,omitempty"`
	Status    string    `json:"status,omitempty"`
	ErrorCode string    `json:"error_code,omitempty"`
	At        time.Time `json:"at"`
}
