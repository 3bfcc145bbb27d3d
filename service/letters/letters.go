// Package letters is the villager mailbox (村民信箱 / 书记信箱; issue 16
// part 3, docs/API.md v1.6 "the villager mailbox"): a member's private
// letter to its village's cadres or to its township, answered in the
// member page, with the time limits and escalation of a report (due.go),
// never public. Who may read a letter besides its writer is stored with
// it (storage.LetterReader): the staff it was addressed or escalated to,
// and those a reader shared it with; everyone else is told it does not
// exist.
package letters

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/schedule"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Levels (those of service/members).
const (
	LevelVillage  = "village"
	LevelTownship = "township"
	LevelCounty   = "county"
)

// Store is what the mailbox reads and writes.
type Store interface {
	storage.Letters
	GetMember(ctx context.Context, id string) (storage.Member, error)
	GetMembers(ctx context.Context, ids []string) ([]storage.Member, error)
}

// Config configures the Service.
type Config struct {
	Store  Store     // required
	Node   *hub.Node // required: the clock and the fan-out
	Logger *slog.Logger
	// Policy holds the time limits (policy.Letters). Nil: policy.Default().
	Policy *policy.Policy
	// Scheduler runs each open letter's next time limit. Nil: none run.
	Scheduler *schedule.Scheduler
	// Staff returns who handles a matter of a village at a level
	// (members.Service.StaffAt). Required.
	Staff func(ctx context.Context, villageID, level string) ([]string, error)
	// Wake asks the outbox to look for due messages (nil: it polls).
	Wake func()
}

// Service is the mailbox.
type Service struct {
	store Store
	node  *hub.Node
	log   *slog.Logger
	pol   *policy.Policy
	sched *schedule.Scheduler
	staff func(ctx context.Context, villageID, level string) ([]string, error)
	wake  func()
}

// New returns the service; Start schedules the open letters.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Policy == nil {
		p := policy.Default()
		cfg.Policy = &p
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	return &Service{store: cfg.Store, node: cfg.Node, log: cfg.Logger, pol: cfg.Policy, sched: cfg.Scheduler,
		staff: cfg.Staff, wake: cfg.Wake}
}

func (s *Service) now() time.Time { return s.node.Now() }

// Limits of the text fields.
const (
	maxSubject = 100
	maxBody    = 5000
)

// Draft is a new letter.
type Draft struct {
	To      string // village or township
	Subject string
	Body    string
}

// CheckDraft validates a new letter's fields (a bad_request when wrong).
func CheckDraft(d Draft) error {
	if d.To != LevelVillage && d.To != LevelTownship {
		return service.Invalid(`to must be "village" or "township"`)
	}
	if err := service.CheckText("subject", d.Subject, maxSubject, false); err != nil {
		return err
	}
	return service.CheckText("body", d.Body, maxBody, false)
}

// handlers returns who handles the letter at level: the staff there
// (members.StaffAt), without its writer and, for a letter sent to the
// township, without the village's cadres (it may be about them).
func (s *Service) handlers(ctx context.Context, l *storage.Letter, level string) ([]string, error) {
	ids, err := s.staff(ctx, l.VillageID, level)
	if err != nil {
		return nil, err
	}
	var skip []string
	if l.To == LevelTownship {
		if skip, err = s.staff(ctx, l.VillageID, LevelVillage); err != nil {
			return nil, err
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return id == l.WriterID || slices.Contains(skip, id) }), nil
}

// Create stores a letter from by to its village's cadres or its township
// and tells them.
func (s *Service) Create(ctx context.Context, d Draft, by service.Actor) (Letter, error) {
	if s.node.ShuttingDown() {
		return Letter{}, service.ErrUnavailable
	}
	if err := CheckDraft(d); err != nil {
		return Letter{}, err
	}
	if by.VillageID == "" {
		return Letter{}, service.Invalid("only a member of a village writes to the mailbox")
	}
	now := s.now()
	l := &storage.Letter{ID: service.NewID("l_"), VillageID: by.VillageID, WriterID: by.ID, To: d.To, Level: d.To,
		Status: storage.LetterOpen, Subject: d.Subject, Body: d.Body, CreatedAt: now, UpdatedAt: now}
	staff, err := s.handlers(ctx, l, l.Level)
	if err != nil {
		return Letter{}, err
	}
	readers := make([]storage.LetterReader, len(staff))
	for i, id := range staff {
		readers[i] = storage.LetterReader{MemberID: id, Reason: storage.ReadAddressed, At: now}
	}
	entry := storage.LetterEntry{N: 1, Kind: storage.EntryLetter, ActorID: by.ID, Body: d.Body, Level: l.Level, At: now}
	ev := s.letterEvent(ctx, l, &entry, append([]string{l.WriterID}, staff...))
	if err := s.store.CreateLetter(ctx, l, readers, ev); err != nil {
		return Letter{}, err
	}
	s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
	s.schedule(l)
	return s.view(ctx, l), nil
}

// dueAt is the letter's first time limit: its answer is due then.
func (s *Service) dueAt(l *storage.Letter) time.Time {
	return l.CreatedAt.Add(s.pol.Now().Letters.Answer.D())
}

// view is the wire form with the writer's name.
func (s *Service) view(ctx context.Context, l *storage.Letter) Letter {
	v := view(l, s.dueAt(l))
	if m, err := s.store.GetMember(ctx, l.WriterID); err == nil {
		v.WriterName = m.Name
	}
	return v
}

// letterEvent is the letter event of l after the step e, addressed to.
func (s *Service) letterEvent(ctx context.Context, l *storage.Letter, e *storage.LetterEntry, to []string) *storage.Event {
	v := s.view(ctx, l)
	v.Seq = 0
	ev := entryView(e)
	if m, err := s.store.GetMember(ctx, e.ActorID); err == nil && e.ActorID != "" {
		ev.ActorName = m.Name
	}
	v.Entry = &ev
	body, _ := json.Marshal(&v)
	slices.Sort(to)
	return &storage.Event{Type: storage.EventLetter, VillageID: l.VillageID, MemberID: l.WriterID,
		Body: body, CreatedAt: e.At, To: slices.Compact(to)}
}

// access reads the letter for p: its writer or one of its readers;
// anyone else gets not_found (a letter's existence is private too).
func (s *Service) access(ctx context.Context, id string, by service.Actor) (storage.Letter, bool, error) {
	l, err := s.store.GetLetter(ctx, id)
	if err != nil {
		return storage.Letter{}, false, err
	}
	if l.WriterID == by.ID {
		return l, false, nil
	}
	ok, err := s.store.IsLetterReader(ctx, id, by.ID)
	if err != nil {
		return storage.Letter{}, false, err
	}
	if !ok {
		return storage.Letter{}, false, service.ErrNotFound
	}
	return l, true, nil
}

// Get reads one letter with its thread and readers.
func (s *Service) Get(ctx context.Context, id string, by service.Actor) (Letter, error) {
	l, _, err := s.access(ctx, id, by)
	if err != nil {
		return Letter{}, err
	}
	es, rs, err := s.store.LetterThread(ctx, id)
	if err != nil {
		return Letter{}, err
	}
	ids := []string{}
	for _, e := range es {
		ids = append(ids, e.ActorID)
	}
	for _, r := range rs {
		ids = append(ids, r.MemberID)
	}
	ms, err := s.store.GetMembers(ctx, ids)
	if err != nil {
		return Letter{}, err
	}
	byID := map[string]storage.Member{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	v := s.view(ctx, &l)
	v.Thread = make([]Entry, len(es))
	for i := range es {
		v.Thread[i] = entryView(&es[i])
		v.Thread[i].ActorName = byID[es[i].ActorID].Name
	}
	v.Readers = make([]Reader, len(rs))
	for i, r := range rs {
		m := byID[r.MemberID]
		v.Readers[i] = Reader{MemberID: r.MemberID, Name: m.Name, Role: string(m.Role), Reason: r.Reason, By: r.By, At: r.At}
	}
	return v, nil
}

// Filter selects a caller's letters.
type Filter struct {
	Status  string
	Level   string
	Overdue *bool
	Before  int64
	Limit   int
}

// List lists the letters by wrote or reads, newest first.
func (s *Service) List(ctx context.Context, f Filter, by service.Actor) ([]Letter, error) {
	if f.Status != "" && f.Status != storage.LetterOpen && f.Status != storage.LetterAnswered && f.Status != storage.LetterClosed {
		return nil, service.Invalid("status must be open, answered or closed")
	}
	if f.Level != "" && f.Level != LevelVillage && f.Level != LevelTownship && f.Level != LevelCounty {
		return nil, service.Invalid("level must be village, township or county")
	}
	ls, err := s.store.ListLetters(ctx, storage.LetterFilter{Reader: by.ID, Status: f.Status, Level: f.Level,
		Overdue: f.Overdue, Before: f.Before, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]Letter, len(ls))
	for i := range ls {
		out[i] = s.view(ctx, &ls[i])
	}
	return out, nil
}

// audience is who a letter's events go to: its writer and readers.
func (s *Service) audience(ctx context.Context, l *storage.Letter) ([]string, error) {
	_, rs, err := s.store.LetterThread(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	to := []string{l.WriterID}
	for _, r := range rs {
		to = append(to, r.MemberID)
	}
	return to, nil
}

// apply reads the letter and writes the step step builds from it, again
// from a fresh read when another step came first (ErrConflict), a few
// times. step returns nil to change nothing.
func (s *Service) apply(ctx context.Context, id string, by service.Actor, step func(l *storage.Letter, reader bool) (*storage.LetterChange, error)) (Letter, error) {
	for attempt := 0; ; attempt++ {
		l, reader, err := s.access(ctx, id, by)
		if err != nil {
			return Letter{}, err
		}
		c, err := step(&l, reader)
		if err != nil {
			return Letter{}, err
		}
		if c == nil {
			return s.view(ctx, &l), nil
		}
		out, err := s.store.ChangeLetter(ctx, c)
		if errors.Is(err, storage.ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return Letter{}, err
		}
		for _, ev := range c.Events {
			s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
		}
		if out.Status != storage.LetterOpen {
			s.unschedule(out.ID)
		}
		return s.view(ctx, &out), nil
	}
}

// Reply adds body to the thread: from a reader (the staff) it answers the
// letter; from its writer it goes on with it. close closes the letter
// (body then optional: the closing words). A closed letter takes no more.
func (s *Service) Reply(ctx context.Context, id, body string, close bool, by service.Actor) (Letter, error) {
	if s.node.ShuttingDown() {
		return Letter{}, service.ErrUnavailable
	}
	if err := service.CheckText("body", body, maxBody, close); err != nil {
		return Letter{}, err
	}
	return s.apply(ctx, id, by, func(l *storage.Letter, reader bool) (*storage.LetterChange, error) {
		if l.Status == storage.LetterClosed {
			return nil, service.Errorf(service.CodeConflict, "the letter is closed")
		}
		now := s.now()
		set := *l
		set.UpdatedAt = now
		kind := storage.EntryReply
		c := &storage.LetterChange{ID: l.ID, ExpectStatus: l.Status, ExpectLevel: l.Level, ExpectOverdue: l.Overdue}
		if reader && l.Status == storage.LetterOpen {
			set.Status, set.AnsweredAt, c.CancelMessages = storage.LetterAnswered, now, true
		}
		if close {
			kind = storage.EntryClose
			set.Status, set.ClosedAt, c.CancelMessages = storage.LetterClosed, now, true
		}
		c.Set = set
		c.Entry = &storage.LetterEntry{Kind: kind, ActorID: by.ID, Body: body, Level: l.Level, At: now}
		to, err := s.audience(ctx, l)
		if err != nil {
			return nil, err
		}
		c.Events = []*storage.Event{s.letterEvent(ctx, &set, c.Entry, to)}
		return c, nil
	})
}

// Share lets another member of the staff read the letter; only its
// readers share it. Sharing with a reader (or the writer) changes nothing.
func (s *Service) Share(ctx context.Context, id, memberID string, by service.Actor) (Letter, error) {
	if s.node.ShuttingDown() {
		return Letter{}, service.ErrUnavailable
	}
	m, err := s.store.GetMember(ctx, memberID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && m.Inactive) {
		return Letter{}, service.Invalid("member_id names no active member")
	}
	if err != nil {
		return Letter{}, err
	}
	if m.Role != storage.RoleCadre && m.Role != storage.RoleCommander && m.Role != storage.RoleAdmin {
		return Letter{}, service.Invalid("a letter is shared only with a cadre, a commander or an admin")
	}
	return s.apply(ctx, id, by, func(l *storage.Letter, reader bool) (*storage.LetterChange, error) {
		if !reader {
			return nil, service.Errorf(service.CodeForbidden, "only the staff who read a letter share it")
		}
		to, err := s.audience(ctx, l)
		if err != nil {
			return nil, err
		}
		if slices.Contains(to, memberID) {
			return nil, nil
		}
		now := s.now()
		set := *l
		set.UpdatedAt = now
		c := &storage.LetterChange{ID: l.ID, ExpectStatus: l.Status, ExpectLevel: l.Level, ExpectOverdue: l.Overdue, Set: set,
			Entry:   &storage.LetterEntry{Kind: storage.EntryShare, ActorID: by.ID, Level: l.Level, MemberID: memberID, At: now},
			Readers: []storage.LetterReader{{MemberID: memberID, Reason: storage.ReadShared, By: by.ID, At: now}}}
		c.Events = []*storage.Event{s.letterEvent(ctx, &set, c.Entry, append(to, memberID))}
		return c, nil
	})
}
