// Package reports is the hazard report service ("snap and report"):
// create (durably, then fan-out), list, read, and handle (status and
// feedback), under the rules of policy (kinds, time limits, the state
// machine, the rate limit), and the due-time seam (see due.go).
package reports

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/schedule"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Store is what the report service reads and writes.
type Store interface {
	MediaInfo(ctx context.Context, id string) (storage.Media, error)
	CreateReport(ctx context.Context, r *storage.Report, ev *storage.Event, also ...*storage.Event) error
	UpdateReport(ctx context.Context, r *storage.Report, fromStatus string, ev *storage.Event, also ...*storage.Event) error
	GetReport(ctx context.Context, id string) (storage.Report, error)
	ListReports(ctx context.Context, f storage.ReportFilter) ([]storage.Report, error)
	GetVillage(ctx context.Context, id string) (storage.Village, error)
	// Handling (v1.6, handling.go).
	ListVillages(ctx context.Context) ([]storage.Village, error)
	storage.Handling
}

const maxPhotos = 9

// Draft is a new report.
type Draft struct {
	Kind   string
	Text   string
	Lat    *float64 // required
	Lng    *float64 // required
	Photos []string // media ids of the reporter's uploads
	// ClientID (optional) is the reporter's idempotency key: sending the
	// same report again after a lost answer returns the stored one.
	ClientID string
	// Visibility is private ("" too) or public (v1.6, the village board).
	Visibility string
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required
	Logger *slog.Logger
	// Policy holds the report kinds and their time limits, the state
	// machine and the rate limit, read with the node's clock. Nil means
	// policy.Default().
	Policy *policy.Policy
	// Scheduler runs each open report's due-time job (see due.go). Nil
	// means no jobs: due_at is still computed and stored.
	Scheduler *schedule.Scheduler
	// Places names the nearest named road, river or hamlet within maxM of
	// a position (the travel network); nil: reports carry only their
	// village's name.
	Places func(p geo.LatLng, maxM float64) (geo.Place, bool)
	// Staff returns who handles a matter of a village at a level
	// (members.Service.StaffAt): the readers of report_update events and
	// notices, and who may be assigned. Nil: nobody but the reporter.
	Staff func(ctx context.Context, villageID, level string) ([]string, error)
	// Wake tells the SMS outbox that reminders were queued. Nil: none.
	Wake func()
	// Board returns the board event of a public report as created or
	// changed (v1.6, service/board), appended in the report's
	// transaction and published with it; nil: none. Nil means no board.
	Board func(ctx context.Context, rep *storage.Report) *storage.Event
}

// Service is the report service.
type Service struct {
	store   Store
	node    *hub.Node
	log     *slog.Logger
	metrics *metrics.Metrics
	pol     *policy.Policy
	sched   *schedule.Scheduler
	limits  *service.Limiter
	places  func(p geo.LatLng, maxM float64) (geo.Place, bool)
	staff   func(ctx context.Context, villageID, level string) ([]string, error)
	wake    func()
	board   func(ctx context.Context, rep *storage.Report) *storage.Event

	villageMu sync.Mutex
	villages  map[string]string // id -> name, filled as reports are viewed
}

// New returns the service. Start schedules the open reports' due times.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	return &Service{store: cfg.Store, node: cfg.Node, log: cfg.Logger, metrics: cfg.Node.Metrics(),
		pol: cfg.Policy, sched: cfg.Scheduler, limits: service.NewLimiter(cfg.Policy, cfg.Node.Now),
		places: cfg.Places, villages: map[string]string{}, staff: cfg.Staff, wake: cfg.Wake, board: cfg.Board}
}

// PlaceRadiusM is how far the nearest named place may be (docs/API.md
// v1.3: "name empty when the network has none within 2 km").
const PlaceRadiusM = 2000

// View is the wire form of a report with its place.
func (s *Service) View(ctx context.Context, r *storage.Report) Report {
	v := View(r)
	v.Place = s.place(ctx, r)
	return v
}

// Views is View of a list; nil stays nil.
func (s *Service) Views(ctx context.Context, rs []storage.Report) []Report {
	if rs == nil {
		return nil
	}
	out := make([]Report, len(rs))
	for i := range rs {
		out[i] = s.View(ctx, &rs[i])
	}
	return out
}

func (s *Service) eventBody(ctx context.Context, r *storage.Report) json.RawMessage {
	v := s.View(ctx, r)
	v.Seq = 0
	body, _ := json.Marshal(&v)
	return body
}

func (s *Service) place(ctx context.Context, r *storage.Report) *Place {
	pl := &Place{Village: s.villageName(ctx, r.VillageID)}
	if s.places != nil {
		if np, ok := s.places(geo.LatLng{Lat: r.Lat, Lng: r.Lng}, PlaceRadiusM); ok {
			pl.Name, pl.Kind, pl.DistM = np.Name, np.Kind, int(np.DistM+0.5)
		}
	}
	return pl
}

// villageName is a village's name, cached (names do not change through
// the API); "" when it cannot be read now.
func (s *Service) villageName(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	s.villageMu.Lock()
	name, ok := s.villages[id]
	s.villageMu.Unlock()
	if ok {
		return name
	}
	v, err := s.store.GetVillage(ctx, id)
	if err != nil {
		return ""
	}
	s.villageMu.Lock()
	s.villages[id] = v.Name
	s.villageMu.Unlock()
	return v.Name
}

func (s *Service) now() time.Time { return s.node.Now() }

// Create validates, stores (durably) and fans out a report. Its village is
// the one where it is (villageAt), its reporter's when none is near.
func (s *Service) Create(ctx context.Context, d Draft, by service.Actor) (storage.Report, error) {
	if s.node.ShuttingDown() {
		return storage.Report{}, service.ErrUnavailable
	}
	if !s.pol.Now().ValidReportKind(d.Kind) {
		return storage.Report{}, service.Invalid("kind must be one of %s", service.OneOf(s.pol.Now().ReportKindNames()))
	}
	if err := service.CheckText("text", d.Text, 2000, true); err != nil {
		return storage.Report{}, err
	}
	if d.Lat == nil || d.Lng == nil || !service.ValidLatLng(*d.Lat, *d.Lng) {
		return storage.Report{}, service.Invalid("lat and lng are required, lat in [-90, 90], lng in [-180, 180]")
	}
	if len(d.ClientID) > 64 {
		return storage.Report{}, service.Invalid("client_id is at most 64 characters")
	}
	if len(d.Photos) > maxPhotos {
		return storage.Report{}, service.Invalid("at most %d photos", maxPhotos)
	}
	if d.Visibility == "" {
		d.Visibility = storage.VisibilityPrivate
	}
	if d.Visibility != storage.VisibilityPrivate && d.Visibility != storage.VisibilityPublic {
		return storage.Report{}, service.Invalid("visibility must be private or public")
	}
	// The rate limit before any store read: a flood costs no more than its
	// validation (issue 13: the photos' blobs were read first).
	if !s.limits.Allow(by.ID, policy.ActionReport) {
		return storage.Report{}, service.Errorf(service.CodeRateLimited, "too many reports; wait a moment")
	}
	if err := s.checkPhotos(ctx, d.Photos, by.ID); err != nil {
		return storage.Report{}, err
	}
	now := s.now()
	photos := d.Photos
	if photos == nil {
		photos = []string{}
	}
	villageID, err := s.villageAt(ctx, *d.Lat, *d.Lng, by.VillageID)
	if err != nil {
		return storage.Report{}, err
	}
	dl := s.pol.Now().DeadlinesOf(d.Kind, villageID, now)
	rep := &storage.Report{
		ID: service.NewID("r_"), Kind: d.Kind, Text: d.Text, Lat: *d.Lat, Lng: *d.Lng,
		Photos: photos, MemberID: by.ID, VillageID: villageID, Status: s.pol.Now().Reports.Initial,
		CreatedAt: now, UpdatedAt: now, DueAt: dl.Due, ClientID: d.ClientID,
		ReporterVillageID: by.VillageID, Level: storage.LevelVillage, RemindAt: dl.Remind,
		EscalateAt: dl.Escalate, CountyAt: dl.County,
		Visibility: d.Visibility,
	}
	ev := s.reportEvent(ctx, rep)
	also := s.boardEvents(ctx, rep)
	if err := s.store.CreateReport(ctx, rep, ev, also...); err != nil {
		if errors.Is(err, storage.ErrConflict) && d.ClientID != "" {
			// A retry of a report that was stored: answer with it again.
			rs, lerr := s.store.ListReports(ctx, storage.ReportFilter{MemberID: by.ID, ClientID: d.ClientID, Limit: 1})
			if lerr == nil && len(rs) == 1 {
				return rs[0], nil
			}
		}
		return storage.Report{}, err
	}
	rep.Seq = ev.Seq
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	s.node.PublishEvent(ctx, ev, audience(rep))
	s.publishAlso(ctx, also)
	s.scheduleSteps(rep)
	return *rep, nil
}

// audience of a report event: the reporter, commanders and admins, and the
// cadres of its village.
func audience(rep *storage.Report) hub.Audience { return reportAudience(rep.MemberID, rep.VillageID) }

// EventAudience is who a stored report event is for (the reporter, the
// commanders and admins, the cadres of its village).
func EventAudience(ev *storage.Event) hub.Audience { return reportAudience(ev.MemberID, ev.VillageID) }

func reportAudience(reporter, village string) hub.Audience {
	return hub.Audience{Members: []string{reporter},
		AnyRoles: hub.Roles(storage.RoleCommander, storage.RoleAdmin),
		Villages: []string{village}, VillageRoles: hub.RoleBit(storage.RoleCadre)}
}

func (s *Service) reportEvent(ctx context.Context, rep *storage.Report) *storage.Event {
	return &storage.Event{Type: storage.EventReport, VillageID: rep.VillageID, MemberID: rep.MemberID,
		Body: s.eventBody(ctx, rep), CreatedAt: rep.UpdatedAt}
}

// CheckStatus validates a status filter or a new status.
func (s *Service) CheckStatus(status string) error {
	if !s.pol.Now().ValidStatus(status) {
		return service.Invalid("status must be %s", service.EitherOf(s.pol.Now().Reports.Statuses))
	}
	return nil
}

// List lists reports.
func (s *Service) List(ctx context.Context, f storage.ReportFilter) ([]storage.Report, error) {
	return s.store.ListReports(ctx, f)
}

// Get reads a report.
func (s *Service) Get(ctx context.Context, id string) (storage.Report, error) {
	return s.store.GetReport(ctx, id)
}

// Patch changes a report's status, feedback, assignee, or several.
type Patch struct {
	Status   *string
	Feedback *string
	// AssigneeID (v1.6): a member who handles the report at its level
	// (Config.Staff); "" unassigns.
	AssigneeID *string
}

// CheckPatch validates a patch before the report is read.
func (s *Service) CheckPatch(p Patch) error {
	if p.Status == nil && p.Feedback == nil && p.AssigneeID == nil {
		return service.Invalid("give status, feedback, assignee_id or several")
	}
	if p.AssigneeID != nil && len(*p.AssigneeID) > 64 {
		return service.Invalid("assignee_id is at most 64 characters")
	}
	if p.Status != nil {
		if err := s.CheckStatus(*p.Status); err != nil {
			return err
		}
	}
	if p.Feedback != nil {
		if err := service.CheckText("feedback", *p.Feedback, 2000, true); err != nil {
			return err
		}
	}
	return nil
}

// Update applies a checked patch to rep (as read with Get) by actor by,
// records each change in the report's history, stores it if the report
// did not change meanwhile (else reads it again and retries), and fans it
// out (the report event and report_update).
func (s *Service) Update(ctx context.Context, rep storage.Report, p Patch, by service.Actor) (storage.Report, error) {
	for attempt := 0; ; attempt++ {
		out, err := s.update(ctx, rep, p, by)
		if !errors.Is(err, storage.ErrConflict) || attempt == 4 {
			return out, err
		}
		if rep, err = s.store.GetReport(ctx, rep.ID); err != nil {
			return storage.Report{}, err
		}
	}
}

func (s *Service) update(ctx context.Context, rep storage.Report, p Patch, by service.Actor) (storage.Report, error) {
	from := rep
	now := s.now()
	var hist []storage.ReportHistory
	add := func(change, from, to string) {
		hist = append(hist, storage.ReportHistory{ReportID: rep.ID, At: now, Actor: by.ID, Change: change, From: from, To: to})
	}
	if p.Status != nil && *p.Status != from.Status {
		// The new status was checked (CheckPatch): a refusal is the state
		// machine's (or a stored status the policy no longer knows), so
		// the report is not in a state that allows it: 409, with the
		// policy's message ("a resolved report cannot become new").
		if err := s.pol.Now().Transition(from.Status, *p.Status); err != nil {
			return storage.Report{}, service.Errorf(service.CodeConflict, "%s", err.Error())
		}
		rep.Status = *p.Status
		add(storage.ChangeStatus, from.Status, rep.Status)
		if s.pol.Now().Final(rep.Status) {
			rep.ClosedAt = now
		}
	}
	if p.Feedback != nil && *p.Feedback != from.Feedback {
		rep.Feedback = *p.Feedback
		add(storage.ChangeFeedback, "", "") // the feedback is on the report, public to its readers
	}
	if p.AssigneeID != nil && *p.AssigneeID != from.AssigneeID {
		if *p.AssigneeID != "" {
			if err := s.checkAssignee(ctx, &rep, *p.AssigneeID); err != nil {
				return storage.Report{}, err
			}
		}
		rep.AssigneeID = *p.AssigneeID
		add(storage.ChangeAssignee, from.AssigneeID, rep.AssigneeID)
	}
	if len(hist) == 0 {
		return rep, nil // nothing changes: nothing is written or announced
	}
	rep.UpdatedAt = now
	rep.UpdatedBy = by.ID
	if err := s.change(ctx, &rep, from.Seq, hist, nil, nil); err != nil {
		return storage.Report{}, err
	}
	if s.pol.Now().Final(rep.Status) {
		s.cancelSteps(rep.ID) // its job would find it closed; no need to wait for it
	}
	return rep, nil
}
