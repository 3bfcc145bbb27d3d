// Package bulletins is the bulletin service: public notices of a village
// or of the whole county.
package bulletins

import (
	"context"
	"log/slog"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Store is what the bulletin service reads and writes.
type Store interface {
	GetVillage(ctx context.Context, id string) (storage.Village, error)
	CreateBulletin(ctx context.Context, b *storage.Bulletin, ev *storage.Event) error
	ListBulletins(ctx context.Context, f storage.BulletinFilter) ([]storage.Bulletin, error)
}

// Draft is a bulletin to publish.
type Draft struct {
	VillageID string // "" county-wide
	Category  string
	Title     string
	Body      string
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required
	Logger *slog.Logger
	// Policy holds the bulletin categories. Nil means policy.Default().
	Policy *policy.Policy
}

// Service is the bulletin service.
type Service struct {
	store   Store
	node    *hub.Node
	log     *slog.Logger
	metrics *metrics.Metrics
	pol     *policy.Policy
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	return &Service{store: cfg.Store, node: cfg.Node, log: cfg.Logger, metrics: cfg.Node.Metrics(), pol: cfg.Policy}
}

// Publish validates, stores (durably) and fans out a bulletin.
func (s *Service) Publish(ctx context.Context, d Draft, by service.Actor) (storage.Bulletin, error) {
	if !s.pol.Now().ValidCategory(d.Category) {
		return storage.Bulletin{}, service.Invalid("category must be one of %s", service.OneOf(s.pol.Now().Bulletins.Categories))
	}
	if err := service.CheckText("title", d.Title, 200, false); err != nil {
		return storage.Bulletin{}, err
	}
	if err := service.CheckText("body", d.Body, 10000, true); err != nil {
		return storage.Bulletin{}, err
	}
	if d.VillageID != "" {
		if _, err := s.store.GetVillage(ctx, d.VillageID); err != nil {
			if service.IsNotFound(err) {
				return storage.Bulletin{}, service.Invalid("unknown village_id %q", d.VillageID)
			}
			return storage.Bulletin{}, err
		}
	}
	now := s.node.Now()
	b := &storage.Bulletin{ID: service.NewID("b_"), VillageID: d.VillageID, Category: d.Category,
		Title: d.Title, Body: d.Body, AuthorID: by.ID, PublishedAt: now}
	ev := &storage.Event{Type: storage.EventBulletin, VillageID: b.VillageID, Body: EventBody(b), CreatedAt: now}
	if err := s.store.CreateBulletin(ctx, b, ev); err != nil {
		return storage.Bulletin{}, err
	}
	b.Seq = ev.Seq
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	s.node.PublishEvent(ctx, ev, EventAudience(ev))
	return *b, nil
}

// List lists bulletins.
func (s *Service) List(ctx context.Context, f storage.BulletinFilter) ([]storage.Bulletin, error) {
	return s.store.ListBulletins(ctx, f)
}

// EventAudience is who a bulletin event is for: everyone for a county-wide
// bulletin, else every member of its village.
func EventAudience(ev *storage.Event) hub.Audience {
	if ev.VillageID == "" {
		return hub.Audience{AnyRoles: hub.AllRoles}
	}
	return hub.Audience{Villages: []string{ev.VillageID}, VillageRoles: hub.AllRoles}
}
