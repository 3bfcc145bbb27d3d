package alerting

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/storage"
)

// progressInterval: alert_progress goes out at most this often per alert
// while it changes, and the latest state within one interval of the last
// change (docs/API.md asks for at most a few a second, latest within 1 s).
const progressInterval = 250 * time.Millisecond

// progressPusher pushes alert_progress to those who may see it.
type progressPusher struct {
	s *Service

	mu    sync.Mutex // guards dirty
	dirty map[string]bool
}

func newProgressPusher(s *Service) *progressPusher {
	return &progressPusher{s: s, dirty: make(map[string]bool)}
}

// touch marks an alert's progress as changed.
func (p *progressPusher) touch(alertID string) {
	p.mu.Lock()
	p.dirty[alertID] = true
	p.mu.Unlock()
}

// touchAfter marks an alert's progress as changed after d.
func (p *progressPusher) touchAfter(alertID string, d time.Duration) {
	time.AfterFunc(d, func() { p.touch(alertID) })
}

func (p *progressPusher) run(ctx context.Context) {
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.push(ctx)
		}
	}
}

func (p *progressPusher) push(ctx context.Context) {
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = make(map[string]bool)
	p.mu.Unlock()
	for id := range dirty {
		// An active alert is in the cache: no store read for it every tick.
		a, ok := p.s.alerts.get(id)
		if !ok {
			var err error
			if a, err = p.s.store.GetAlert(ctx, id); err != nil {
				continue
			}
		}
		prog, err := p.s.ProgressOf(ctx, &a)
		if err != nil {
			p.s.log.Error("alert progress", "alert", id, "err", err)
			continue
		}
		// status (an extension) lets pages see a cancel or expiry at once.
		data, _ := json.Marshal(map[string]any{"type": "alert_progress", "alert_id": id,
			"status": p.s.Status(&a), "progress": prog})
		p.s.node.Publish(ctx, &hub.Envelope{Type: "alert_progress", At: p.s.now(), Frame: data, Lossy: true,
			Audience: progressAudience(a.Villages)})
	}
}

// progressAudience: commanders and admins, and the cadres of the alert's
// villages (docs/API.md "see alert progress").
func progressAudience(villages []string) hub.Audience {
	return hub.Audience{AnyRoles: hub.Roles(storage.RoleCommander, storage.RoleAdmin),
		Villages: villages, VillageRoles: hub.RoleBit(storage.RoleCadre)}
}
