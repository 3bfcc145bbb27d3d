package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// handlingPolicy: floods due in 1 hour, to the township at 4 hours, to
// the county at 24 hours; the SMS reminder 30 minutes after due.
func handlingPolicy(cfg *Config) {
	p := policy.Default()
	for i := range p.Reports.Kinds {
		if p.Reports.Kinds[i].Name == "flood" {
			p.Reports.Kinds[i].TimeLimits = policy.TimeLimits{Due: policy.Duration(time.Hour),
				Escalate: policy.Duration(4 * time.Hour), County: policy.Duration(24 * time.Hour)}
		}
	}
	p.Handling.SMSDelay = policy.Duration(30 * time.Minute)
	cfg.Policy = &p
}

// getReport reads a report through the API of srv (the test's hub when "").
func (e *testEnv) getReportOn(url, tok, id string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest("GET", url+"/api/v1/reports/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("get report: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("get report %s: %d %v", id, resp.StatusCode, err)
	}
	return out["report"].(map[string]any)
}

// waitReport waits until the report (read through url) satisfies ok.
func (e *testEnv) waitReport(url, tok, id, what string, ok func(r map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.getReportOn(url, tok, id)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("report %s: %s never came: %v", id, what, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReportHandlingMonth is a scripted month of one township (issue 16
// part 1): reports filed where they are, assigned, handled in time or
// late; the deadlines pass on the injected clock: overdue with a push
// notice to the village's cadres at the first limit, an SMS (once) to
// them at the SMS delay if nobody touched the report, the township at the
// second limit, the county at the third, a restart in between (another
// node on the same store reschedules from it); each step in the history
// with its actor; the scopes of lists, histories and figures; the figures
// equal to what the script did.
func TestReportHandlingMonth(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, handlingPolicy, func(c *Config) { c.Sender = snd })
	ctx := context.Background()
	alpha, beta := e.villages[0], e.villages[1] // township T
	gamma, err := e.h.members.CreateVillage(ctx, "Gamma", "U", &storage.LatLng{Lat: 29.6, Lng: 119.5}, false)
	if err != nil {
		t.Fatal(err)
	}
	resA, resATok := e.member(storage.RoleResident, 0, inside)
	_, resBTok := e.member(storage.RoleResident, 1, inside)
	cadA, cadATok := e.member(storage.RoleCadre, 0, inside)
	cadB, cadBTok := e.member(storage.RoleCadre, 1, inside)
	delta, err := e.h.members.CreateVillage(ctx, "Delta", "U", &storage.LatLng{Lat: 29.9, Lng: 119.9}, false)
	if err != nil {
		t.Fatal(err)
	}
	e.villages = append(e.villages, gamma)
	tcad, tcadTok := e.member(storage.RoleCadre, 2, inside) // lives in Gamma, governs T
	tcom, _ := e.member(storage.RoleCommander, -1, inside)
	_, comTok := e.member(storage.RoleCommander, -1, inside)
	for _, id := range []string{tcad.ID, tcom.ID} {
		if code, out := e.call("PUT", "/api/v1/members/"+id+"/township", comTok, map[string]any{"township": "T"}); code != 200 {
			t.Fatalf("township: %d %v", code, out)
		}
	}
	wsCadA, wsTcad, wsResA := e.dial(cadATok), e.dial(tcadTok), e.dial(resATok)
	for _, w := range []*wsClient{wsCadA, wsTcad, wsResA} {
		w.welcome()
	}

	start := e.now()
	post := func(kind string, lat, lng float64) map[string]any {
		t.Helper()
		code, out := e.call("POST", "/api/v1/reports", resATok, map[string]any{"kind": kind, "text": "水漫过路", "lat": lat, "lng": lng})
		if code != 201 {
			t.Fatalf("report: %d %v", code, out)
		}
		return out["report"].(map[string]any)
	}
	r1 := post("flood", 29.031, 119.171) // in Alpha, never handled
	r2 := post("flood", 29.131, 119.171) // in Beta (resA lives in Alpha), handled in time
	r3 := post("flood", 29.029, 119.169) // in Alpha, assigned, handled late
	r4 := post("flood", 29.03, 119.17)   // in Alpha, handled by the township
	r5 := post("other", 31.5, 121.5)     // far from every village: the reporter's (Alpha)
	id := func(r map[string]any) string { return r["id"].(string) }

	// 1. Where: by position, bounded.
	for _, c := range []struct {
		r              map[string]any
		village, level string
	}{{r1, alpha.ID, "village"}, {r2, beta.ID, "village"}, {r5, alpha.ID, "village"}} {
		if c.r["village_id"] != c.village || c.r["reporter_village_id"] != alpha.ID || c.r["level"] != c.level || c.r["overdue"] != false {
			t.Errorf("report %s: village %v reporter's %v level %v overdue %v", id(c.r), c.r["village_id"], c.r["reporter_village_id"], c.r["level"], c.r["overdue"])
		}
	}
	if c := r1["escalate_at"]; c == nil {
		t.Errorf("r1 has no escalate_at: %v", r1)
	}

	patch := func(tok, rid string, body map[string]any, want int) map[string]any {
		t.Helper()
		code, out := e.call("PATCH", "/api/v1/reports/"+rid, tok, body)
		if code != want {
			t.Fatalf("PATCH %s %v: %d %v, want %d", rid, body, code, out, want)
		}
		return out
	}
	// 1 minute: r5 resolved at once.
	e.advance(time.Minute)
	patch(cadATok, id(r5), map[string]any{"status": "resolved", "feedback": "已处理"}, 200)
	// 5 minutes: r3 assigned; only staff of its village at its level.
	e.advance(4 * time.Minute)
	patch(cadATok, id(r3), map[string]any{"assignee_id": cadB.ID}, 400)
	patch(cadATok, id(r3), map[string]any{"assignee_id": resA.ID}, 400)
	patch(cadBTok, id(r3), map[string]any{"assignee_id": cadB.ID}, 403) // Beta's cadre, Alpha's report
	if out := patch(cadATok, id(r3), map[string]any{"assignee_id": cadA.ID}, 200); out["report"].(map[string]any)["assignee_id"] != cadA.ID {
		t.Fatalf("assign: %v", out)
	}
	// 10 and 50 minutes: r2 accepted and resolved by Beta's cadre.
	e.advance(5 * time.Minute)
	patch(cadBTok, id(r2), map[string]any{"status": "accepted"}, 200)
	e.advance(40 * time.Minute)
	patch(cadBTok, id(r2), map[string]any{"status": "resolved"}, 200)

	// 1 hour: r1, r3, r4 are overdue; Alpha's cadre gets three notices,
	// the reporter report_updates; the township cadre nothing yet.
	e.advance(10 * time.Minute)
	overdue := func(r map[string]any) bool { return r["overdue"] == true }
	for _, r := range []map[string]any{r1, r3, r4} {
		e.waitReport(e.srv.URL, comTok, id(r), "overdue", overdue)
	}
	notices := map[string]bool{}
	for len(notices) < 3 {
		n, _ := wsCadA.nextOf("notice")
		body := n["notice"].(map[string]any)
		if body["kind"] != "report_overdue" || body["ref"].(map[string]any)["type"] != "report" {
			t.Fatalf("notice: %v", n)
		}
		notices[body["ref"].(map[string]any)["id"].(string)] = true
	}
	if !notices[id(r1)] || !notices[id(r3)] || !notices[id(r4)] {
		t.Errorf("overdue notices for %v", notices)
	}
	for { // earlier ones (r5, r3, r2 handled) come first
		if u, _ := wsResA.nextOf("report_update"); u["report_update"].(map[string]any)["overdue"] == true {
			break
		}
	}
	if r := e.getReportOn(e.srv.URL, comTok, id(r2)); r["overdue"] != false {
		t.Errorf("r2, resolved in time, is overdue: %v", r)
	}
	wsTcad.quiet(200*time.Millisecond, "notice", "report_update")

	// 1h10: r3 accepted (touched before its SMS reminder).
	e.advance(10 * time.Minute)
	patch(cadATok, id(r3), map[string]any{"status": "accepted"}, 200)
	// 1h30: r1 and r4, untouched, remind Alpha's cadre by SMS, once.
	e.advance(20 * time.Minute)
	smsRows := func(rid string) []storage.Message {
		ms, err := e.store.ListMessages(ctx, storage.Ref{Type: storage.RefReport, ID: rid})
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	for _, r := range []map[string]any{r1, r4} {
		deadline := time.Now().Add(10 * time.Second)
		for len(smsRows(id(r))) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if ms := smsRows(id(r)); len(ms) != 1 || ms[0].MemberID != cadA.ID || ms[0].Kind != storage.MessageReportReminder {
			t.Errorf("SMS of %s: %+v, want one to Alpha's cadre", id(r), ms)
		}
	}
	// The SMS went out (twice: r1 and r4), naming the village, never the
	// report's text.
	waitFor(t, "the reminder SMS", func() bool { return len(snd.to(cadA.Phone)) == 2 })
	for _, m := range snd.to(cadA.Phone) {
		if !strings.Contains(m.Body, "Alpha") || !strings.Contains(m.Body, "超时") || strings.Contains(m.Body, "水漫过路") {
			t.Errorf("reminder SMS: %q", m.Body)
		}
	}
	// 2h: r3 resolved, late, in the village.
	e.advance(30 * time.Minute)
	patch(cadATok, id(r3), map[string]any{"status": "resolved"}, 200)
	if ms := smsRows(id(r3)); len(ms) != 0 {
		t.Errorf("r3 was touched before its reminder, yet SMS: %+v", ms)
	}

	// 4h: r1 and r4 go up to the township: the township cadre is told and
	// now lists them; it sees its township only.
	e.advance(2 * time.Hour)
	township := func(r map[string]any) bool { return r["level"] == "township" }
	for _, r := range []map[string]any{r1, r4} {
		e.waitReport(e.srv.URL, comTok, id(r), "township", township)
	}
	for range 2 {
		n, _ := wsTcad.nextOf("notice")
		if b := n["notice"].(map[string]any); b["kind"] != "report_escalated" || b["level"] != "township" {
			t.Errorf("township notice: %v", n)
		}
	}
	listIDs := func(tok, query string, want int) []string {
		t.Helper()
		code, out := e.call("GET", "/api/v1/reports"+query, tok, nil)
		if code != want {
			t.Fatalf("GET /api/v1/reports%s: %d %v, want %d", query, code, out, want)
		}
		if code != 200 {
			return nil
		}
		var ids []string
		for _, r := range out["reports"].([]any) {
			ids = append(ids, r.(map[string]any)["id"].(string))
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	if got := listIDs(tcadTok, "?level=township", 200); !slices.Equal(got, sorted(id(r1), id(r4))) {
		t.Errorf("township cadre, level=township: %v", got)
	}
	if got := listIDs(tcadTok, "?township=T", 200); len(got) != 5 {
		t.Errorf("township cadre, its township: %v", got)
	}
	if got := listIDs(tcadTok, "", 200); len(got) != 5 {
		t.Errorf("township cadre, no filter: %v", got)
	}
	if got := listIDs(tcadTok, "?overdue=true", 200); !slices.Equal(got, sorted(id(r1), id(r3), id(r4))) {
		t.Errorf("township cadre, overdue: %v", got)
	}
	listIDs(tcadTok, "?township=U", 403)
	listIDs(tcadTok, "?village_id="+delta.ID, 403)
	listIDs(cadBTok, "?township=T", 403)
	if got := listIDs(cadBTok, "", 200); !slices.Equal(got, []string{id(r2)}) {
		t.Errorf("Beta's cadre: %v", got)
	}
	if got := listIDs(resBTok, "?township=T", 200); len(got) != 0 {
		t.Errorf("Beta's resident (no reports) lists %v", got)
	}
	if got := listIDs(resATok, "?township=T", 200); len(got) != 5 {
		t.Errorf("the reporter lists %v, want its 5", got)
	}
	listIDs(comTok, "?level=nowhere", 400)
	listIDs(comTok, "?overdue=maybe", 400)
	if got := listIDs(comTok, "?township=U", 200); len(got) != 0 {
		t.Errorf("commander, township U: %v", got)
	}
	// 5h: the township cadre resolves r4.
	e.advance(time.Hour)
	patch(tcadTok, id(r4), map[string]any{"status": "resolved", "feedback": "乡镇已处理"}, 200)

	// A restart: this node's timed jobs stop; another node on the same
	// store schedules the open reports from it (r1: the county at 24h).
	if err := e.h.sched.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := New(ctx, Config{Store: e.store, Logger: testLogger(t), Clock: e.now, PingInterval: time.Minute, Policy: e.h.cfg.Policy})
	if err != nil {
		t.Fatalf("second node: %v", err)
	}
	srv2 := httptest.NewServer(s2.Handler())
	defer func() {
		srv2.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s2.Shutdown(sctx); err != nil {
			t.Errorf("second node shutdown: %v", err)
		}
	}()
	if n := s2.sched.Pending(); n != 1 {
		t.Errorf("second node: %d jobs, want 1 (r1's county step)", n)
	}
	e.advance(19*time.Hour - time.Minute) // a minute early: the test's own run time counts too
	s2.sched.Wake()
	time.Sleep(200 * time.Millisecond)
	if r := e.getReportOn(srv2.URL, comTok, id(r1)); r["level"] != "township" {
		t.Fatalf("r1 at the county a minute early: %v", r)
	}
	e.advance(time.Minute)
	s2.sched.Wake()
	e.waitReport(srv2.URL, comTok, id(r1), "county", func(r map[string]any) bool { return r["level"] == "county" })
	if ms := smsRows(id(r1)); len(ms) != 1 {
		t.Errorf("r1's SMS after the restart: %d rows, want still 1", len(ms))
	}
	if n := len(snd.to(cadA.Phone)); n != 2 {
		t.Errorf("Alpha's cadre got %d SMS in all, want 2", n)
	}

	// Resume replays the township cadre's addressed events exactly once:
	// three notices (r1 and r4 to the township, r1 to the county) and
	// four report_updates (r1 and r4 at the township, r4 resolved, r1 at
	// the county); nothing from before they went up.
	c := e.dial(tcadTok)
	c.welcome()
	reply, before := c.cmd(map[string]any{"type": "resume", "since": 0})
	if reply["ok"] != true {
		t.Fatalf("resume: %v", reply)
	}
	count, seqs := map[string]int{}, map[int64]bool{}
	for _, f := range before {
		count[str(f["type"])]++
		if seqs[num(f["seq"])] {
			t.Errorf("seq %v replayed twice", f["seq"])
		}
		seqs[num(f["seq"])] = true
	}
	if count["notice"] != 3 || count["report_update"] != 4 {
		t.Errorf("township cadre's resume: %v, want 3 notices and 4 report_updates", count)
	}

	// History: every step with its actor; the reporter reads its own, a
	// cadre of another village and another resident do not.
	code, out := e.call("GET", "/api/v1/reports/"+id(r1)+"/history", resATok, nil)
	if code != 200 {
		t.Fatalf("history: %d %v", code, out)
	}
	var steps []string
	for _, h := range out["history"].([]any) {
		h := h.(map[string]any)
		steps = append(steps, h["actor"].(string)+":"+h["change"].(string)+":"+str(h["from"])+">"+str(h["to"]))
	}
	want := []string{resA.ID + ":created:>new", "system:overdue:false>true", "system:reminder:>1",
		// The township's staff: Alpha's cadre, the township's cadre and
		// commander; the county's: those, the other commander, the admin.
		"system:reminder_sms:>1", "system:level:village>township", "system:reminder:>3",
		"system:level:township>county", "system:reminder:>5"}
	if !slices.Equal(steps, want) {
		t.Errorf("r1's history:\n got %v\nwant %v", steps, want)
	}
	code, raw := e.callRaw("GET", "/api/v1/reports/"+id(r3)+"/history", cadATok, nil)
	if code != 200 || strings.Contains(string(raw), "+86") {
		t.Errorf("r3's history: %d %s", code, raw)
	}
	for _, want := range []string{cadA.ID + `","change":"assignee","to":"` + cadA.ID, cadA.ID + `","change":"status","from":"new","to":"accepted"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("r3's history lacks %s: %s", want, raw)
		}
	}
	for _, c := range []struct {
		tok  string
		want int
	}{{cadBTok, 404}, {resBTok, 404}, {tcadTok, 200}, {comTok, 200}} {
		if code, _ := e.call("GET", "/api/v1/reports/"+id(r1)+"/history", c.tok, nil); code != c.want {
			t.Errorf("r1's history: %d, want %d", code, c.want)
		}
	}

	// Figures (30 days from the start): what the script did.
	e.advance(6 * 24 * time.Hour)
	q := "?from=" + start.Add(-time.Hour).UTC().Format(time.RFC3339) + "&to=" + start.Add(30*24*time.Hour).UTC().Format(time.RFC3339)
	code, out = e.call("GET", "/api/v1/reports/figures"+q, comTok, nil)
	if code != 200 {
		t.Fatalf("figures: %d %v", code, out)
	}
	fig := func(list any, key, val string) map[string]any {
		for _, x := range list.([]any) {
			if m := x.(map[string]any); m[key] == val {
				return m
			}
		}
		t.Fatalf("figures: no %s %s in %v", key, val, list)
		return nil
	}
	check := func(what string, f map[string]any, want map[string]int64) {
		t.Helper()
		for k, v := range want {
			// The test clock is the wall clock moved by e.advance: the
			// seconds the steps themselves take on a loaded machine show
			// in the durations (at most a few).
			if got := num(f[k]); got != v && !(k == "median_resolve_s" && got >= v && got <= v+5) {
				t.Errorf("%s %s = %v, want %d (%v)", what, k, f[k], v, f)
			}
		}
	}
	// Alpha: r1 (open, county), r3 (late, village, 2h), r4 (late,
	// township, 5h), r5 (on time, village, 1m). Beta: r2 (on time, 50m).
	check("Alpha", fig(out["villages"], "village_id", alpha.ID), map[string]int64{"reports": 4, "closed": 3, "on_time": 1,
		"overdue": 3, "solved_in_village": 2, "escalated": 2, "median_resolve_s": 7200})
	check("Beta", fig(out["villages"], "village_id", beta.ID), map[string]int64{"reports": 1, "closed": 1, "on_time": 1,
		"overdue": 0, "solved_in_village": 1, "escalated": 0, "median_resolve_s": 3000})
	check("Gamma", fig(out["villages"], "village_id", gamma.ID), map[string]int64{"reports": 0, "closed": 0})
	check("U", fig(out["townships"], "township", "U"), map[string]int64{"reports": 0})
	if g := fig(out["villages"], "village_id", gamma.ID); g["median_resolve_s"] != nil {
		t.Errorf("Gamma's median with no report: %v", g)
	}
	// T: durations 1m, 50m, 2h, 5h: median (50m + 2h) / 2.
	check("T", fig(out["townships"], "township", "T"), map[string]int64{"reports": 5, "closed": 4, "on_time": 2,
		"overdue": 3, "solved_in_village": 3, "escalated": 2, "median_resolve_s": 5100})
	check("total", out["total"].(map[string]any), map[string]int64{"reports": 5, "closed": 4})

	// The Go function the tallies call: the same per village.
	figs, err := e.h.reports.Figures(ctx, start.Add(-time.Hour), start.Add(30*24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := figs[alpha.ID]; a.Reports != 4 || a.OnTime != 1 || a.SolvedInVillage != 2 || a.MedianResolveS == nil || *a.MedianResolveS < 7200 || *a.MedianResolveS > 7205 {
		t.Errorf("Figures(Alpha) = %+v", a)
	}
	if _, ok := figs[gamma.ID]; ok {
		t.Errorf("Figures has Gamma, which has no report")
	}

	// Figures' scopes.
	figVillages := func(tok, query string, want int) int {
		t.Helper()
		code, out := e.call("GET", "/api/v1/reports/figures"+query, tok, nil)
		if code != want {
			t.Fatalf("figures%s: %d %v, want %d", query, code, out, want)
		}
		if code != 200 {
			return -1
		}
		return len(out["villages"].([]any))
	}
	figVillages(resATok, q, 403)
	if n := figVillages(cadBTok, q, 200); n != 1 {
		t.Errorf("Beta's cadre's figures: %d villages, want 1", n)
	}
	figVillages(cadBTok, q+"&village_id="+alpha.ID, 403)
	if n := figVillages(tcadTok, q+"&township=T", 200); n != 2 {
		t.Errorf("township cadre's figures: %d villages, want 2", n)
	}
	figVillages(tcadTok, q+"&township=U", 403)
	if n := figVillages(comTok, q+"&township=U", 200); n != 2 {
		t.Errorf("commander, township U: %d villages, want 2", n)
	}
	if n := figVillages(tcadTok, q, 200); n != 3 {
		t.Errorf("township cadre's figures, no filter: %d villages, want 3 (its own and its township's)", n)
	}
	figVillages(comTok, "?from=yesterday", 400)
	figVillages(comTok, q+"&village_id=x&township=T", 400)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
