package reports

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The deadline steps (docs/API.md v1.6 "report handling"). Each open
// report has one job in the scheduler, at the time of its next step:
//
//   - due_at (the first limit): overdue = true, and a notice to its
//     assignee and its village's cadres;
//   - remind_at (due_at + the policy's SMS delay): if nobody has touched
//     it (still in the initial status), an SMS to the same members
//     through the outbox (one per report and member: exactly once);
//   - escalate_at (the second limit): level village -> township, a
//     notice to the township's staff (members.StaffAt);
//   - county_at (the third limit): level township -> county, a notice to
//     the county's staff.
//
// The store is the source of truth: a job only says "look at this report
// again then"; it re-reads the report, takes every step whose time has
// come (in one write, with its history entries by "system", its events
// and its SMS), and schedules the next. Start schedules every open report
// the store holds, so a restart loses nothing (steps that fell due while
// the hub was down are taken at once). A step is taken once: it is
// recorded on the report (overdue, reminded, level) in the write that
// takes it, and a write that lost a race with another change is retried
// on the report as it is then.

// maxOpenReports bounds how many open reports of each status Start
// schedules (the scheduler's default bound of pending jobs).
const maxOpenReports = 100_000

// Start schedules the next step of every open report in the store. Call it
// once, before the scheduler runs or while it does.
func (s *Service) Start(ctx context.Context) error {
	if s.sched == nil {
		return nil
	}
	n := 0
	for _, st := range s.pol.Now().Reports.Statuses {
		if s.pol.Now().Final(st) {
			continue
		}
		rs, err := s.store.ListReports(ctx, storage.ReportFilter{Status: st, Limit: maxOpenReports})
		if err != nil {
			return err
		}
		if len(rs) == maxOpenReports {
			// Listed newest first: the oldest are left out until a restart
			// after some are closed.
			s.log.WarnContext(ctx, "too many open reports to schedule them all", "status", st, "scheduled", len(rs))
		}
		for i := range rs {
			s.scheduleSteps(&rs[i])
		}
		n += len(rs)
	}
	s.log.DebugContext(ctx, "open reports scheduled", "reports", n)
	return nil
}

func dueKey(id string) string { return "report/" + id + "/due" }

// nextStep is when the next step of r comes (zero: none is left).
func (s *Service) nextStep(r *storage.Report) time.Time {
	if s.pol.Now().Final(r.Status) {
		return time.Time{}
	}
	var next time.Time
	consider := func(t time.Time, pending bool) {
		if pending && !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	consider(r.DueAt, !r.Overdue)
	consider(r.RemindAt, !r.Reminded && r.Status == s.pol.Now().Reports.Initial)
	consider(r.EscalateAt, level(r.Level) == storage.LevelVillage)
	consider(r.CountyAt, level(r.Level) != storage.LevelCounty)
	return next
}

// scheduleSteps arranges the job of an open report's next step.
func (s *Service) scheduleSteps(r *storage.Report) {
	at := s.nextStep(r)
	if s.sched == nil || at.IsZero() {
		return
	}
	id := r.ID
	if err := s.sched.Schedule(dueKey(id), at, func(ctx context.Context) { s.due(ctx, id) }); err != nil {
		// Closed (shutting down) or full: the store keeps the times, and
		// the next start schedules it again.
		s.log.Warn("cannot schedule a report's next step", "report", id, "at", at, "err", err)
	}
}

// cancelSteps drops the job of a report that was closed.
func (s *Service) cancelSteps(id string) {
	if s.sched != nil {
		s.sched.Cancel(dueKey(id))
	}
}

// due is the job: it takes the steps whose time has come.
func (s *Service) due(ctx context.Context, id string) {
	for attempt := 0; attempt < 5; attempt++ {
		r, err := s.store.GetReport(ctx, id)
		if err != nil {
			if !service.IsNotFound(err) && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "read a report at its step", "report", id, "err", err)
			}
			return
		}
		err = s.step(ctx, &r)
		if errors.Is(err, storage.ErrConflict) {
			continue // changed meanwhile: look at it again
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "take a report's step", "report", id, "err", err)
			}
			// Rescheduled by the next start; try again in a minute meanwhile.
			if s.sched != nil {
				_ = s.sched.Schedule(dueKey(id), s.now().Add(time.Minute), func(ctx context.Context) { s.due(ctx, id) })
			}
			return
		}
		s.scheduleSteps(&r)
		return
	}
}

// step takes the steps of r whose time has come, in one write.
func (s *Service) step(ctx context.Context, r *storage.Report) error {
	now := s.now()
	if s.pol.Now().Final(r.Status) {
		return nil
	}
	fromSeq := r.Seq
	came := func(t time.Time) bool { return !t.IsZero() && !t.After(now) }
	var hist []storage.ReportHistory
	var notices []*storage.Event
	var msgs []storage.Message
	wentOverdue := false
	add := func(change, from, to string) {
		hist = append(hist, storage.ReportHistory{ReportID: r.ID, At: now, Actor: storage.HistoryActorSystem,
			Change: change, From: from, To: to})
	}
	// The assignee and the village's cadres: who is reminded.
	reminded := func() ([]string, error) {
		ids, err := s.staffAt(ctx, r.VillageID, storage.LevelVillage)
		if err != nil {
			return nil, err
		}
		if r.AssigneeID != "" && !slices.Contains(ids, r.AssigneeID) {
			ids = append(ids, r.AssigneeID)
		}
		return ids, nil
	}
	if !r.Overdue && came(r.DueAt) {
		r.Overdue = true
		add(storage.ChangeOverdue, "false", "true")
		wentOverdue = true
		ids, err := reminded()
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			notices = append(notices, noticeEvent(r, ids, Notice{Kind: NoticeOverdue,
				Text: "上报事项已超时未办结，请尽快处理", Ref: NoticeRef{Type: storage.RefReport, ID: r.ID},
				Level: level(r.Level), VillageID: r.VillageID}))
			add(storage.ChangeReminder, "", itoa(len(ids)))
		}
	}
	if !r.Reminded && r.Status == s.pol.Now().Reports.Initial && came(r.RemindAt) {
		r.Reminded = true
		ids, err := reminded()
		if err != nil {
			return err
		}
		for _, id := range ids {
			msgs = append(msgs, storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefReport, ID: r.ID},
				MemberID: id, Kind: storage.MessageReportReminder, Priority: reminderPriority, DueAt: now})
		}
		add(storage.ChangeReminderSMS, "", itoa(len(ids)))
	}
	escalate := func(to string) error {
		add(storage.ChangeLevel, level(r.Level), to)
		r.Level = to
		ids, err := s.staffAt(ctx, r.VillageID, to)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			text := "上报事项超时未办结，已上报乡镇"
			if to == storage.LevelCounty {
				text = "上报事项超时未办结，已上报县级"
			}
			notices = append(notices, noticeEvent(r, ids, Notice{Kind: NoticeEscalated, Text: text,
				Ref: NoticeRef{Type: storage.RefReport, ID: r.ID}, Level: to, VillageID: r.VillageID}))
			add(storage.ChangeReminder, "", itoa(len(ids)))
		}
		return nil
	}
	if level(r.Level) == storage.LevelVillage && came(r.EscalateAt) {
		if err := escalate(storage.LevelTownship); err != nil {
			return err
		}
	}
	if level(r.Level) == storage.LevelTownship && came(r.CountyAt) {
		if err := escalate(storage.LevelCounty); err != nil {
			return err
		}
	}
	if len(hist) == 0 {
		return nil // nothing came yet (a job woken early, or a step skipped)
	}
	r.UpdatedAt = now
	if err := s.change(ctx, r, fromSeq, hist, notices, msgs); err != nil {
		return err
	}
	if wentOverdue {
		s.metrics.ReportsOverdue.Inc()
	}
	s.log.InfoContext(ctx, "report step", "report", r.ID, "kind", r.Kind, "village", r.VillageID,
		"status", r.Status, "level", r.Level, "overdue", r.Overdue, "reminded", r.Reminded)
	return nil
}

// reminderPriority is the outbox priority of report reminders: below
// alerts (their severity rank, 1 to 4), as invitations are.
const reminderPriority = 0
