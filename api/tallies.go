package api

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/patrol"
)

// Emergency tallies (docs/API.md v1.6 "patrol rounds, visits and
// tallies", issue 16 part 6): per village, the reports, notices, rounds
// and visits of a span -- given by from/to, an alert's time span or a
// named emergency period -- with the report figures, as JSON or CSV.

// chinaTime is the county's time zone: dates in queries are its days.
var chinaTime = time.FixedZone("CST", 8*3600)

// spanQuery parses a span: RFC 3339 times, or dates (YYYY-MM-DD, days of
// China Standard Time; to is then inclusive: its day's end). Empty is the
// zero time unless required.
func spanQuery(fromS, toS string, required bool) (from, to time.Time, err error) {
	parse := func(name, s string, end bool) (time.Time, error) {
		if s == "" {
			if required {
				return time.Time{}, service.Invalid("%s is required (an RFC 3339 time or a date YYYY-MM-DD)", name)
			}
			return time.Time{}, nil
		}
		if len(s) == len("2006-01-02") {
			d, err := time.ParseInLocation("2006-01-02", s, chinaTime)
			if err != nil {
				return time.Time{}, service.Invalid("%s: not a date YYYY-MM-DD", name)
			}
			if end {
				d = d.AddDate(0, 0, 1)
			}
			return d.UTC(), nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.Year() < 2000 || t.Year() > 2200 {
			return time.Time{}, service.Invalid("%s: not an RFC 3339 time or a date YYYY-MM-DD", name)
		}
		return t.UTC(), nil
	}
	if from, err = parse("from", fromS, false); err != nil {
		return
	}
	if to, err = parse("to", toS, true); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return time.Time{}, time.Time{}, service.Invalid("to must be after from")
	}
	return from, to, nil
}

// talliesQuery is a tallies query resolved: its span, its villages, and
// what named it.
type talliesQuery struct {
	from, to      time.Time
	villages      []string
	countyNotices bool
	alertID       string
	emergencyID   string
}

func (a *API) resolveTallies(r *http.Request, p *Principal) (talliesQuery, error) {
	if roleTable[ActReadTallies][p.Role] == no {
		return talliesQuery{}, service.ErrForbidden // before naming any alert or emergency
	}
	q := r.URL.Query()
	var tq talliesQuery
	var alertVillages []string
	named := 0
	for _, k := range []string{"alert_id", "emergency_id", "from"} {
		if q.Get(k) != "" {
			named++
		}
	}
	if named != 1 {
		return tq, service.Invalid("give one of from (with to), alert_id or emergency_id")
	}
	switch {
	case q.Get("alert_id") != "":
		al, err := a.patrol.Alert(r.Context(), q.Get("alert_id"))
		if err != nil {
			return tq, err
		}
		if al.Villages != nil && !may(p, ActReadAlert, Scope{Villages: al.Villages}) {
			return tq, service.ErrNotFound
		}
		tq.alertID, tq.from, tq.to, alertVillages = al.ID, al.CreatedAt, al.ExpiresAt, al.Villages
		if al.CancelledAt != nil && al.CancelledAt.Before(tq.to) {
			tq.to = *al.CancelledAt
		}
		if !tq.to.After(tq.from) {
			tq.to = tq.from.Add(time.Second)
		}
	case q.Get("emergency_id") != "":
		e, err := a.patrol.Emergency(r.Context(), q.Get("emergency_id"))
		if err != nil {
			return tq, err
		}
		tq.emergencyID, tq.from, tq.to = e.ID, e.From, e.To
	default:
		from, to, err := spanQuery(q.Get("from"), q.Get("to"), true)
		if err != nil {
			return tq, err
		}
		tq.from, tq.to = from, to
	}
	vs, err := a.dueVillages(r, p, ActReadTallies)
	if err != nil {
		return tq, err
	}
	if alertVillages != nil {
		vs = slices.DeleteFunc(vs, func(v string) bool { return !slices.Contains(alertVillages, v) })
	}
	tq.villages = vs
	// The county-wide notices belong to the county's view only.
	tq.countyNotices = q.Get("village_id") == "" && alertVillages == nil && may(p, ActReadTallies, Scope{})
	return tq, nil
}

// TallyRow is one village's (or the total's) row of the tallies.
type TallyRow struct {
	VillageID       string   `json:"village_id,omitempty"`
	Name            string   `json:"name,omitempty"`
	Township        string   `json:"township,omitempty"`
	Reports         int      `json:"reports"`
	Notices         int      `json:"notices"`
	Rounds          int      `json:"rounds"`
	Visits          int      `json:"visits"`
	OnTime          *int     `json:"on_time,omitempty"`
	Overdue         *int     `json:"overdue,omitempty"`
	SolvedInVillage *int     `json:"solved_in_village,omitempty"`
	MedianResolveS  *float64 `json:"median_resolve_s,omitempty"`
}

func tallyRow(t *patrol.Tally) TallyRow {
	row := TallyRow{VillageID: t.VillageID, Name: t.Name, Township: t.Township, Reports: t.Reports, Notices: t.Notices,
		Rounds: t.Rounds, Visits: t.Visits}
	if f := t.Figures; f != nil {
		row.OnTime, row.Overdue, row.SolvedInVillage, row.MedianResolveS = &f.OnTime, &f.Overdue, &f.SolvedInVillage, &f.MedianResolveS
	}
	return row
}

func (a *API) tallies(r *http.Request, p *Principal) (talliesQuery, patrol.Tallies, error) {
	tq, err := a.resolveTallies(r, p)
	if err != nil {
		return tq, patrol.Tallies{}, err
	}
	t, err := a.patrol.Tallies(r.Context(), tq.from, tq.to, tq.villages, tq.countyNotices)
	return tq, t, err
}

func (a *API) handleTallies(w http.ResponseWriter, r *http.Request, p *Principal) error {
	tq, t, err := a.tallies(r, p)
	if err != nil {
		return err
	}
	rows := make([]TallyRow, len(t.Villages))
	for i := range t.Villages {
		rows[i] = tallyRow(&t.Villages[i])
	}
	days := make([]map[string]any, len(t.Days))
	for i, d := range t.Days {
		days[i] = map[string]any{"date": d.Date, "rounds": d.Rounds, "visits": d.Visits}
	}
	out := map[string]any{"from": t.From, "to": t.To, "villages": rows, "total": tallyRow(&t.Total),
		"county_notices": t.CountyNotices, "days": days}
	if tq.alertID != "" {
		out["alert_id"] = tq.alertID
	}
	if tq.emergencyID != "" {
		out["emergency_id"] = tq.emergencyID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) handleTalliesCSV(w http.ResponseWriter, r *http.Request, p *Principal) error {
	_, t, err := a.tallies(r, p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="tallies.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("\uFEFF")) // the BOM: Excel reads the Chinese headers as UTF-8
	cw := csv.NewWriter(w)
	head := []string{"村庄编号", "村庄", "乡镇", "群众上报", "通知公告", "巡查轮次", "走访户次"}
	if t.HasFigures {
		head = append(head, "按时办理", "超时", "村内解决", "办结用时中位数(秒)")
	}
	_ = cw.Write(head)
	row := func(id, name, township string, tr *patrol.Tally) []string {
		rec := []string{id, csvSafe(name), csvSafe(township), strconv.Itoa(tr.Reports), strconv.Itoa(tr.Notices),
			strconv.Itoa(tr.Rounds), strconv.Itoa(tr.Visits)}
		if t.HasFigures && tr.Figures != nil {
			f := tr.Figures
			rec = append(rec, strconv.Itoa(f.OnTime), strconv.Itoa(f.Overdue), strconv.Itoa(f.SolvedInVillage),
				strconv.FormatFloat(f.MedianResolveS, 'f', 0, 64))
		}
		return rec
	}
	for i := range t.Villages {
		v := &t.Villages[i]
		_ = cw.Write(row(v.VillageID, v.Name, v.Township, v))
	}
	_ = cw.Write(row("", "合计", "", &t.Total))
	cw.Flush()
	return nil
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
