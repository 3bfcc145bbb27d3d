package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/longyou/hub/service/members"
	"github.com/longyou/hub/storage"
)

// PrivacyConfig bounds uploads and says how long the hub keeps personal
// data (docs/API.md v1.4, README "Security and privacy"). The zero value
// of each field picks the default its comment names; a negative size,
// count or duration turns that limit or that retention off (kept forever).
type PrivacyConfig struct {
	// MediaMemberBytes and MediaMemberFiles bound what one member uploads
	// in 24 hours. Zero: 50 MiB and 200 files.
	MediaMemberBytes int64
	MediaMemberFiles int
	// MediaTotalBytes bounds every upload kept. Zero: 20 GiB.
	MediaTotalBytes int64
	// MediaMaxPixels bounds an image's width × height. Zero: 40,000,000.
	MediaMaxPixels int

	// RetainLive is how long a live position stays in the store; at least
	// the LiveTTL. Zero: 12 hours.
	RetainLive time.Duration
	// RetainNotes is how long the free-text notes of answers are kept.
	// Zero: 180 days.
	RetainNotes time.Duration
	// RetainReports is how long a closed report (resolved, rejected) keeps
	// its text and photos after its last change. Zero: 365 days.
	RetainReports time.Duration
	// RetainOrphans is how long an upload attached to no report is kept.
	// Zero: 24 hours.
	RetainOrphans time.Duration
	// RetainOutbox is how long a sent message keeps the provider's id of
	// it (which finds its number and text at the provider). Zero: 90 days.
	RetainOutbox time.Duration
	// RetentionEvery is how often the retention job runs (the first run a
	// minute after start). Zero: every hour.
	RetentionEvery time.Duration
}

func (c *PrivacyConfig) setDefaults(liveTTL time.Duration) error {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.RetainLive, 12*time.Hour)
	def(&c.RetainNotes, 180*24*time.Hour)
	def(&c.RetainReports, 365*24*time.Hour)
	def(&c.RetainOrphans, 24*time.Hour)
	def(&c.RetainOutbox, 90*24*time.Hour)
	def(&c.RetentionEvery, time.Hour)
	if c.RetentionEvery < 0 {
		c.RetentionEvery = time.Hour
	}
	if liveTTL <= 0 {
		liveTTL = 30 * time.Minute
	}
	if c.RetainLive > 0 && c.RetainLive < liveTTL {
		return fmt.Errorf("server: RetainLive %v is shorter than the LiveTTL %v: live positions in use would be cleared", c.RetainLive, liveTTL)
	}
	return nil
}

func (c *PrivacyConfig) mediaLimits() members.MediaLimits {
	return members.MediaLimits{MemberBytes: c.MediaMemberBytes, MemberFiles: c.MediaMemberFiles,
		TotalBytes: c.MediaTotalBytes, MaxPixels: c.MediaMaxPixels}
}

// privacyStore is what the node itself asks of the store about personal
// data: the retention job, and the write probe readiness runs.
type privacyStore interface {
	ApplyRetention(ctx context.Context, r storage.Retention) (storage.RetentionResult, error)
	ProbeWrite(ctx context.Context) error
}

// retention is the job that clears personal data past its time, on every
// node (the store's statements are idempotent; nodes that run together
// find little left to do). It runs on a ticker of its own rather than in
// the scheduler, whose jobs are the reports' due times.
type retention struct {
	s       *Server
	cleared *prometheus.CounterVec
}

func newRetention(s *Server) *retention {
	r := &retention{s: s, cleared: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hub_retention_cleared_total",
		Help: "Rows of personal data the retention job cleared, by kind (live, notes, reports, media, outbox).",
	}, []string{"kind"})}
	s.cfg.Registry.MustRegister(r.cleared)
	return r
}

// run runs the job a minute after start, then every RetentionEvery, until
// ctx ends.
func (r *retention) run(ctx context.Context) {
	wait := time.Minute
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := r.s.RunRetention(ctx); err != nil && ctx.Err() == nil {
			r.s.cfg.Logger.WarnContext(ctx, "retention job failed; it runs again later", "err", err)
		}
		wait = r.s.cfg.Privacy.RetentionEvery
	}
}

// cutoff is now - d, or zero (nothing) when d is negative.
func cutoff(now time.Time, d time.Duration) time.Time {
	if d < 0 {
		return time.Time{}
	}
	return now.Add(-d)
}

// RunRetention clears, now (by Config.Clock), what Config.Privacy says is
// past its time: live positions, answers' notes, closed reports' text and
// photos, orphan uploads, sent messages' provider ids. The scheduler runs
// it every RetentionEvery; tests call it after moving the clock.
func (s *Server) RunRetention(ctx context.Context) (storage.RetentionResult, error) {
	now := s.cfg.Clock().UTC()
	p := &s.cfg.Privacy
	var closed []string
	for _, st := range s.cfg.Policy.Reports.Statuses {
		if s.cfg.Policy.Final(st) {
			closed = append(closed, st)
		}
	}
	res, err := s.cfg.Store.ApplyRetention(ctx, storage.Retention{
		LiveBefore:     cutoff(now, p.RetainLive),
		NotesBefore:    cutoff(now, p.RetainNotes),
		ReportsBefore:  cutoff(now, p.RetainReports),
		ClosedStatuses: closed,
		OrphansBefore:  cutoff(now, p.RetainOrphans),
		OutboxBefore:   cutoff(now, p.RetainOutbox),
	})
	if r := s.retention; r != nil {
		for kind, n := range map[string]int{"live": res.Live, "notes": res.Notes, "reports": res.Reports,
			"media": res.Media, "outbox": res.Outbox} {
			r.cleared.WithLabelValues(kind).Add(float64(n))
		}
	}
	if res.Total() > 0 {
		s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "retention: personal data past its time cleared",
			slog.Int("live_positions", res.Live), slog.Int("notes", res.Notes), slog.Int("reports", res.Reports),
			slog.Int("media", res.Media), slog.Int("outbox", res.Outbox))
	}
	return res, err
}
