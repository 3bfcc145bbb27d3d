// Package alerting is the alert service: targeting, sending (durably, then
// fan-out), cancelling, answers (batched), delivery marks, live progress,
// and the coverage of members who move into an active alert's area.
package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/uber/h3-go/v4"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
)

// Store is what the alert service reads and writes.
type Store interface {
	GetVillage(ctx context.Context, id string) (storage.Village, error)
	ListVillages(ctx context.Context) ([]storage.Village, error)
	GetMembers(ctx context.Context, ids []string) ([]storage.Member, error)
	CreateAlert(ctx context.Context, a *storage.Alert, ev *storage.Event, targets []storage.Target) error
	CancelAlert(ctx context.Context, id string, at time.Time, ev *storage.Event) (storage.Alert, error)
	GetAlert(ctx context.Context, id string) (storage.Alert, error)
	ListAlerts(ctx context.Context, f storage.AlertFilter) ([]storage.Alert, error)
	AddTargets(ctx context.Context, alertID string, targets []storage.Target, at time.Time) ([]string, error)
	IsTargeted(ctx context.Context, alertID, memberID string) (bool, error)
	MarkDelivered(ctx context.Context, ds []storage.Delivery) error
	RecordAcks(ctx context.Context, acks []storage.Ack) (ok []bool, err error)
	AlertProgress(ctx context.Context, alertID string) (storage.Progress, error)
	ListRecipients(ctx context.Context, alertID string, f storage.RecipientFilter) ([]storage.Recipient, error)
	ActiveAlertsFor(ctx context.Context, memberID string, now time.Time) ([]storage.Event, error)
	storage.Queue // the SMS ETA (eta.go)
	ChannelCounts(ctx context.Context, alertID, channel string) (storage.SMSCounts, error)
	ChannelStates(ctx context.Context, alertID, channel string) (map[string]string, error)
	storage.AlertUpdates // v1.6: CAP imports, updates in place (update.go)
	storage.CAPFeeds     // v1.6: the CAP feeds' pending messages (update.go)
}

// SMS is what alerting asks of the SMS outbox dispatcher. This is the
// only call into SMS (with the per-target due time, smsDue): the store
// writes the SMS rows with the alert, its targets and its cancel (the
// all-clear included).
type SMS interface {
	// Wake asks the dispatcher to look for due rows now.
	Wake()
}

// defaultPolicy serves ValidateAt, which has no Service at hand.
var defaultPolicy = policy.Default()

// Draft is an alert to send or preview.
type Draft struct {
	Kind     string
	Severity string
	Title    string
	Body     string
	Area     *geo.Area // required
	// Roles limits the audience; nil means every role (an empty, non-nil
	// list is invalid).
	Roles []storage.Role
	// ExpiresAt is when it ends; nil means 24 hours after sending.
	ExpiresAt *time.Time
	// SMSFallbackAfterS, when not nil, asks for SMS: at once to members
	// not connected, after this many seconds to those who did not answer.
	SMSFallbackAfterS *int
	// VoiceAfterS asks for calls (voice.go): nil is the policy's default
	// (extreme alerts with SMS), VoiceOff none.
	VoiceAfterS *int
	// v1.6 (update.go): an exercise (staff roles only), what a CAP
	// message said, and the CAP message it is imported from.
	Exercise bool
	Meta     json.RawMessage
	Import   *storage.CAPImport
}

// Sent is the outcome of Send.
type Sent struct {
	Alert     storage.Alert
	Targeted  int
	Connected int
	Reach     *travel.Reach // a reach area: how it was computed
	// Approximate counts the targets placed at their village's centre,
	// NoPhone those without a phone (v1.5).
	Approximate, NoPhone int
}

// Preview is who a draft would address now.
type Preview struct {
	Targeted  int
	Connected int
	// Approximate counts the targets placed at their village's centre,
	// NoPhone those without a phone (v1.5).
	Approximate, NoPhone int
	Cells                []string
	Reach                *travel.Reach // a reach area: how it was computed
	// SMS is how many SMS the alert would queue and how long the first
	// ones take to send (eta.go).
	SMS ChannelETA
	// Voice is the same for the calls (nil when the draft makes none):
	// Messages and Later as SMS (each SMS is followed by a call unless
	// its member answers), EtaS the seconds until the first ones are
	// placed: voice_after_s plus sending them at the calls' rate behind
	// the calls queued now.
	Voice *ChannelETA
	// Outline is the reached area of the area's mode as GeoJSON
	// MultiPolygon coordinates, for a reach computed on the network.
	Outline [][][][2]float64
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required
	SMS    SMS       // required
	Logger *slog.Logger
	// Policy holds the alert kinds, severities (their ranks are the SMS
	// priorities) and expiry limits, read with the node's clock. Nil means
	// policy.Default().
	Policy *policy.Policy
	// Travel computes reach areas over the travel network. Nil: reach is
	// always the straight-line circle.
	Travel *travel.Service
	// Rates are the outbox channels' rates in messages per second, by
	// channel name (storage.ChannelSMS), for the expected time to send an
	// alert's messages (eta.go). A channel without one: no ETA (0).
	Rates map[string]float64
}

// Service is the alert service.
type Service struct {
	store   Store
	node    *hub.Node
	dir     *hub.Directory
	sms     SMS
	log     *slog.Logger
	metrics *metrics.Metrics
	pol     *policy.Policy
	alerts  *activeAlerts
	travel  *travel.Service
	limits  *service.Limiter // alerts per sender (limit.go), answers on behalf (behalf.go)
	rates   map[string]float64
	etas    etaCache // the alerts' SMS ETAs, reused for a few seconds (eta.go)

	acks       *ackBatcher
	deliveries *deliveryRecorder
	progress   *progressPusher
	order      alertLocks // a move-in's push before its alert's cancel (cancel.go)

	bg   sync.WaitGroup
	stop context.CancelFunc
}

// New loads the active alerts from the store.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	if cfg.Travel == nil {
		cfg.Travel = travel.New(travel.Config{Logger: cfg.Logger}) // no store: never loads a network
	}
	s := &Service{
		store: cfg.Store, node: cfg.Node, dir: cfg.Node.Directory(), sms: cfg.SMS,
		log: cfg.Logger, metrics: cfg.Node.Metrics(), pol: cfg.Policy, alerts: newActiveAlerts(),
		travel: cfg.Travel, limits: service.NewLimiter(cfg.Policy, cfg.Node.Now), rates: cfg.Rates,
	}
	s.acks = newAckBatcher(s)
	s.deliveries = &deliveryRecorder{s: s}
	s.progress = newProgressPusher(s)
	if err := s.loadActiveAlerts(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Start runs the background loops: the answer batcher, the delivery
// recorder, the progress pusher, and the pruning of expired alerts.
func (s *Service) Start() {
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	for _, loop := range []func(context.Context){s.acks.run, s.deliveries.run, s.progress.run, s.prune} {
		s.bg.Go(func() { loop(bg) })
	}
}

// Stop stops the loops after they stored what they accepted.
func (s *Service) Stop() {
	if s.stop != nil {
		s.stop()
	}
	s.bg.Wait()
}

func (s *Service) now() time.Time { return s.node.Now() }

// SeverityRank is the SMS priority of a severity under the service's
// policy (higher first; 0 for an unknown one).
func (s *Service) SeverityRank(severity string) int { return s.pol.Now().SeverityRank(severity) }

func (s *Service) prune(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.alerts.prune(s.now())
		}
	}
}

// Validate checks everything but village existence (and permissions,
// which the API checks).
func (s *Service) Validate(d *Draft) error { return d.validate(s.pol.Now(), s.now()) }

func (d *Draft) validate(pol *policy.Policy, now time.Time) error {
	if !pol.ValidAlertKind(d.Kind) {
		return service.Invalid("kind must be %s", service.EitherOf(pol.Alerts.Kinds))
	}
	if !pol.ValidSeverity(d.Severity) {
		names := make([]string, len(pol.Alerts.Severities))
		for i, sv := range pol.Alerts.Severities {
			names[i] = sv.Name
		}
		return service.Invalid("severity must be %s", service.EitherOf(names))
	}
	if err := service.CheckText("title", d.Title, 200, false); err != nil {
		return err
	}
	if err := service.CheckText("body", d.Body, 4000, true); err != nil {
		return err
	}
	if d.Area == nil {
		return service.Invalid("area is required")
	}
	if err := d.Area.Normalize(); err != nil {
		return service.GeoErr(err)
	}
	if d.Roles != nil {
		if len(d.Roles) == 0 {
			return service.Invalid("roles must not be empty (omit it to address every role)")
		}
		for _, r := range d.Roles {
			if !hub.ValidRole(r) {
				return service.Invalid("roles: unknown role %q", r)
			}
		}
	}
	if d.ExpiresAt != nil {
		if !d.ExpiresAt.After(now) {
			return service.Invalid("expires_at must be in the future")
		}
		if maxTTL := pol.Alerts.MaxTTL.D(); d.ExpiresAt.Sub(now) > maxTTL {
			return service.Invalid("expires_at must be at most %s ahead", spell(maxTTL))
		}
	}
	maxFallback := int(pol.Alerts.MaxSMSFallback.D() / time.Second)
	if v := d.SMSFallbackAfterS; v != nil && (*v < 0 || *v > maxFallback) {
		return service.Invalid("sms_fallback_after_s must be between 0 and %d", maxFallback)
	}
	if err := d.checkExercise(); err != nil {
		return err
	}
	return d.validateVoice(pol)
}

// audience is who a draft addresses, now.
type audience struct {
	ids    []string
	region *geo.Region      // a geographic area (for a reach: the area's mode)
	reach  *travel.ReachSet // a reach area
}

func (s *Service) resolveAudience(ctx context.Context, d *Draft) (*audience, error) {
	if err := d.validate(s.pol.Now(), s.now()); err != nil {
		return nil, err
	}
	mask := hub.Roles(d.Roles...)
	if d.Exercise {
		mask = exerciseMask(d.Roles)
	}
	au := &audience{}
	if !d.Area.Geographic() {
		for _, id := range d.Area.Villages {
			if _, err := s.store.GetVillage(ctx, id); err != nil {
				if service.IsNotFound(err) {
					return nil, service.Invalid("area.villages: unknown village %q", id)
				}
				return nil, err
			}
		}
		au.ids = s.dir.InVillages(d.Area.Villages, mask)
		return au, nil
	}
	if d.Area.Reach != nil {
		return au, s.resolveReach(au, d.Area, mask)
	}
	r, err := geo.Compile(*d.Area)
	if err != nil {
		return nil, service.GeoErr(err)
	}
	au.region = r
	au.ids = s.dir.InRegion(r, mask, s.now())
	return au, nil
}

// resolveReach targets a reach area: each member with a travel mode of its
// own by that mode's reach, the others by the area's mode (docs/API.md
// v1.3), counting how many each mode addressed.
func (s *Service) resolveReach(au *audience, a *geo.Area, mask hub.RoleMask) error {
	rs, err := s.travel.CompileReach(*a, s.dir.Modes())
	if err != nil {
		return service.GeoErr(err)
	}
	au.reach, au.region = rs, rs.Region("")
	now := s.now()
	areaMode := rs.Reach.Mode
	compiled := map[string]bool{}
	for _, m := range rs.Modes() {
		compiled[m] = true
	}
	byMode := map[string]int{}
	for _, m := range rs.Modes() {
		keep := func(x string) bool { return x == m }
		if m == areaMode {
			keep = func(x string) bool { return !compiled[x] || x == m }
		}
		ids := s.dir.InRegionBy(rs.Region(m), mask, now, keep)
		byMode[m] += len(ids)
		au.ids = append(au.ids, ids...)
	}
	for _, m := range []string{geo.ModeWalk, geo.ModeBike, geo.ModeMotorbike, geo.ModeDrive} {
		byMode[m] += 0
	}
	reach := *rs.Reach
	reach.ByMode = byMode
	rs.Reach = &reach
	return nil
}

// Preview tells who a draft would address now; it sends nothing.
func (s *Service) Preview(ctx context.Context, d Draft) (Preview, error) {
	au, err := s.resolveAudience(ctx, &d)
	if err != nil {
		return Preview{}, err
	}
	var cells []string
	if au.region != nil {
		cells = au.region.Cells()
	} else {
		cells = s.memberCells(au.ids)
	}
	if cells == nil {
		cells = []string{}
	}
	onlines := s.node.Online(ctx, au.ids)
	connected := 0
	for _, on := range onlines {
		if on {
			connected++
		}
	}
	p := Preview{Targeted: len(au.ids), Connected: connected, Cells: cells}
	now := s.now()
	p.Approximate, p.NoPhone = s.dir.Placement(au.ids, now)
	draft := &storage.Alert{Severity: d.Severity, SMSFallbackAfterS: d.SMSFallbackAfterS}
	atOnce, later := s.smsCounts(draft, au.ids, onlines, now)
	if p.SMS, err = s.previewETA(ctx, storage.ChannelSMS, s.pol.Now().SeverityRank(d.Severity), atOnce, later); err != nil {
		return Preview{}, err
	}
	if va := s.VoiceAfter(&d); va != nil {
		v, err := s.previewETA(ctx, storage.ChannelVoice, s.pol.Now().SeverityRank(d.Severity), atOnce, later)
		if err != nil {
			return Preview{}, err
		}
		if v.Messages > 0 {
			v.EtaS += *va
		}
		p.Voice = &v
	}
	if au.reach != nil {
		p.Reach = au.reach.Reach
		if iso := au.region.Isochrone(); iso != nil {
			p.Outline = iso.Outline()
		}
	}
	return p, nil
}

// memberCells lists the resolution-7 cells (about 5 km²) holding members,
// to show a villages area on the map.
func (s *Service) memberCells(ids []string) []string {
	now := s.now()
	seen := map[h3.Cell]bool{}
	var out []string
	for _, id := range ids {
		p, ok := s.dir.Position(id, now)
		if !ok {
			continue
		}
		c := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, 7)
		if seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c.String())
	}
	return out
}

// Send validates, targets, stores (durably) and fans out an alert.
func (s *Service) Send(ctx context.Context, d Draft, by service.Actor) (Sent, error) {
	if err := s.allowSend(&d, by); err != nil {
		return Sent{}, err
	}
	au, err := s.resolveAudience(ctx, &d)
	if err != nil {
		return Sent{}, err
	}
	now := s.now()
	area, _ := json.Marshal(d.Area)
	a := &storage.Alert{
		ID: service.NewID("a_"), Kind: d.Kind, Severity: d.Severity, Title: d.Title, Body: d.Body,
		Area: area, Villages: d.Area.Villages, CreatedBy: by.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.pol.Now().Alerts.DefaultTTL.D()), Status: storage.AlertActive,
		SMSFallbackAfterS: d.SMSFallbackAfterS, VoiceAfterS: d.voiceAfter(s.pol.Now()),
	}
	if d.Roles != nil {
		a.Roles = d.Roles
	}
	if d.Exercise {
		a.Roles = exerciseRoles(d.Roles)
	}
	a.Exercise, a.Meta, a.Import = d.Exercise, d.Meta, d.Import
	if d.ExpiresAt != nil {
		a.ExpiresAt = d.ExpiresAt.UTC()
	}
	targets := make([]storage.Target, len(au.ids))
	connected := 0
	onlines := s.node.Online(ctx, au.ids) // every node's members, in a cluster
	for i, id := range au.ids {
		online := onlines[i]
		if online {
			connected++
		}
		targets[i] = storage.Target{MemberID: id, SMSDueAt: s.smsDue(a, id, online, now), SMSPriority: s.pol.Now().SeverityRank(a.Severity)}
		targets[i].VoiceDueAt = voiceDue(a, targets[i].SMSDueAt)
	}
	ev := &storage.Event{Type: storage.EventAlert, AlertID: a.ID, Body: EventBody(a), CreatedAt: now}
	storeStart := time.Now()
	if err := s.store.CreateAlert(ctx, a, ev, targets); err != nil {
		return Sent{}, err
	}
	stored := time.Since(storeStart)
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	aa, err := s.compileActive(*a, au)
	if err != nil {
		return Sent{}, err
	}
	s.alerts.put(aa)
	publishStart := time.Now()
	members := au.ids
	if members == nil {
		members = []string{}
	}
	s.node.PublishEvent(ctx, ev, hub.Audience{Members: members, Alert: a.ID})
	published := time.Since(publishStart)
	if a.SMSFallbackAfterS != nil {
		s.etas.forget() // its SMS may go ahead of other alerts'
	}
	s.sms.Wake()
	// The first progress after the fan-out: reading it now would make the
	// store write the alert's rows while the frames are still going out.
	s.progress.touchAfter(a.ID, storage.FanoutGrace(len(au.ids)))
	s.log.InfoContext(ctx, "alert sent", "alert", a.ID, "kind", a.Kind, "severity", a.Severity,
		"targeted", len(au.ids), "connected", connected, "by", by.ID,
		"store_ms", stored.Milliseconds(), "publish_ms", published.Milliseconds(),
		"total_ms", time.Since(storeStart).Milliseconds())
	sent := Sent{Alert: *a, Targeted: len(au.ids), Connected: connected}
	sent.Approximate, sent.NoPhone = s.dir.Placement(au.ids, now)
	if au.reach != nil {
		sent.Reach = au.reach.Reach
	}
	return sent, nil
}

// smsDue is docs/API.md's fallback policy: with sms_fallback_after_s set, a
// member not connected gets an SMS at once, a connected one after that many
// seconds unless it answered first; without it, no SMS.
func (s *Service) smsDue(a *storage.Alert, memberID string, online bool, now time.Time) time.Time {
	if a.SMSFallbackAfterS == nil || !s.dir.HasPhone(memberID) {
		return time.Time{}
	}
	if !online {
		return now
	}
	return now.Add(time.Duration(*a.SMSFallbackAfterS) * time.Second)
}

// Status is the alert's status as of now: an active alert past its expiry
// is expired.
func (s *Service) Status(a *storage.Alert) string {
	if a.Status == storage.AlertActive && !a.ExpiresAt.After(s.now()) {
		return storage.AlertExpired
	}
	return a.Status
}

// Get reads an alert.
func (s *Service) Get(ctx context.Context, id string) (storage.Alert, error) {
	return s.store.GetAlert(ctx, id)
}

// Progress is an alert's live state, its calls included.
func (s *Service) Progress(ctx context.Context, id string) (storage.Progress, error) {
	p, err := s.store.AlertProgress(ctx, id)
	if err != nil {
		return p, err
	}
	if !s.hasVoice(ctx, id) {
		return p, nil // no calls: no second pass over a big alert's rows
	}
	p.Voice, err = s.store.ChannelCounts(ctx, id, storage.ChannelVoice)
	return p, err
}

var responseFilters = []string{"", "none", storage.RespReceived, storage.RespSafe, storage.RespNeedHelp, storage.RespComing, storage.RespUnavailable}

// CheckResponseFilter validates a recipients filter.
func CheckResponseFilter(resp string) error {
	if !slices.Contains(responseFilters, resp) {
		return service.Invalid("response must be received, safe, need_help, coming, unavailable or none")
	}
	return nil
}

// Recipients lists an alert's recipients, filtered by response.
func (s *Service) Recipients(ctx context.Context, id, response string) ([]storage.Recipient, error) {
	if err := CheckResponseFilter(response); err != nil {
		return nil, err
	}
	rs, err := s.store.ListRecipients(ctx, id, storage.RecipientFilter{Response: response})
	if err != nil {
		return nil, err
	}
	return rs, s.voiceStates(ctx, id, rs)
}

// Filter selects alerts to list: Status ("" all, active, cancelled,
// expired) and, when set, Village (the alerts whose area names it), Since
// and Until (made at or after, before); a page of Limit (0: 100) after the
// alert with seq After (0: the newest first).
type Filter struct {
	Status       string
	Village      string
	Since, Until time.Time
	After        int64
	Limit        int
}

// CheckStatusFilter validates a list filter's status.
func CheckStatusFilter(status string) error {
	if !slices.Contains([]string{"", storage.AlertActive, storage.AlertCancelled, storage.AlertExpired}, status) {
		return service.Invalid("status must be active, cancelled or expired")
	}
	return nil
}

// List lists alerts (for those who see alerts by village or county).
func (s *Service) List(ctx context.Context, f Filter) ([]storage.Alert, error) {
	return s.store.ListAlerts(ctx, storage.AlertFilter{Status: f.Status, Now: s.now(), Village: f.Village,
		Since: f.Since, Until: f.Until, After: f.After, Limit: f.Limit})
}

// ActiveFor lists the active alerts addressed to a member.
func (s *Service) ActiveFor(ctx context.Context, memberID string) ([]storage.Alert, error) {
	evs, err := s.store.ActiveAlertsFor(ctx, memberID, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]storage.Alert, 0, len(evs))
	for _, ev := range evs {
		a, err := s.store.GetAlert(ctx, ev.AlertID)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// MemberMoved addresses to a member every active alert that covers it
// now but did not before (it moved in, connected, or was just created) and
// pushes those alerts to its connections.
func (s *Service) MemberMoved(ctx context.Context, memberID string) {
	role, village, ok := s.dir.Member(memberID)
	if !ok {
		return
	}
	now := s.now()
	pos, hasPos := s.dir.Position(memberID, now)
	mode := s.dir.TravelMode(memberID)
	for _, aa := range s.alerts.list(now) {
		if !aa.covers(role, village, mode, pos, hasPos) {
			continue
		}
		// Most connects are of members already addressed: a read first
		// keeps them off the store's single write path.
		if done, err := s.store.IsTargeted(ctx, aa.alert.ID, memberID); err == nil && done {
			continue
		}
		s.moveIn(ctx, aa, memberID)
	}
}

// ProgressChanged marks an alert's progress as changed (SMS outcomes).
func (s *Service) ProgressChanged(alertID string) { s.progress.touch(alertID) }

// ActiveProgressChanged marks the progress of every active alert as
// changed (a status callback whose alert is not known here).
func (s *Service) ActiveProgressChanged() {
	for _, a := range s.alerts.list(s.now()) {
		s.progress.touch(a.alert.ID)
	}
}

func (s *Service) loadActiveAlerts(ctx context.Context) error {
	// Every active alert, however many (they are few: each expires within
	// the policy's maximum TTL).
	as, err := s.store.ListAlerts(ctx, storage.AlertFilter{Status: storage.AlertActive, Now: s.now(), Limit: math.MaxInt32})
	if err != nil {
		return err
	}
	for _, a := range as {
		aa, err := s.compileActive(a, nil)
		if err != nil {
			s.log.Error("cannot compile stored alert", "alert", a.ID, "err", err)
			continue
		}
		s.alerts.put(aa)
	}
	return nil
}

// ValidateAt is Validate at a given time under the default policy (for
// tests and fuzzing).
func ValidateAt(d *Draft, now time.Time) error { return d.validate(&defaultPolicy, now) }

// spell writes a limit as the error messages say it: "7 days", "36
// hours", else as a duration ("90m0s").
func spell(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 24*time.Hour:
		if n := d / (24 * time.Hour); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	case d%time.Hour == 0 && d >= time.Hour:
		if n := d / time.Hour; n != 1 {
			return fmt.Sprintf("%d hours", n)
		}
		return "1 hour"
	}
	return d.String()
}

// EventAudience is who a stored alert or alert_cancel event is for: the
// alert's targets (a node rebuilding the envelope from the store looks up
// its own).
func EventAudience(ev *storage.Event) hub.Audience {
	if ev.Type == storage.EventAlertUpdate && ev.MemberID != "" {
		return hub.Audience{Members: []string{ev.MemberID}} // taken out of the area (v1.6)
	}
	return hub.Audience{Alert: ev.AlertID}
}

// Streamed keeps the cache of active alerts (which addresses members who
// move in, or are created, inside an alert's area) current with the alerts
// and cancels accepted by other nodes of a cluster: the node calls it for
// every event it delivers (hub.Hooks.Streamed). An alert not in the cache
// is read from the store here, in stream order, so that its cancel, which
// follows it in the stream, always finds it.
func (s *Service) Streamed(env *hub.Envelope) {
	id := env.Audience.Alert
	if id == "" {
		return
	}
	switch env.Type {
	case storage.EventAlertCancel:
		s.alerts.remove(id)
	case storage.EventAlert, storage.EventAlertUpdate:
		if a, ok := s.alerts.get(id); (ok && (env.Type == storage.EventAlert || a.UpdateSeq >= env.Seq)) || env.Replay {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := s.store.GetAlert(ctx, id)
		if err != nil {
			s.log.Warn("read an alert accepted by another node", "alert", id, "err", err)
			return
		}
		if a.Status != storage.AlertActive || !a.ExpiresAt.After(s.now()) {
			return
		}
		aa, err := s.compileActive(a, nil)
		if err != nil {
			s.log.Error("cannot compile an alert accepted by another node", "alert", id, "err", err)
			return
		}
		s.alerts.put(aa)
	}
}
