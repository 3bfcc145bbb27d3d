package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/longyou/hub/api"
	"github.com/longyou/hub/api/cap"
)

// CAP feeds in (docs/API.md v1.6): every CAPFeedEvery the node reads each
// -cap-feed (Atom or RSS), fetches the CAP documents of entries it has not
// taken yet and hands each to the API's FeedMessage (at once, or pending
// for a commander). Every node of a cluster polls; the store's import and
// pending records make a message count once.

// capFeeds polls the feeds.
type capFeeds struct {
	s      *Server
	feeds  []api.CAPFeed
	every  time.Duration
	client *http.Client
	log    *slog.Logger

	mu   sync.Mutex
	done map[string]bool // documents (URL or feed+id) taken: not fetched again
}

func newCAPFeeds(s *Server, cfg *Config) *capFeeds {
	every := cfg.CAPFeedEvery
	if every <= 0 {
		every = time.Minute
	}
	client := cfg.CAPFeedClient
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	return &capFeeds{s: s, feeds: cfg.CAPFeeds, every: every, client: client, log: cfg.Logger, done: map[string]bool{}}
}

func (f *capFeeds) run(ctx context.Context) {
	if len(f.feeds) == 0 {
		return
	}
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		f.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PollCAPFeeds reads every feed once now and counts the outcomes (the
// tests' and an operator's "now").
func (s *Server) PollCAPFeeds(ctx context.Context) map[string]int { return s.capFeeds.poll(ctx) }

func (f *capFeeds) poll(ctx context.Context) map[string]int {
	counts := map[string]int{}
	for _, feed := range f.feeds {
		if err := f.pollOne(ctx, feed, counts); err != nil && ctx.Err() == nil {
			f.log.Warn("cap feed", "feed", feed.URL, "err", err)
			counts["error"]++
		}
	}
	return counts
}

func (f *capFeeds) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", cap.ContentType+", application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.1")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, cap.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > cap.MaxSize {
		return nil, fmt.Errorf("GET %s: %w", u, cap.ErrTooLarge)
	}
	return data, nil
}

func (f *capFeeds) pollOne(ctx context.Context, feed api.CAPFeed, counts map[string]int) error {
	data, err := f.get(ctx, feed.URL)
	if err != nil {
		return err
	}
	items, err := cap.ParseFeed(data)
	if err != nil {
		return err
	}
	base, _ := url.Parse(feed.URL)
	for _, it := range items {
		key, doc := "", it.Inline
		if it.Inline != nil {
			key = feed.URL + "#" + it.ID + "#" + fmt.Sprint(len(it.Inline))
		} else {
			ref, err := url.Parse(it.CAPURL)
			if err != nil {
				counts[api.FeedIgnored]++
				continue
			}
			key = base.ResolveReference(ref).String()
		}
		f.mu.Lock()
		taken := f.done[key]
		f.mu.Unlock()
		if taken {
			counts[api.FeedSeen]++
			continue
		}
		if doc == nil {
			if doc, err = f.get(ctx, key); err != nil {
				f.log.Warn("cap feed entry", "feed", feed.URL, "url", key, "err", err)
				counts["error"]++
				continue // fetched again next time
			}
		}
		outcome, err := f.s.api.FeedMessage(ctx, feed, doc)
		if err != nil {
			f.log.Warn("cap feed message", "feed", feed.URL, "url", key, "outcome", outcome, "err", err)
		}
		if outcome == "" {
			counts["error"]++
			continue // a store error: try again next time
		}
		counts[outcome]++
		f.mu.Lock()
		f.done[key] = true
		f.mu.Unlock()
	}
	return nil
}
