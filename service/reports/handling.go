package reports

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Report handling within time limits (docs/API.md v1.6 "report handling",
// issue 16 part 1): the village where a report is, its assignee, its
// history, and every change written with its events (report and the
// addressed report_update, notices) in one transaction. The deadline steps
// are in due.go, the figures in figures.go.

// villageAt is the village a report at (lat, lng) belongs to: the one
// whose centre is nearest, if within the policy's village radius; else
// fallback (the reporter's village).
func (s *Service) villageAt(ctx context.Context, lat, lng float64, fallback string) (string, error) {
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return "", err
	}
	best, bestD := "", s.pol.Now().Handling.VillageRadius()
	at := geo.LatLng{Lat: lat, Lng: lng}
	for _, v := range vs {
		if v.Center.Lat == 0 && v.Center.Lng == 0 {
			continue // no centre on record
		}
		if d := geo.DistanceM(at, geo.LatLng{Lat: v.Center.Lat, Lng: v.Center.Lng}); d <= bestD {
			best, bestD = v.ID, d
		}
	}
	if best == "" {
		return fallback, nil
	}
	return best, nil
}

// staffAt is Config.Staff, nobody without it.
func (s *Service) staffAt(ctx context.Context, villageID, level string) ([]string, error) {
	if s.staff == nil {
		return nil, nil
	}
	return s.staff(ctx, villageID, level)
}

// checkAssignee: the assignee must be one of the staff who handle the
// report at its level.
func (s *Service) checkAssignee(ctx context.Context, rep *storage.Report, id string) error {
	ids, err := s.staffAt(ctx, rep.VillageID, level(rep.Level))
	if err != nil {
		return err
	}
	if !slices.Contains(ids, id) {
		return service.Invalid("assignee_id must be a member who handles this report at its level (%s)", level(rep.Level))
	}
	return nil
}

// readers of a report's report_update event: its reporter and the staff
// of its village at its level.
func (s *Service) readers(ctx context.Context, rep *storage.Report) ([]string, error) {
	ids, err := s.staffAt(ctx, rep.VillageID, level(rep.Level))
	if err != nil {
		return nil, err
	}
	ids = append(ids, rep.MemberID)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Notice is the body of a notice event: a personal reminder.
type Notice struct {
	Kind string    `json:"kind"` // report_overdue, report_escalated
	Text string    `json:"text"` // Chinese; the pages translate by kind
	Ref  NoticeRef `json:"ref"`
	// Level is the report's level after the step.
	Level string `json:"level,omitempty"`
	// VillageID is the report's village.
	VillageID string `json:"village_id,omitempty"`
}

// NoticeRef is what a notice is about.
type NoticeRef struct {
	Type string `json:"type"` // report
	ID   string `json:"id"`
}

// Notice kinds.
const (
	NoticeOverdue   = "report_overdue"
	NoticeEscalated = "report_escalated"
)

func noticeEvent(rep *storage.Report, to []string, n Notice) *storage.Event {
	body, _ := json.Marshal(&n)
	return &storage.Event{Type: storage.EventNotice, VillageID: rep.VillageID, To: to,
		Body: body, CreatedAt: rep.UpdatedAt}
}

// change writes rep (read at fromSeq) with its history, notices and SMS,
// then the report event and the report_update event, and publishes them.
func (s *Service) change(ctx context.Context, rep *storage.Report, fromSeq int64, hist []storage.ReportHistory,
	notices []*storage.Event, msgs []storage.Message) error {
	to, err := s.readers(ctx, rep)
	if err != nil {
		return err
	}
	v1 := s.reportEvent(ctx, rep)
	upd := &storage.Event{Type: storage.EventReportUpdate, VillageID: rep.VillageID, MemberID: rep.MemberID,
		Body: v1.Body, CreatedAt: rep.UpdatedAt, To: to}
	// A public report's board event (v1.6, service/board), before its own.
	also := s.boardEvents(ctx, rep)
	evs := append(append(notices, also...), v1, upd)
	if err := s.store.ChangeReport(ctx, &storage.ReportChange{Report: rep, FromSeq: fromSeq, History: hist,
		Events: evs, Messages: msgs}); err != nil {
		return err
	}
	for _, ev := range notices {
		s.metrics.Stored.WithLabelValues(ev.Type).Inc()
		s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
	}
	s.publishAlso(ctx, also)
	s.metrics.Stored.WithLabelValues(v1.Type).Inc()
	s.node.PublishEvent(ctx, v1, audience(rep))
	s.metrics.Stored.WithLabelValues(upd.Type).Inc()
	s.node.PublishEvent(ctx, upd, hub.AddressedAudience(upd))
	if len(msgs) > 0 && s.wake != nil {
		s.wake()
	}
	return nil
}

// History is one change of a report as clients see it.
type History struct {
	At     string `json:"at"`
	Actor  string `json:"actor"` // a member id, or "system"
	Change string `json:"change"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
}

// History lists a report's changes, oldest first.
func (s *Service) History(ctx context.Context, id string) ([]History, error) {
	hs, err := s.store.ReportHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]History, len(hs))
	for i, h := range hs {
		out[i] = History{At: h.At.UTC().Format("2006-01-02T15:04:05.999999Z07:00"), Actor: h.Actor,
			Change: h.Change, From: h.From, To: h.To}
	}
	return out, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// SMSText is the SMS reminding a handler of an overdue report (outbox rows
// of Ref type storage.RefReport): Chinese unless the member chose English,
// with the member page's link; never the report's text or its reporter.
func (s *Service) SMSText(ctx context.Context, row *storage.Message, publicURL string) (string, error) {
	r, err := s.store.GetReport(ctx, row.Ref.ID)
	if err != nil {
		return "", err
	}
	if s.pol.Now().Final(r.Status) {
		// Handled meanwhile: the reminder is not sent.
		return "", storage.ErrNotFound
	}
	kind := r.Kind
	village := s.villageName(ctx, r.VillageID)
	link := strings.TrimRight(publicURL, "/") + "/"
	if row.Lang == "en" {
		return "[Emergency Hub] Reminder: a " + kind + " report in " + village +
			" is overdue and not handled yet. Please handle it: " + link, nil
	}
	return "【应急平台】提醒：" + village + "的一条" + kindZH(kind) + "上报已超时未处理，请尽快处理：" + link, nil
}

var kindsZH = map[string]string{"flood": "汛情", "fire": "火情", "landslide": "地质灾害", "freeze": "冰冻",
	"road": "道路", "water": "供水", "sanitation": "环境卫生", "dispute": "矛盾纠纷", "other": "其他"}

func kindZH(k string) string {
	if z, ok := kindsZH[k]; ok {
		return z
	}
	return k
}
