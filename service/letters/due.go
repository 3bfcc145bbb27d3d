package letters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The time limits of a letter (policy.Letters, counted from its
// creation), as for reports (service/reports/due.go): the store is the
// truth, a job in the scheduler says "look at this letter again then",
// re-reads it and acts only if it is still unanswered and the limit has
// come. Each step is one conditional store write (storage.LetterChange
// expects the state it read), so two nodes, or a job and an answer, never
// both act. Start schedules every open letter again after a restart.
//
// The steps, while nobody of the staff answered:
//   - answer limit: the letter is overdue; the staff at its level get a
//     notice, and an SMS policy.Letters.SMSAfter later;
//   - township limit (a letter sent to the village): it goes up to the
//     township; the staff there may read it, get a notice and an SMS;
//   - county limit: it goes up to the county, likewise.
//
// Each SMS is one outbox row per (letter, member, step): sent once; an
// answer or a close cancels those not sent yet.

// maxOpenLetters bounds how many open letters Start schedules.
const maxOpenLetters = 100_000

// Start schedules the next time limit of every open letter.
func (s *Service) Start(ctx context.Context) error {
	if s.sched == nil {
		return nil
	}
	ls, err := s.store.ListLetters(ctx, storage.LetterFilter{Open: true, Limit: maxOpenLetters})
	if err != nil {
		return err
	}
	for i := range ls {
		s.schedule(&ls[i])
	}
	return nil
}

func jobKey(id string) string { return "letter/" + id }

// next is the letter's next time limit and the step it takes; zero when
// none is left (answered, closed, at the county).
func (s *Service) next(l *storage.Letter) (time.Time, string) {
	if l.Status != storage.LetterOpen {
		return time.Time{}, ""
	}
	pol := s.pol.Now().Letters
	if !l.Overdue {
		return l.CreatedAt.Add(pol.Answer.D()), storage.EntryOverdue
	}
	if l.Level == LevelVillage && pol.Township > 0 {
		return l.CreatedAt.Add(pol.Township.D()), LevelTownship
	}
	if l.Level != LevelCounty && pol.County > 0 {
		return l.CreatedAt.Add(pol.County.D()), LevelCounty
	}
	return time.Time{}, ""
}

// schedule arranges the job at the letter's next time limit.
func (s *Service) schedule(l *storage.Letter) {
	at, _ := s.next(l)
	if s.sched == nil || at.IsZero() {
		return
	}
	id := l.ID
	if err := s.sched.Schedule(jobKey(id), at, func(ctx context.Context) { s.due(ctx, id) }); err != nil {
		s.log.Warn("cannot schedule a letter's time limit", "letter", id, "at", at, "err", err)
	}
}

func (s *Service) unschedule(id string) {
	if s.sched != nil {
		s.sched.Cancel(jobKey(id))
	}
}

// due is the job: it takes every step whose time has come, then
// schedules the next.
func (s *Service) due(ctx context.Context, id string) {
	for range 8 {
		l, err := s.store.GetLetter(ctx, id)
		if err != nil {
			if !service.IsNotFound(err) && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "read a letter at its time limit", "letter", id, "err", err)
			}
			return
		}
		at, step := s.next(&l)
		if at.IsZero() {
			return
		}
		if at.After(s.now()) {
			s.schedule(&l)
			return
		}
		if err := s.step(ctx, &l, step); err != nil && !errors.Is(err, storage.ErrConflict) {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "a letter's time limit", "letter", id, "step", step, "err", err)
			}
			return
		}
	}
}

// step writes one time-limit step of l: overdue, or up to a level.
func (s *Service) step(ctx context.Context, l *storage.Letter, step string) error {
	now := s.now()
	set := *l
	set.UpdatedAt = now
	c := &storage.LetterChange{ID: l.ID, ExpectStatus: l.Status, ExpectLevel: l.Level, ExpectOverdue: l.Overdue}
	kind, smsKind := "", ""
	switch step {
	case storage.EntryOverdue:
		set.Overdue = true
		kind, smsKind = "letter_overdue", storage.MessageLetterOverdue
		c.Entry = &storage.LetterEntry{Kind: storage.EntryOverdue, Level: l.Level, At: now}
	default:
		set.Level = step
		kind, smsKind = "letter_"+step, storage.MessageLetterTownship
		if step == LevelCounty {
			smsKind = storage.MessageLetterCounty
		}
		c.Entry = &storage.LetterEntry{Kind: storage.EntryEscalate, Level: step, At: now}
	}
	c.Set = set
	staff, err := s.handlers(ctx, l, set.Level)
	if err != nil {
		return err
	}
	readersTo, err := s.audience(ctx, l)
	if err != nil {
		return err
	}
	for _, id := range staff {
		reason := storage.ReadEscalated
		if set.Level == l.To {
			reason = storage.ReadAddressed
		}
		c.Readers = append(c.Readers, storage.LetterReader{MemberID: id, Reason: reason, At: now})
		c.Messages = append(c.Messages, storage.Message{Channel: storage.ChannelSMS,
			Ref: storage.Ref{Type: storage.RefLetter, ID: l.ID}, MemberID: id, Kind: smsKind,
			DueAt: now.Add(s.pol.Now().Letters.SMSAfter.D())})
	}
	c.Events = []*storage.Event{s.letterEvent(ctx, &set, c.Entry, append(readersTo, staff...))}
	if len(staff) > 0 {
		body, _ := json.Marshal(Notice{Kind: kind, Text: noticeText(kind, l.Subject),
			Ref: NoticeRef{Type: storage.RefLetter, ID: l.ID}, At: now})
		c.Events = append(c.Events, &storage.Event{Type: storage.EventNotice, VillageID: l.VillageID,
			Body: body, CreatedAt: now, To: staff})
	}
	out, err := s.store.ChangeLetter(ctx, c)
	if err != nil {
		return err
	}
	for _, ev := range c.Events {
		s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
	}
	s.log.InfoContext(ctx, "letter time limit", "letter", l.ID, "step", step, "level", out.Level, "staff", len(staff))
	if len(c.Messages) > 0 && s.pol.Now().Letters.SMSAfter == 0 {
		s.wake()
	}
	return nil
}

// noticeText is what a reminder says (Chinese first; the pages translate
// by kind).
func noticeText(kind, subject string) string {
	switch kind {
	case "letter_overdue":
		return "村民来信「" + subject + "」已超时未回复"
	case "letter_township":
		return "村民来信「" + subject + "」超时未回复，已上报乡镇"
	default:
		return "村民来信「" + subject + "」超时未回复，已上报县级"
	}
}

// Subject fills the reminder SMS of a letter (the dispatcher's
// notify.Subjects): a letter answered or closed meanwhile is
// storage.ErrNotFound, so its SMS is never sent.
func (s *Service) Subject(ctx context.Context, row *storage.Message) (*notify.Item, error) {
	l, err := s.store.GetLetter(ctx, row.Ref.ID)
	if err != nil {
		return nil, err
	}
	if l.Status != storage.LetterOpen {
		return nil, fmt.Errorf("letter %s is %s: %w", l.ID, l.Status, storage.ErrNotFound)
	}
	subject := []rune(l.Subject)
	if len(subject) > 20 {
		subject = append(subject[:20], '…')
	}
	var text string
	switch row.Kind {
	case storage.MessageLetterOverdue:
		text = "【应急平台】村民来信「" + string(subject) + "」已超时未回复，请登录平台处理。"
	case storage.MessageLetterTownship:
		text = "【应急平台】村民来信「" + string(subject) + "」超时未回复，已上报乡镇，请登录平台处理。"
	default:
		text = "【应急平台】村民来信「" + string(subject) + "」超时未回复，已上报县级，请登录平台处理。"
	}
	if row.Lang == "en" {
		text = "[Emergency Hub] A villager's letter is unanswered past its time limit (" + l.Level + "). Please sign in to answer it."
	}
	return &notify.Item{Text: text}, nil
}
