package storetest

import (
	"testing"

	"github.com/longyou/hub/storage"
)

// Reports gained created_seq (SQLite migration 00009, PostgreSQL 00007),
// the key their lists are paged by. A backend's own test migrates a
// database to the step before, writes LegacyReportRows and
// LegacyReportEvents with SQL of its dialect (every other column: a new
// flood report of member m1, village v1, at LegacyT0), opens the store
// and calls CheckLegacyReports.

// LegacyReport is a report row before created_seq: its id and its seq
// (the seq of its latest event).
type LegacyReport struct {
	ID  string
	Seq int64
}

// LegacyReportRows: L1 was made at seq 1 and accepted at seq 3; L2 made at
// seq 2; L3 has no event in the log (its seq 4 is all there is).
var LegacyReportRows = []LegacyReport{{"L1", 3}, {"L2", 2}, {"L3", 4}}

// LegacyReportEvent is a report event of the log: its seq and JSON body
// (the report's wire form, which carries its id).
type LegacyReportEvent struct {
	Seq  int64
	Body string
}

// LegacyReportEvents is the log of LegacyReportRows.
var LegacyReportEvents = []LegacyReportEvent{
	{1, `{"id":"L1","status":"new"}`},
	{2, `{"id":"L2","status":"new"}`},
	{3, `{"id":"L1","status":"accepted"}`},
}

// CheckLegacyReports: each upgraded report's CreatedSeq is the seq of its
// first event (its latest seq without one), and they list in that order.
func CheckLegacyReports(t *testing.T, s storage.Store) {
	t.Helper()
	want := map[string]int64{"L1": 1, "L2": 2, "L3": 4}
	for id, seq := range want {
		r, err := s.GetReport(t.Context(), id)
		mustNoErr(t, err, "get "+id)
		if r.CreatedSeq != seq {
			t.Errorf("%s: created seq %d, want %d", id, r.CreatedSeq, seq)
		}
	}
	rs, err := s.ListReports(t.Context(), storage.ReportFilter{Oldest: true})
	mustNoErr(t, err, "list reports")
	wantEqual(t, reportIDs(rs), []string{"L1", "L2", "L3"}, "upgraded reports, oldest first")
	rs, err = s.ListReports(t.Context(), storage.ReportFilter{After: 2})
	mustNoErr(t, err, "list reports after 2")
	wantEqual(t, reportIDs(rs), []string{"L1"}, "upgraded reports, newest first after seq 2")
}
