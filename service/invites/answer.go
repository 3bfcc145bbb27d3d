package invites

import (
	"context"
	"errors"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/alerting"
	"github.com/longyou/hub/storage"
)

// The personal answer link of an alert SMS ({public}/a/{code}): it names
// one alert and one member, and lets whoever holds it see that alert and
// answer it for that member, nothing else.

var errNoLink = service.Errorf(service.CodeNotFound, "no such answer link")

// AnswerPage is what an answer link shows.
type AnswerPage struct {
	Alert    storage.Alert
	Status   string // active, cancelled or expired, as of now
	Response string // the member's current answer, "" when none
	EtaMin   *int
	// Name is the member's name with all but its first character masked.
	Name string
}

// link decodes a code to its alert and member; a code that is forged, or
// names an alert or member that is gone or not addressed, is not_found.
func (s *Service) link(ctx context.Context, code string) (storage.Alert, storage.Member, error) {
	seq, memberID, err := s.cfg.Links.DecodeAnswer(code)
	if err != nil {
		return storage.Alert{}, storage.Member{}, errNoLink
	}
	a, err := s.cfg.Store.AlertBySeq(ctx, seq)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Alert{}, storage.Member{}, errNoLink
	}
	if err != nil {
		return storage.Alert{}, storage.Member{}, err
	}
	m, err := s.cfg.Store.GetMember(ctx, memberID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Alert{}, storage.Member{}, errNoLink
	}
	if err != nil {
		return storage.Alert{}, storage.Member{}, err
	}
	ok, err := s.cfg.Store.IsTargeted(ctx, a.ID, m.ID)
	if err != nil {
		return storage.Alert{}, storage.Member{}, err
	}
	if !ok {
		return storage.Alert{}, storage.Member{}, errNoLink
	}
	return a, m, nil
}

// Answer reads what an answer link shows.
func (s *Service) Answer(ctx context.Context, code string) (AnswerPage, error) {
	a, m, err := s.link(ctx, code)
	if err != nil {
		return AnswerPage{}, err
	}
	p := AnswerPage{Alert: a, Status: s.cfg.Alerting.Status(&a), Name: MaskName(m.Name)}
	hist, err := s.cfg.Store.AckHistory(ctx, a.ID, m.ID)
	if err != nil {
		return AnswerPage{}, err
	}
	if len(hist) > 0 {
		last := hist[len(hist)-1]
		p.Response, p.EtaMin = last.Response, last.EtaMin
	}
	return p, nil
}

// AnswerBy records an answer through an answer link, as the member's own
// answer (alerting.Service.Answer: progress pushed, the member's pending
// SMS cancelled). An alert that has ended is conflict.
func (s *Service) AnswerBy(ctx context.Context, code, response string, etaMin *int, note string) (time.Time, error) {
	a, m, err := s.link(ctx, code)
	if err != nil {
		return time.Time{}, err
	}
	if s.cfg.Alerting.Status(&a) != storage.AlertActive {
		return time.Time{}, service.Errorf(service.CodeConflict, "alert has ended")
	}
	at := s.now()
	if err := s.cfg.Alerting.Answer(ctx, alerting.Answer{AlertID: a.ID, MemberID: m.ID, Response: response,
		EtaMin: etaMin, Note: note}); err != nil {
		return time.Time{}, err
	}
	return at, nil
}

// MaskName keeps the first character of a name (the family name) and
// masks the rest: 王小明 is 王**.
func MaskName(name string) string {
	r := []rune(name)
	if len(r) == 0 {
		return ""
	}
	out := []rune{r[0]}
	for range r[1:] {
		out = append(out, '*')
	}
	if len(out) == 1 {
		out = append(out, '*')
	}
	return string(out)
}
