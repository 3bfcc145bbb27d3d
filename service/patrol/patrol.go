// Package patrol is the patrol service (docs/API.md v1.6 "patrol rounds,
// visits and tallies", issue 16 parts 4 and 6): a patrol's rounds with the
// track of the live positions it sends while one is open, visits to
// watched households and who is due for one, named emergency periods, and
// the tallies of what each village did in a span of time.
//
// Reports made during a round are linked to it when it ends: the reports
// its patrol created between its start and its end (a member+time window,
// in the store's EndRound transaction), so the report service needs no
// hook; an open round shows the same window counted live.
package patrol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Store is what the patrol service reads and writes.
type Store interface {
	storage.Patrol
	GetHousehold(ctx context.Context, id string) (storage.Household, error)
	ListHouseholds(ctx context.Context, f storage.HouseholdFilter) ([]storage.Household, error)
	MediaInfo(ctx context.Context, id string) (storage.Media, error)
	GetAlert(ctx context.Context, id string) (storage.Alert, error)
	ListVillages(ctx context.Context) ([]storage.Village, error)
	ListReports(ctx context.Context, f storage.ReportFilter) ([]storage.Report, error)
}

// ReportFigures are the report figures of one village in a span (issue 16
// part 1, built by the report service): reports handled on time, overdue,
// solved in the village, and the median time to resolve in seconds.
type ReportFigures struct {
	OnTime          int
	Overdue         int
	SolvedInVillage int
	MedianResolveS  float64
}

// Config configures the Service.
type Config struct {
	Store Store // required
	// Clock is the time; nil means time.Now.
	Clock func() time.Time
	// Policy holds round kinds, visit frequencies and track thinning;
	// nil means policy.Default().
	Policy *policy.Policy
	Logger *slog.Logger
	// ReportFigures returns the report figures per village in [from, to)
	// (the report service's Figures). Nil: the tallies leave those
	// columns out.
	ReportFigures func(ctx context.Context, from, to time.Time, villageIDs []string) (map[string]ReportFigures, error)
	// Publish sends a stored event live (hub.Node.PublishEvent to its
	// addressed audience). Nil: rounds and visits append no events.
	Publish func(ctx context.Context, ev *storage.Event)
	// Staff returns the ids of the cadres of a village (members.Service's
	// StaffAt at the village level): the round and visit events go to
	// them and to the patrol. Nil: to the patrol only.
	Staff func(ctx context.Context, villageID string) ([]string, error)
	// Role, when not nil, tells a member's role from memory (the hub's
	// directory): Located then skips, without reading the store, the
	// positions of members whose role walks no rounds (residents).
	Role func(memberID string) (storage.Role, bool)
}

// Service is the patrol service.
type Service struct {
	store   Store
	now     func() time.Time
	pol     *policy.Policy
	log     *slog.Logger
	figures func(ctx context.Context, from, to time.Time, villageIDs []string) (map[string]ReportFigures, error)
	publish func(ctx context.Context, ev *storage.Event)
	staff   func(ctx context.Context, villageID string) ([]string, error)
	role    func(memberID string) (storage.Role, bool)
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: cfg.Store, now: cfg.Clock, pol: cfg.Policy, log: cfg.Logger, figures: cfg.ReportFigures,
		publish: cfg.Publish, staff: cfg.Staff, role: cfg.Role}
}

// Limits of what a request may carry.
const (
	maxSummary   = 2000
	maxNote      = 2000
	maxPhotos    = 9
	maxName      = 100
	maxSpan      = 366 * 24 * time.Hour
	dueListLimit = 2000 // watched households read per due list
)

// RoundKinds are the round kinds of the policy.
func (s *Service) RoundKinds() []string { return s.pol.Now().RoundKinds() }

// ValidRoundKind reports whether kind is a round kind.
func (s *Service) ValidRoundKind(kind string) bool { return s.pol.Now().ValidRoundKind(kind) }

// StartRound opens a round of kind for by. Conflict when by has an open
// round.
func (s *Service) StartRound(ctx context.Context, by storage.Member, kind string) (storage.Round, error) {
	if !s.pol.Now().ValidRoundKind(kind) {
		return storage.Round{}, service.Invalid("kind must be one of %v", s.pol.Now().RoundKinds())
	}
	r := storage.Round{ID: service.NewID("rd"), MemberID: by.ID, VillageID: by.VillageID, Kind: kind,
		StartedAt: s.now().UTC()}
	ev, err := s.event(ctx, storage.EventRound, r.VillageID, r.MemberID, ViewRound(&r, r.StartedAt), r.StartedAt)
	if err != nil {
		return storage.Round{}, err
	}
	if err := s.store.StartRound(ctx, &r, ev); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return storage.Round{}, service.Errorf(service.CodeConflict, "you have an open round; end it first")
		}
		return storage.Round{}, err
	}
	s.send(ctx, ev)
	return r, nil
}

// send publishes a stored event (nil: none).
func (s *Service) send(ctx context.Context, ev *storage.Event) {
	if ev != nil && s.publish != nil {
		s.publish(ctx, ev)
	}
}

// EndRound ends an open round (r, as read) with a summary.
func (s *Service) EndRound(ctx context.Context, r storage.Round, summary string) (storage.Round, error) {
	if err := service.CheckText("summary", summary, maxSummary, true); err != nil {
		return storage.Round{}, err
	}
	at := s.now().UTC()
	var mk func(storage.Round) *storage.Event
	var ev *storage.Event
	if s.publish != nil {
		// The readers are read before the transaction; the body is the
		// ended round, made inside it.
		base, err := s.event(ctx, storage.EventRound, r.VillageID, r.MemberID, nil, at)
		if err != nil {
			return storage.Round{}, err
		}
		mk = func(ended storage.Round) *storage.Event {
			e := *base
			e.Body, _ = json.Marshal(ViewRound(&ended, at))
			ev = &e
			return ev
		}
	}
	out, err := s.store.EndRound(ctx, r.ID, at, summary, mk)
	if errors.Is(err, storage.ErrConflict) {
		return storage.Round{}, service.Errorf(service.CodeConflict, "the round has ended")
	}
	if err != nil {
		return storage.Round{}, err
	}
	s.send(ctx, ev)
	return out, nil
}

// Round reads a round.
func (s *Service) Round(ctx context.Context, id string) (storage.Round, error) {
	r, err := s.store.GetRound(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return r, fmt.Errorf("round %q: %w", id, service.ErrNotFound)
	}
	return r, err
}

// OpenRound returns a member's open round, if any.
func (s *Service) OpenRound(ctx context.Context, memberID string) (storage.Round, bool, error) {
	return s.store.OpenRound(ctx, memberID)
}

// RoundDetail is a round's track and the ids of its reports: those linked
// at its end, or, while it is open, its patrol's reports so far.
func (s *Service) RoundDetail(ctx context.Context, r *storage.Round) (track []storage.TrackPoint, reports []string, err error) {
	if track, err = s.store.RoundTrack(ctx, r.ID); err != nil {
		return nil, nil, err
	}
	if r.EndedAt != nil {
		reports, err = s.store.RoundReports(ctx, r.ID)
		return track, reports, err
	}
	rs, err := s.store.ListReports(ctx, storage.ReportFilter{MemberID: r.MemberID, Since: r.StartedAt, Limit: 500})
	if err != nil {
		return nil, nil, err
	}
	reports = make([]string, len(rs))
	for i := range rs {
		reports[i] = rs[i].ID
	}
	slices.Sort(reports)
	return track, reports, nil
}

// EraseTracks deletes the track points of a member's rounds (erasure of
// its personal data).
func (s *Service) EraseTracks(ctx context.Context, memberID string) (int, error) {
	return s.store.EraseTracks(ctx, memberID)
}

// Rounds lists rounds.
func (s *Service) Rounds(ctx context.Context, f storage.RoundFilter) ([]storage.Round, error) {
	return s.store.ListRounds(ctx, f)
}

// Located records a live position of a member in its open round's track
// (members.Config.Located calls it for every position a member sends). A
// point closer than the policy's distance, or sooner than its interval,
// to the last recorded one is skipped, and a track stops at its cap.
// Errors are logged: the position itself is stored already.
func (s *Service) Located(ctx context.Context, memberID string, pos storage.Position) {
	if s.role != nil {
		// Patrols and cadres walk rounds (the role table's ActPatrol).
		if role, ok := s.role(memberID); ok && role != storage.RolePatrol && role != storage.RoleCadre {
			return
		}
	}
	r, ok, err := s.store.OpenRound(ctx, memberID)
	if err != nil {
		s.log.Warn("patrol: read the open round", "member", memberID, "err", err)
		return
	}
	if !ok {
		return
	}
	minDist, minGap, maxPoints := s.pol.Now().TrackThinning()
	if r.Points >= maxPoints {
		return
	}
	p := storage.TrackPoint{Lat: pos.Lat, Lng: pos.Lng, At: pos.At.UTC()}
	dist := 0.0
	if r.Last != nil {
		dist = geo.DistanceM(geo.LatLng{Lat: r.Last.Lat, Lng: r.Last.Lng}, geo.LatLng{Lat: p.Lat, Lng: p.Lng})
		if dist < minDist || p.At.Sub(r.Last.At) < minGap || math.IsNaN(dist) {
			return
		}
	}
	if _, err := s.store.AddTrackPoint(ctx, r.ID, p, dist, maxPoints); err != nil {
		s.log.Warn("patrol: record a track point", "round", r.ID, "err", err)
	}
}

// checkPhotos checks that photos are by's uploads.
func (s *Service) checkPhotos(ctx context.Context, ids []string, ownerID string) error {
	if len(ids) > maxPhotos {
		return service.Invalid("at most %d photos", maxPhotos)
	}
	for _, id := range ids {
		m, err := s.store.MediaInfo(ctx, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err != nil || m.OwnerID != ownerID {
			return service.Invalid("photos: unknown media id %q", id)
		}
	}
	return nil
}

// Household reads a household.
func (s *Service) Household(ctx context.Context, id string) (storage.Household, error) {
	h, err := s.store.GetHousehold(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return h, fmt.Errorf("household %q: %w", id, service.ErrNotFound)
	}
	return h, err
}

// AddVisit records by's visit to household h, linked to by's open round
// if it has one.
func (s *Service) AddVisit(ctx context.Context, by storage.Member, h storage.Household, note string, photos []string) (storage.Visit, error) {
	if err := service.CheckText("note", note, maxNote, true); err != nil {
		return storage.Visit{}, err
	}
	if err := s.checkPhotos(ctx, photos, by.ID); err != nil {
		return storage.Visit{}, err
	}
	if photos == nil {
		photos = []string{}
	}
	v := storage.Visit{ID: service.NewID("vi"), HouseholdID: h.ID, VillageID: h.VillageID, MemberID: by.ID,
		Note: note, Photos: photos, At: s.now().UTC()}
	if r, ok, err := s.store.OpenRound(ctx, by.ID); err != nil {
		return storage.Visit{}, err
	} else if ok {
		v.RoundID = r.ID
	}
	ev, err := s.event(ctx, storage.EventVisit, v.VillageID, v.MemberID, ViewVisit(&v), v.At)
	if err != nil {
		return storage.Visit{}, err
	}
	if err := s.store.AddVisit(ctx, &v, ev); err != nil {
		return storage.Visit{}, err
	}
	s.send(ctx, ev)
	return v, nil
}

// VisitHasPhoto reports whether a visit of one of villageIDs carries the
// media id (the API lets the village's cadres read it).
func (s *Service) VisitHasPhoto(ctx context.Context, mediaID string, villageIDs []string) (bool, error) {
	for _, v := range villageIDs {
		if ok, err := s.store.VisitHasPhoto(ctx, mediaID, v); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// Visits lists a household's visits, newest first.
func (s *Service) Visits(ctx context.Context, householdID string, limit int) ([]storage.Visit, error) {
	return s.store.ListVisits(ctx, householdID, limit)
}

// Due is a watched household and when its next visit falls due.
type Due struct {
	Household storage.Household
	Every     time.Duration
	DueAt     time.Time
	Overdue   bool
	LastVisit *storage.Visit // nil: never visited
}

// DueVisits lists the watched households of villageID that are due for a
// visit (within the policy's due_within of their next visit, or never
// visited) or, with onlyOverdue, past it; most overdue first. A
// household's next visit falls due its watch kind's frequency after its
// last visit (or after it was created, when it has none).
func (s *Service) DueVisits(ctx context.Context, villageID string, onlyOverdue bool) ([]Due, error) {
	var hs []storage.Household
	after := ""
	for len(hs) < dueListLimit {
		page, err := s.store.ListHouseholds(ctx, storage.HouseholdFilter{VillageID: villageID, Watched: true, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		hs = append(hs, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	ids := make([]string, len(hs))
	for i := range hs {
		ids[i] = hs[i].ID
	}
	last, err := s.store.LastVisits(ctx, ids)
	if err != nil {
		return nil, err
	}
	now, within := s.now(), s.pol.Now().VisitDueWithin()
	out := []Due{}
	for _, h := range hs {
		every, ok := s.pol.Now().VisitEvery(h.Watch)
		if !ok {
			continue
		}
		d := Due{Household: h, Every: every, DueAt: h.CreatedAt.Add(every)}
		if v, ok := last[h.ID]; ok {
			d.LastVisit, d.DueAt = &v, v.At.Add(every)
		}
		d.Overdue = now.After(d.DueAt)
		listed := d.Overdue || (!onlyOverdue && (d.LastVisit == nil || !now.Before(d.DueAt.Add(-within))))
		if listed {
			out = append(out, d)
		}
	}
	SortDue(out)
	return out, nil
}

// CreateEmergency names an emergency period.
func (s *Service) CreateEmergency(ctx context.Context, by, name string, from, to time.Time) (storage.Emergency, error) {
	if name == "" {
		return storage.Emergency{}, service.Invalid("name is required")
	}
	if err := service.CheckText("name", name, maxName, false); err != nil {
		return storage.Emergency{}, err
	}
	if err := checkSpan(from, to); err != nil {
		return storage.Emergency{}, err
	}
	e := storage.Emergency{ID: service.NewID("em"), Name: name, From: from.UTC(), To: to.UTC(), CreatedBy: by,
		CreatedAt: s.now().UTC()}
	if err := s.store.CreateEmergency(ctx, &e); err != nil {
		return storage.Emergency{}, err
	}
	return e, nil
}

func checkSpan(from, to time.Time) error {
	if from.IsZero() || to.IsZero() {
		return service.Invalid("from and to are required (RFC 3339 times)")
	}
	if !to.After(from) {
		return service.Invalid("to must be after from")
	}
	if to.Sub(from) > maxSpan {
		return service.Invalid("a span is at most 366 days")
	}
	return nil
}

// Emergencies lists the emergency periods, newest first.
func (s *Service) Emergencies(ctx context.Context) ([]storage.Emergency, error) {
	return s.store.ListEmergencies(ctx)
}

// Emergency reads one.
func (s *Service) Emergency(ctx context.Context, id string) (storage.Emergency, error) {
	e, err := s.store.GetEmergency(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return e, fmt.Errorf("emergency %q: %w", id, service.ErrNotFound)
	}
	return e, err
}

// Alert reads an alert (its span and villages for the tallies).
func (s *Service) Alert(ctx context.Context, id string) (storage.Alert, error) {
	a, err := s.store.GetAlert(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return a, fmt.Errorf("alert %q: %w", id, service.ErrNotFound)
	}
	return a, err
}

// Villages lists the villages.
func (s *Service) Villages(ctx context.Context) ([]storage.Village, error) {
	return s.store.ListVillages(ctx)
}
