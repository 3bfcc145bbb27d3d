package reports

import (
	"context"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// The due-time seam. Each open report has a job in the scheduler at its
// due_at (policy.DueAt when it was made). The store is the source of
// truth: the scheduler is in memory only, a job just says "look at this
// report again then", and it re-reads the report and acts only if the
// report is still open and due. Start schedules again every open report
// the store holds, so a restart loses nothing (a report that fell due
// while the hub was down is handled at once).
//
// For now the job only counts the overdue report (hub_reports_overdue_total)
// and logs it, once per report and node run; escalation (policy's
// EscalateAt: village to township) will act here.

// maxOpenReports bounds how many open reports of each status Start
// schedules (the scheduler's default bound of pending jobs).
const maxOpenReports = 100_000

// Start schedules the due time of every open report in the store. Call it
// once, before the scheduler runs or while it does.
func (s *Service) Start(ctx context.Context) error {
	if s.sched == nil {
		return nil
	}
	n := 0
	for _, st := range s.pol.Reports.Statuses {
		if s.pol.Final(st) {
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
			s.scheduleDue(&rs[i])
		}
		n += len(rs)
	}
	s.log.DebugContext(ctx, "open reports scheduled", "reports", n)
	return nil
}

func dueKey(id string) string { return "report/" + id + "/due" }

// scheduleDue arranges the due-time job of an open report.
func (s *Service) scheduleDue(r *storage.Report) {
	if s.sched == nil || r.DueAt.IsZero() || s.pol.Final(r.Status) {
		return
	}
	id := r.ID
	if err := s.sched.Schedule(dueKey(id), r.DueAt, func(ctx context.Context) { s.due(ctx, id) }); err != nil {
		// Closed (shutting down) or full: the store keeps due_at, and the
		// next start schedules it again.
		s.log.Warn("cannot schedule a report's due time", "report", id, "due_at", r.DueAt, "err", err)
	}
}

// cancelDue drops the job of a report that was closed.
func (s *Service) cancelDue(id string) {
	if s.sched != nil {
		s.sched.Cancel(dueKey(id))
	}
}

// due is the job: it re-reads the report and, if it is still open and its
// due time has come, counts and logs it as overdue.
func (s *Service) due(ctx context.Context, id string) {
	r, err := s.store.GetReport(ctx, id)
	if err != nil {
		if !service.IsNotFound(err) && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "read a report at its due time", "report", id, "err", err)
		}
		return
	}
	if s.pol.Final(r.Status) {
		return // handled in time
	}
	if now := s.now(); r.DueAt.After(now) {
		s.scheduleDue(&r) // its due time moved later
		return
	}
	s.metrics.ReportsOverdue.Inc()
	s.log.InfoContext(ctx, "report overdue", "report", r.ID, "kind", r.Kind, "village", r.VillageID,
		"status", r.Status, "due_at", r.DueAt.Format(time.RFC3339))
}
