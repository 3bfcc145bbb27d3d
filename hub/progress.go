package hub

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// progressInterval: alert_progress goes out at most this often per alert
// while it changes, and the latest state within one interval of the last
// change (docs/API.md asks for at most a few a second, latest within 1 s).
const progressInterval = 250 * time.Millisecond

// progressPusher pushes alert_progress to those who may see it.
type progressPusher struct {
	h *Hub

	mu    sync.Mutex // guards dirty
	dirty map[string]bool
}

func newProgressPusher(h *Hub) *progressPusher {
	return &progressPusher{h: h, dirty: make(map[string]bool)}
}

// touch marks an alert's progress as changed.
func (p *progressPusher) touch(alertID string) {
	p.mu.Lock()
	p.dirty[alertID] = true
	p.mu.Unlock()
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
		a, err := p.h.store.GetAlert(ctx, id)
		if err != nil {
			continue
		}
		prog, err := p.h.store.AlertProgress(ctx, id)
		if err != nil {
			p.h.log.Error("alert progress", "alert", id, "err", err)
			continue
		}
		// status (an extension) lets pages see a cancel or expiry at once.
		data, _ := json.Marshal(map[string]any{"type": "alert_progress", "alert_id": id,
			"status": p.h.alertView(&a).Status, "progress": prog})
		env := &Envelope{Type: envProgress, AlertID: id, At: p.h.now(), Frame: data, Villages: a.Villages}
		if err := p.h.broker.Publish(ctx, env); err != nil {
			p.h.log.Error("publish alert progress", "alert", id, "err", err)
		}
	}
}
