package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts of every Redis connection: a broker call must never hang a
// publisher; the store is the source of truth and a node catches up from
// it, so failing fast is always safe.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 2 * time.Second
)

// UnreachableError is DialRedis's answer when Redis did not answer at all
// (refused, timed out): the client it returns with it is usable and will
// connect once Redis is back. A node starts anyway, unready, and catches up
// from the store meanwhile; a Redis that answers with an error (a wrong
// password) is a plain error instead.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "redis unreachable: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable tells whether err means Redis did not answer at all.
func unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED)
}

// DialRedis connects to Redis as -redis says: one URL (redis:// or
// rediss://, with a password or user:password) or a comma-separated list
// of seed addresses (host:port or URLs) of a Redis Cluster. Given one URL it
// asks the server whether cluster mode is on (INFO cluster) and, if so,
// uses the cluster client with that address as its seed, so the URL of any
// one master is enough. cluster reports which client it made. When Redis
// does not answer, the error is an *UnreachableError and the client is
// still returned: a single URL then makes a single-Redis client (a cluster
// must be named by its seed list to be used before it first answers).
func DialRedis(ctx context.Context, spec string) (c redis.UniversalClient, cluster bool, err error) {
	var seeds []string
	for _, s := range strings.Split(spec, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	if len(seeds) == 0 {
		return nil, false, errors.New("redis: no address given")
	}
	opts := make([]*redis.Options, len(seeds))
	for i, s := range seeds {
		if !strings.Contains(s, "://") {
			s = "redis://" + s
		}
		o, err := redis.ParseURL(s)
		if err != nil {
			return nil, false, fmt.Errorf("redis: address %d: %w", i+1, err)
		}
		opts[i] = o
	}
	first := opts[0]
	if len(opts) == 1 {
		o := *first
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
		single := redis.NewClient(&o)
		info, err := single.Info(ctx, "cluster").Result()
		if err != nil {
			if unreachable(err) {
				return single, false, &UnreachableError{fmt.Errorf("ask %s whether it is a cluster: %w", o.Addr, err)}
			}
			single.Close()
			return nil, false, fmt.Errorf("redis: ask %s whether it is a cluster: %w", o.Addr, err)
		}
		if !strings.Contains(info, "cluster_enabled:1") {
			return single, false, nil
		}
		single.Close()
	}
	addrs := make([]string, len(opts))
	for i, o := range opts {
		addrs[i] = o.Addr
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:        addrs,
		Username:     first.Username,
		Password:     first.Password,
		TLSConfig:    first.TLSConfig,
		DialTimeout:  redisDialTimeout,
		ReadTimeout:  redisIOTimeout,
		WriteTimeout: redisIOTimeout,
	})
	if err := cc.Ping(ctx).Err(); err != nil {
		if unreachable(err) {
			return cc, true, &UnreachableError{fmt.Errorf("cluster %v: %w", addrs, err)}
		}
		cc.Close()
		return nil, false, fmt.Errorf("redis: cluster %v: %w", addrs, err)
	}
	return cc, true, nil
}
