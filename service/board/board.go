// Package board is the village board (v1.6, issue 16 part 2): public
// reports with their answers and rectification photos, good deeds
// (好人好事) recorded by villagers and confirmed by cadres, likes (点赞)
// and urging (督促) once per member, and the village's rectification rate.
// Every change of a board item appends a board event addressed to the
// village (ToVillage) in the change's transaction.
//
// Authorization is the API's (api/board.go): this service checks the
// state of what is acted on (a public report, a confirmed deed).
package board

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/internal/metrics"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/reports"
	"github.com/longyou/hub/storage"
)

// Store is what the board service reads and writes.
type Store interface {
	storage.Board
	GetReport(ctx context.Context, id string) (storage.Report, error)
	GetMembers(ctx context.Context, ids []string) ([]storage.Member, error)
	MediaInfo(ctx context.Context, id string) (storage.Media, error)
	GetVillage(ctx context.Context, id string) (storage.Village, error)
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required
	Logger *slog.Logger
	// Places names the nearest named place of a position (as the report
	// service's); nil: board reports carry no place.
	Places func(p geo.LatLng, maxM float64) (geo.Place, bool)
	// OnDeedConfirmed, when set, is called after a deed's confirmation
	// committed (the credit points of issue 16 part 5 hook here). It is
	// called once per confirmation by the node that confirmed it, after
	// the answer is decided; a crash between the commit and the call
	// loses the call, so a consumer that must not miss one also reads
	// the confirmed deeds (ListDeeds) and keys its records by deed id.
	OnDeedConfirmed func(ctx context.Context, d storage.Deed)
}

// Service is the board service.
type Service struct {
	store     Store
	node      *hub.Node
	log       *slog.Logger
	metrics   *metrics.Metrics
	places    func(p geo.LatLng, maxM float64) (geo.Place, bool)
	onConfirm func(ctx context.Context, d storage.Deed)
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: cfg.Store, node: cfg.Node, log: cfg.Logger, metrics: cfg.Node.Metrics(),
		places: cfg.Places, onConfirm: cfg.OnDeedConfirmed}
}

const maxPhotos = 9

func (s *Service) now() time.Time { return s.node.Now() }

// names reads the names of members ids (id -> name; missing ones absent).
func (s *Service) names(ctx context.Context, ids []string) map[string]string {
	out := map[string]string{}
	if len(ids) == 0 {
		return out
	}
	ms, err := s.store.GetMembers(ctx, ids)
	if err != nil {
		s.log.Warn("board: read names", "err", err)
		return out
	}
	for _, m := range ms {
		out[m.ID] = m.Name
	}
	return out
}

func (s *Service) place(r *storage.Report) *reports.Place {
	if s.places == nil {
		return nil
	}
	pl := &reports.Place{}
	if np, ok := s.places(geo.LatLng{Lat: r.Lat, Lng: r.Lng}, reports.PlaceRadiusM); ok {
		pl.Name, pl.Kind, pl.DistM = np.Name, np.Kind, int(np.DistM+0.5)
	}
	return pl
}

// ReportView is the board's view of a public report.
func (s *Service) ReportView(ctx context.Context, r *storage.Report) Report {
	return reportView(r, s.names(ctx, []string{r.MemberID})[r.MemberID], s.place(r))
}

// event is a board event of an item of owner (the reporter, the deed's
// author): the event's MemberID, by which erasure and retention find the
// events that carry what the owner wrote (storage/*_board.go).
func (s *Service) event(villageID, owner string, item Item, at time.Time) *storage.Event {
	body, _ := json.Marshal(EventBody{VillageID: villageID, Item: item})
	return &storage.Event{Type: storage.EventBoard, VillageID: villageID, MemberID: owner, ToVillage: true,
		Body: body, CreatedAt: at}
}

func (s *Service) publish(ctx context.Context, ev *storage.Event) {
	if ev == nil || ev.Seq == 0 {
		return
	}
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
}

// ReportEvent is the board event of a public report as created or
// changed: the report service's Config.Board.
func (s *Service) ReportEvent(ctx context.Context, r *storage.Report) *storage.Event {
	if r.Visibility != storage.VisibilityPublic {
		return nil
	}
	v := s.ReportView(ctx, r)
	return s.event(r.VillageID, r.MemberID, Item{Type: storage.ItemReport, Report: &v}, r.UpdatedAt)
}

// checkPhotos checks that each photo is an upload of by.
func (s *Service) checkPhotos(ctx context.Context, ids []string, by string) error {
	if len(ids) > maxPhotos {
		return service.Invalid("at most %d photos", maxPhotos)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return service.Invalid("photos: %q twice", id)
		}
		seen[id] = true
		m, err := s.store.MediaInfo(ctx, id)
		if err != nil && !service.IsNotFound(err) {
			return err
		}
		if err != nil || m.OwnerID != by {
			return service.Invalid("photos: unknown media id %q", id)
		}
	}
	return nil
}

// React likes or urges a board item once for member by. A report must be
// public, a deed confirmed (else not_found: it is not on any board); a
// deed cannot be urged.
func (s *Service) React(ctx context.Context, item, id, kind string, by service.Actor) (Counts, error) {
	if s.node.ShuttingDown() {
		return Counts{}, service.ErrUnavailable
	}
	var mk func(storage.Counts) *storage.Event
	switch item {
	case storage.ItemReport:
		r, err := s.store.GetReport(ctx, id)
		if err != nil {
			return Counts{}, err
		}
		if r.Visibility != storage.VisibilityPublic {
			return Counts{}, service.ErrNotFound
		}
		v := s.ReportView(ctx, &r)
		mk = func(c storage.Counts) *storage.Event {
			v.Likes, v.Urges = c.Likes, c.Urges
			return s.event(r.VillageID, r.MemberID, Item{Type: storage.ItemReport, Report: &v}, s.now())
		}
	case storage.ItemDeed:
		if kind != storage.ReactLike {
			return Counts{}, service.Invalid("a good deed is liked, not urged")
		}
		d, err := s.store.GetDeed(ctx, id)
		if err != nil {
			return Counts{}, err
		}
		if d.Status != storage.DeedConfirmed {
			return Counts{}, service.ErrNotFound
		}
		v := DeedView(&d, s.names(ctx, []string{d.AuthorID})[d.AuthorID], false)
		mk = func(c storage.Counts) *storage.Event {
			v.Likes = c.Likes
			return s.event(d.VillageID, d.AuthorID, Item{Type: storage.ItemDeed, Deed: &v}, s.now())
		}
	default:
		return Counts{}, service.ErrNotFound
	}
	var ev *storage.Event
	c, _, err := s.store.React(ctx, storage.Reaction{Item: item, ItemID: id, MemberID: by.ID, Kind: kind, At: s.now()},
		func(c storage.Counts) *storage.Event { ev = mk(c); return ev })
	if err != nil {
		return Counts{}, err
	}
	s.publish(ctx, ev)
	mine, err := s.store.Reacted(ctx, by.ID, item, []string{id})
	if err != nil {
		return Counts{}, err
	}
	out := Counts{Likes: c.Likes, Urges: c.Urges}
	for _, k := range mine[id] {
		if k == storage.ReactLike {
			out.Liked = true
		}
	}
	if item == storage.ItemReport {
		urged := false
		for _, k := range mine[id] {
			urged = urged || k == storage.ReactUrge
		}
		out.Urged = &urged
	}
	return out, nil
}

// Rectify sets a report's rectification ("after") photos, uploads of by.
// A private report may carry them too; only a public one's change goes on
// the board (its event).
func (s *Service) Rectify(ctx context.Context, id string, photos []string, by service.Actor) (storage.Report, error) {
	if s.node.ShuttingDown() {
		return storage.Report{}, service.ErrUnavailable
	}
	if photos == nil {
		return storage.Report{}, service.Invalid("photos is required (an empty list removes them)")
	}
	if err := s.checkPhotos(ctx, photos, by.ID); err != nil {
		return storage.Report{}, err
	}
	cur, err := s.store.GetReport(ctx, id)
	if err != nil {
		return storage.Report{}, err
	}
	reporter := s.names(ctx, []string{cur.MemberID})[cur.MemberID]
	place := s.place(&cur)
	var ev *storage.Event
	r, err := s.store.SetRectification(ctx, id, photos, func(r *storage.Report) *storage.Event {
		if r.Visibility != storage.VisibilityPublic {
			return nil
		}
		v := reportView(r, reporter, place)
		ev = s.event(r.VillageID, r.MemberID, Item{Type: storage.ItemReport, Report: &v}, s.now())
		return ev
	})
	if err != nil {
		return storage.Report{}, err
	}
	s.publish(ctx, ev)
	return r, nil
}

// DeedDraft is a good deed to record.
type DeedDraft struct {
	VillageID   string
	Title       string
	Text        string
	Photos      []string
	About       string
	HouseholdID string
}

// CheckDeed validates a draft before any read.
func CheckDeed(d DeedDraft) error {
	if err := service.CheckText("title", d.Title, 100, false); err != nil {
		return err
	}
	if err := service.CheckText("text", d.Text, 2000, true); err != nil {
		return err
	}
	if err := service.CheckText("about", d.About, 100, true); err != nil {
		return err
	}
	if err := service.CheckText("household_id", d.HouseholdID, 64, true); err != nil {
		return err
	}
	if len(d.Photos) > maxPhotos {
		return service.Invalid("at most %d photos", maxPhotos)
	}
	return nil
}

// RecordDeed stores a pending deed of d.VillageID recorded by by.
func (s *Service) RecordDeed(ctx context.Context, d DeedDraft, by service.Actor) (storage.Deed, error) {
	if s.node.ShuttingDown() {
		return storage.Deed{}, service.ErrUnavailable
	}
	if err := CheckDeed(d); err != nil {
		return storage.Deed{}, err
	}
	if _, err := s.store.GetVillage(ctx, d.VillageID); err != nil {
		if service.IsNotFound(err) {
			return storage.Deed{}, service.Invalid("unknown village_id")
		}
		return storage.Deed{}, err
	}
	if err := s.checkPhotos(ctx, d.Photos, by.ID); err != nil {
		return storage.Deed{}, err
	}
	deed := storage.Deed{ID: service.NewID("dd_"), VillageID: d.VillageID, Title: d.Title, Text: d.Text,
		Photos: nonNil(d.Photos), About: d.About, HouseholdID: d.HouseholdID, AuthorID: by.ID,
		Status: storage.DeedPending, CreatedAt: s.now()}
	if err := s.store.CreateDeed(ctx, &deed); err != nil {
		return storage.Deed{}, err
	}
	return deed, nil
}

// GetDeed reads a deed.
func (s *Service) GetDeed(ctx context.Context, id string) (storage.Deed, error) {
	return s.store.GetDeed(ctx, id)
}

// ListDeeds lists deeds.
func (s *Service) ListDeeds(ctx context.Context, f storage.DeedFilter) ([]storage.Deed, error) {
	return s.store.ListDeeds(ctx, f)
}

// Decide confirms (status confirmed: it goes on the board, with its
// event, and OnDeedConfirmed is called) or rejects a pending deed.
// conflict when it was decided already.
func (s *Service) Decide(ctx context.Context, id, status string, by service.Actor) (storage.Deed, error) {
	if s.node.ShuttingDown() {
		return storage.Deed{}, service.ErrUnavailable
	}
	cur, err := s.store.GetDeed(ctx, id)
	if err != nil {
		return storage.Deed{}, err
	}
	author := s.names(ctx, []string{cur.AuthorID})[cur.AuthorID]
	var ev *storage.Event
	d, err := s.store.DecideDeed(ctx, id, status, by.ID, s.now(), func(d *storage.Deed) *storage.Event {
		if d.Status != storage.DeedConfirmed {
			return nil
		}
		v := DeedView(d, author, false)
		ev = s.event(d.VillageID, d.AuthorID, Item{Type: storage.ItemDeed, Deed: &v}, d.DecidedAt)
		return ev
	})
	if err != nil {
		return storage.Deed{}, err
	}
	s.publish(ctx, ev)
	if d.Status == storage.DeedConfirmed && s.onConfirm != nil {
		s.onConfirm(ctx, d)
	}
	return d, nil
}

// Page is a page of a village's board.
type Page struct {
	Items []Item
	// Next is the seq to continue below (the last item's place); 0 when
	// this is the last page.
	Next int64
	Rate Rate
}

// Board reads a page of the village's board for member viewer: up to
// limit items with a place below before (0: the newest), with whether
// viewer liked or urged each.
func (s *Service) Board(ctx context.Context, villageID string, before int64, limit int, viewer string) (Page, error) {
	es, err := s.store.BoardItems(ctx, villageID, before, limit+1)
	if err != nil {
		return Page{}, err
	}
	var pg Page
	if len(es) > limit {
		es = es[:limit]
		pg.Next = es[len(es)-1].Seq
	}
	var ids []string
	var repIDs, deedIDs []string
	for _, e := range es {
		if e.Report != nil {
			ids, repIDs = append(ids, e.Report.MemberID), append(repIDs, e.Report.ID)
		} else {
			ids, deedIDs = append(ids, e.Deed.AuthorID), append(deedIDs, e.Deed.ID)
		}
	}
	names := s.names(ctx, ids)
	myReps, err := s.store.Reacted(ctx, viewer, storage.ItemReport, repIDs)
	if err != nil {
		return Page{}, err
	}
	myDeeds, err := s.store.Reacted(ctx, viewer, storage.ItemDeed, deedIDs)
	if err != nil {
		return Page{}, err
	}
	has := func(kinds []string, k string) *bool {
		b := false
		for _, x := range kinds {
			b = b || x == k
		}
		return &b
	}
	pg.Items = make([]Item, 0, len(es))
	for _, e := range es {
		if r := e.Report; r != nil {
			v := reportView(r, names[r.MemberID], s.place(r))
			v.Liked, v.Urged = has(myReps[r.ID], storage.ReactLike), has(myReps[r.ID], storage.ReactUrge)
			pg.Items = append(pg.Items, Item{Type: storage.ItemReport, Report: &v})
			continue
		}
		d := e.Deed
		v := DeedView(d, names[d.AuthorID], false)
		v.Liked = has(myDeeds[d.ID], storage.ReactLike)
		pg.Items = append(pg.Items, Item{Type: storage.ItemDeed, Deed: &v})
	}
	t, err := s.store.BoardTally(ctx, villageID)
	if err != nil {
		return Page{}, err
	}
	pg.Rate = RateOf(t)
	return pg, nil
}

// Reacted returns, of the reports ids, the reaction kinds member gave
// each (for the liked and urged of report answers).
func (s *Service) Reacted(ctx context.Context, member string, ids []string) (map[string][]string, error) {
	return s.store.Reacted(ctx, member, storage.ItemReport, ids)
}

// OnBoard tells whether an upload is a photo of the village's board.
func (s *Service) OnBoard(ctx context.Context, villageID, mediaID string) (bool, error) {
	return s.store.OnBoard(ctx, villageID, mediaID)
}

// Names reads members' names (for deed views).
func (s *Service) Names(ctx context.Context, ids []string) map[string]string {
	return s.names(ctx, ids)
}
