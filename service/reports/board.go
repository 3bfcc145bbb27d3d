package reports

import (
	"context"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/storage"
)

// boardEvents is the board event of a public report (Config.Board), to
// append with the report's own event; none for a private one.
func (s *Service) boardEvents(ctx context.Context, rep *storage.Report) []*storage.Event {
	if s.board == nil || rep.Visibility != storage.VisibilityPublic {
		return nil
	}
	if ev := s.board(ctx, rep); ev != nil {
		return []*storage.Event{ev}
	}
	return nil
}

// publishAlso publishes the addressed events appended with a report's.
func (s *Service) publishAlso(ctx context.Context, also []*storage.Event) {
	for _, ev := range also {
		s.metrics.Stored.WithLabelValues(ev.Type).Inc()
		s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonNil(p []string) []string {
	if p == nil {
		return []string{}
	}
	return p
}
