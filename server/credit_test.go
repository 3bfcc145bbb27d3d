package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/service/credit"
	"github.com/longyou/hub/storage"
)

// creditPolicy: two items, red and black boards of one household each
// (ties share a place), the default rules, levels AAA 100, AA 15, A 5, B 0,
// C below.
func creditPolicy(c *Config) {
	p := policy.Default()
	p.Credit.RedSize, p.Credit.BlackSize = 1, 1
	p.Credit.Levels = []policy.CreditLevel{{Name: "AAA", Min: 100}, {Name: "AA", Min: 15}, {Name: "A", Min: 5},
		{Name: "B", Min: 0}, {Name: "C", Min: -1000}}
	c.Policy = &p
}

// TestCreditBoards: inspections turn into the month's ranking and red and
// black boards; publishing tells the village and awards the board places
// once (published twice); the month is then final; scopes.
func TestCreditBoards(t *testing.T) {
	e := newEnv(t, creditPolicy)
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	cad, cadTok := e.member(storage.RoleCadre, 0, home)
	_, cad1Tok := e.member(storage.RoleCadre, 1, home)
	_, comTok := e.member(storage.RoleCommander, -1, home)
	r1, r1Tok := e.member(storage.RoleResident, 0, home)
	r2, _ := e.member(storage.RoleResident, 0, home)
	r3, r3Tok := e.member(storage.RoleResident, 0, home)
	o1, o1Tok := e.member(storage.RoleResident, 1, home)
	v0, v1 := e.villages[0].ID, e.villages[1].ID

	newHome := func(tok, v, name string, ids ...string) string {
		t.Helper()
		code, out := e.call("POST", "/api/v1/households", tok, map[string]any{"village_id": v, "name": name, "member_ids": ids})
		if code != 201 {
			t.Fatalf("create household %s: %d %v", name, code, out)
		}
		return out["household"].(map[string]any)["id"].(string)
	}
	hA := newHome(cadTok, v0, "王家", r1.ID)
	hB := newHome(cadTok, v0, "李家", r2.ID)
	hC := newHome(cadTok, v0, "张家", r3.ID)
	hD := newHome(cadTok, v0, "赵家")
	hE := newHome(comTok, v1, "刘家", o1.ID)

	month := e.now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	next := e.now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 1, 0).Format("2006-01")
	ins := func(h string, yard, garbage int) map[string]any {
		return map[string]any{"household_id": h, "month": month, "scores": map[string]int{"yard_hygiene": yard, "garbage_sorting": garbage}}
	}
	for _, c := range []struct {
		name string
		tok  string
		body any
		want int
	}{
		{"resident", r1Tok, ins(hA, 1, 1), 403},
		{"cadre of another village", cad1Tok, ins(hA, 1, 1), 403},
		{"unknown household", cadTok, ins("h_nobody", 1, 1), 404},
		{"no household", cadTok, map[string]any{"month": month, "scores": map[string]int{}}, 400},
		{"over the max", cadTok, ins(hA, 51, 1), 400},
		{"negative", cadTok, ins(hA, -1, 1), 400},
		{"unknown item", cadTok, map[string]any{"household_id": hA, "month": month,
			"scores": map[string]int{"yard_hygiene": 1, "garbage_sorting": 1, "noise": 1}}, 400},
		{"missing item", cadTok, map[string]any{"household_id": hA, "month": month, "scores": map[string]int{"yard_hygiene": 1}}, 400},
		{"bad month", cadTok, map[string]any{"household_id": hA, "month": "2026-13", "scores": map[string]int{"yard_hygiene": 1, "garbage_sorting": 1}}, 400},
		{"future month", cadTok, map[string]any{"household_id": hA, "month": next, "scores": map[string]int{"yard_hygiene": 1, "garbage_sorting": 1}}, 400},
		{"scores not numbers", cadTok, `{"household_id":"` + hA + `","month":"` + month + `","scores":{"yard_hygiene":"x"}}`, 400},
	} {
		if code, out := e.call("POST", "/api/v1/inspections", c.tok, c.body); code != c.want {
			t.Errorf("inspection, %s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	for _, c := range []struct {
		h       string
		tok     string
		y, g    int
		wantSum int
	}{{hA, cadTok, 45, 45, 90}, {hB, cadTok, 30, 20, 50}, {hC, cadTok, 10, 5, 15}, {hD, cadTok, 40, 50, 90},
		{hB, comTok, 30, 30, 60}, {hE, comTok, 1, 1, 2}} {
		code, out := e.call("POST", "/api/v1/inspections", c.tok, ins(c.h, c.y, c.g))
		if code != 200 || num(out["inspection"].(map[string]any)["total"]) != int64(c.wantSum) {
			t.Fatalf("inspection of %s: %d %v", c.h, code, out)
		}
	}

	// Before publishing: staff see the board, the village's members do not.
	if code, out := e.call("GET", "/api/v1/boards?month="+month, r1Tok, nil); code != 404 {
		t.Errorf("resident reads an unpublished board: %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/boards", r1Tok, nil); code != 404 {
		t.Errorf("resident reads the latest board before any: %d", code)
	}
	code, out := e.call("GET", "/api/v1/boards?month="+month, cadTok, nil)
	if code != 200 {
		t.Fatalf("cadre reads the board: %d %v", code, out)
	}
	b := out["board"].(map[string]any)
	type line struct {
		id    string
		place int64
		board string
	}
	lines := func(ps any) []line {
		var out []line
		for _, p := range ps.([]any) {
			m := p.(map[string]any)
			out = append(out, line{m["household_id"].(string), num(m["place"]), m["board"].(string)})
		}
		return out
	}
	// 王家 and 赵家 tie at 90 (by name: 王 before 赵), 李家 60 (replaced), 张家 15.
	wantRanking := []line{{hA, 1, "red"}, {hD, 1, "red"}, {hB, 3, ""}, {hC, 4, "black"}}
	if got := lines(b["ranking"]); !slices.Equal(got, wantRanking) || b["published"] != false || num(b["households"]) != 4 {
		t.Errorf("board: %v, want ranking %v, unpublished, 4 households", b, wantRanking)
	}
	if got := lines(b["red"]); len(got) != 2 || got[0].id != hA || got[1].id != hD {
		t.Errorf("red board: %v", got)
	}
	if got := lines(b["black"]); len(got) != 1 || got[0].id != hC {
		t.Errorf("black board: %v", got)
	}
	if code, _ := e.call("GET", "/api/v1/boards?village_id="+v0+"&month="+month, o1Tok, nil); code != 403 {
		t.Errorf("a resident of another village reads the board: %d, want 403", code)
	}
	if code, _ := e.call("POST", "/api/v1/boards/publish", r1Tok, map[string]any{"village_id": v0, "month": month}); code != 403 {
		t.Errorf("a resident publishes: %d, want 403", code)
	}
	if code, _ := e.call("POST", "/api/v1/boards/publish", cad1Tok, map[string]any{"village_id": v0, "month": month}); code != 403 {
		t.Errorf("a cadre of another village publishes: %d, want 403", code)
	}

	// Publishing: the village hears it (not the other village), the board
	// places earn their points.
	w1, w3, wo := e.dial(r1Tok), e.dial(r3Tok), e.dial(o1Tok)
	w1.welcome()
	w3.welcome()
	wo.welcome()
	code, out = e.call("POST", "/api/v1/boards/publish", cadTok, map[string]any{"village_id": v0, "month": month})
	if code != 200 || num(out["awarded"]) != 3 || out["board"].(map[string]any)["published"] != true {
		t.Fatalf("publish: %d %v", code, out)
	}
	for _, w := range []*wsClient{w1, w3} {
		f, _ := w.nextOf("household_board")
		bd := f["household_board"].(map[string]any)
		red := bd["red"].([]any)
		if bd["month"] != month || bd["village_id"] != v0 || len(red) != 2 || red[0].(map[string]any)["name"] != "王家" ||
			len(bd["black"].([]any)) != 1 || num(f["seq"]) == 0 {
			t.Errorf("board event: %v", f)
		}
		if _, leak := red[0].(map[string]any)["phone"]; leak {
			t.Errorf("board event carries a phone: %v", red[0])
		}
	}
	wo.quiet(300*time.Millisecond, "household_board")
	// Published twice: a conflict, no new points.
	if code, _ := e.call("POST", "/api/v1/boards/publish", comTok, map[string]any{"village_id": v0, "month": month}); code != 409 {
		t.Errorf("published twice: %d, want 409", code)
	}
	w1.quiet(300*time.Millisecond, "household_board")
	// The month is final.
	if code, _ := e.call("POST", "/api/v1/inspections", cadTok, ins(hB, 50, 50)); code != 409 {
		t.Errorf("an inspection of a published month: %d, want 409", code)
	}
	wantBalance := map[string]int64{hA: 10, hB: 0, hC: -10, hD: 10}
	for h, want := range wantBalance {
		code, out := e.call("GET", "/api/v1/households/"+h+"/credit", cadTok, nil)
		if code != 200 || num(out["balance"]) != want {
			t.Errorf("%s after publishing: %d %v, want balance %d", h, code, out, want)
		}
		if n := len(out["entries"].([]any)); want != 0 && n != 1 {
			t.Errorf("%s has %d entries, want 1", h, n)
		}
	}
	if code, out = e.call("GET", "/api/v1/households/"+hC+"/credit", cadTok, nil); code != 200 {
		t.Fatalf("black board household's credit: %d %v", code, out)
	}
	ent := out["entries"].([]any)[0].(map[string]any)
	if ent["rule"] != policy.RuleBlackBoard || ent["recorded_by"] != cad.ID || !strings.Contains(ent["reason"].(string), "黑榜") ||
		out["level"] != "C" {
		t.Errorf("black board entry: %v (level %v)", ent, out["level"])
	}
	// The village's members read the published board, also as the latest.
	code, out = e.call("GET", "/api/v1/boards", r1Tok, nil)
	if code != 200 || out["board"].(map[string]any)["month"] != month || out["board"].(map[string]any)["published"] != true {
		t.Errorf("resident reads the latest board: %d %v", code, out)
	}
	// A reconnecting member replays the board event once.
	w := e.dial(r3Tok)
	w.welcome()
	r, before := w.cmd(map[string]any{"type": "resume", "since": 0})
	n := 0
	for _, f := range before {
		if f["type"] == "household_board" {
			n++
		}
	}
	if r["ok"] != true || n != 1 {
		t.Errorf("resume: %v, %d board events, want 1", r, n)
	}
	// The member page's read: its household's credit and the latest board;
	// null, not an error, for what it lacks.
	code, out = e.call("GET", "/api/v1/credit/mine", r1Tok, nil)
	if code != 200 || out["account"].(map[string]any)["household_id"] != hA || num(out["account"].(map[string]any)["balance"]) != 10 ||
		out["board"].(map[string]any)["month"] != month {
		t.Errorf("r1's credit/mine: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/credit/mine", o1Tok, nil)
	if code != 200 || out["account"].(map[string]any)["household_id"] != hE || out["board"] != nil {
		t.Errorf("o1's credit/mine (no board in its village): %d %v", code, out)
	}
	if code, out := e.call("GET", "/api/v1/credit/mine", comTok, nil); code != 200 || out["account"] != nil || out["board"] != nil {
		t.Errorf("commander's credit/mine: %d %v", code, out)
	}
	// Publishing a month with no inspection is refused.
	if code, _ := e.call("POST", "/api/v1/boards/publish", comTok, map[string]any{"village_id": v1, "month": "2020-01"}); code != 400 {
		t.Errorf("publishing an empty month: %d, want 400", code)
	}
}

// TestCreditPoints: manual and rule entries, Award's key, balance and
// level, the household's own view and nobody else's, and the CSV export
// row by row.
func TestCreditPoints(t *testing.T) {
	e := newEnv(t, creditPolicy)
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	cad, cadTok := e.member(storage.RoleCadre, 0, home)
	_, cad1Tok := e.member(storage.RoleCadre, 1, home)
	_, patTok := e.member(storage.RolePatrol, 0, home)
	_, comTok := e.member(storage.RoleCommander, -1, home)
	r1, r1Tok := e.member(storage.RoleResident, 0, home)
	r2, r2Tok := e.member(storage.RoleResident, 0, home)
	_, loneTok := e.member(storage.RoleResident, 0, home)
	v0, v1 := e.villages[0].ID, e.villages[1].ID
	newHome := func(v, name string, ids ...string) string {
		t.Helper()
		code, out := e.call("POST", "/api/v1/households", comTok, map[string]any{"village_id": v, "name": name, "member_ids": ids})
		if code != 201 {
			t.Fatalf("create household: %d %v", code, out)
		}
		return out["household"].(map[string]any)["id"].(string)
	}
	hA := newHome(v0, "王家", r1.ID)
	hB := newHome(v0, "=李家", r2.ID) // a name Excel would run as a formula
	hE := newHome(v1, "刘家")

	add := func(tok string, body map[string]any) (int, map[string]any) {
		t.Helper()
		return e.call("POST", "/api/v1/credit", tok, body)
	}
	for _, c := range []struct {
		name string
		tok  string
		body map[string]any
		want int
	}{
		{"resident", r1Tok, map[string]any{"household_id": hA, "points": 5, "reason": "x"}, 403},
		{"patrol", patTok, map[string]any{"household_id": hA, "points": 5, "reason": "x"}, 403},
		{"cadre of another village", cad1Tok, map[string]any{"household_id": hA, "points": 5, "reason": "x"}, 403},
		{"both", cadTok, map[string]any{"household_id": hA, "points": 5, "rule": "good_deed", "reason": "x"}, 400},
		{"neither", cadTok, map[string]any{"household_id": hA, "reason": "x"}, 400},
		{"zero", cadTok, map[string]any{"household_id": hA, "points": 0, "reason": "x"}, 400},
		{"too many", cadTok, map[string]any{"household_id": hA, "points": 1001, "reason": "x"}, 400},
		{"no reason", cadTok, map[string]any{"household_id": hA, "points": 5}, 400},
		{"unknown rule", cadTok, map[string]any{"household_id": hA, "rule": "nope"}, 400},
		{"unknown household", cadTok, map[string]any{"household_id": "h_nobody", "points": 5, "reason": "x"}, 404},
		{"points not a number", cadTok, map[string]any{"household_id": hA, "points": "5", "reason": "x"}, 400},
	} {
		if code, out := add(c.tok, c.body); code != c.want {
			t.Errorf("credit, %s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	// A township cadre keeps every village of its township (both are in T).
	twn, twnTok := e.member(storage.RoleCadre, 0, home)
	if code, out := e.call("PUT", "/api/v1/members/"+twn.ID+"/township", comTok, map[string]any{"township": "T"}); code != 200 {
		t.Fatalf("township: %d %v", code, out)
	}
	if code, out := add(twnTok, map[string]any{"household_id": hE, "rule": policy.RuleVillageKept}); code != 201 || num(out["balance"]) != 5 {
		t.Errorf("township cadre gives points in another village of its township: %d %v", code, out)
	}
	if code, _ := e.callRaw("GET", "/api/v1/credit/export.csv?village_id="+v1, twnTok, nil); code != 200 {
		t.Errorf("township cadre exports another village of its township: %d", code)
	}
	code, out := add(cadTok, map[string]any{"household_id": hA, "points": 7, "reason": "帮助邻居修路"})
	if code != 201 || num(out["balance"]) != 7 || out["level"] != "A" {
		t.Fatalf("manual points: %d %v", code, out)
	}
	code, out = add(comTok, map[string]any{"household_id": hA, "rule": policy.RuleGoodDeed})
	if code != 201 || num(out["balance"]) != 17 || out["level"] != "AA" || out["entry"].(map[string]any)["reason"] != "好人好事" {
		t.Fatalf("rule points: %d %v", code, out)
	}
	// A correction is a new entry.
	if code, out := add(cadTok, map[string]any{"household_id": hA, "points": -2, "reason": "更正：多记2分"}); code != 201 || num(out["balance"]) != 15 {
		t.Fatalf("correction: %d %v", code, out)
	}
	// Award (for other parts): once per key.
	for range 2 {
		if _, _, err := e.h.credit.Award(context.Background(), hB, policy.RuleReportHelped, "", cad.ID, "report:r_1"); err != nil {
			t.Fatalf("award: %v", err)
		}
	}
	if _, _, err := e.h.credit.Award(context.Background(), hB, "nope", "", cad.ID, ""); err == nil {
		t.Errorf("award of an unknown rule: no error")
	}
	// AwardMember: the member's household, by the same key: nothing more.
	if _, added, err := e.h.credit.AwardMember(context.Background(), r2.ID, policy.RuleReportHelped, "", cad.ID, "report:r_1"); err != nil || added {
		t.Errorf("award r2's household again by key: added %v, %v", added, err)
	}
	lone, _ := e.member(storage.RoleResident, 0, home)
	if _, _, err := e.h.credit.AwardMember(context.Background(), lone.ID, policy.RuleGoodDeed, "", cad.ID, ""); !errors.Is(err, credit.ErrNoHousehold) {
		t.Errorf("award a member without a household: %v, want ErrNoHousehold", err)
	}

	// Reading: the household's own members, staff in scope; nobody else.
	code, out = e.call("GET", "/api/v1/households/mine/credit", r1Tok, nil)
	if code != 200 || out["household_id"] != hA || num(out["balance"]) != 15 || out["level"] != "AA" || out["name"] != "王家" {
		t.Fatalf("r1 reads its credit: %d %v", code, out)
	}
	es := out["entries"].([]any)
	if len(es) != 3 {
		t.Fatalf("r1's entries: %v", es)
	}
	first, second := es[0].(map[string]any), es[1].(map[string]any)
	if num(first["points"]) != 7 || first["reason"] != "帮助邻居修路" || first["rule"] != "" || first["recorded_by"] != cad.ID ||
		second["rule"] != policy.RuleGoodDeed || num(second["points"]) != 10 || first["at"] == nil {
		t.Errorf("entries: %v", es)
	}
	for _, c := range []struct {
		name string
		tok  string
		h    string
		want int
	}{
		{"member", r2Tok, hB, 200},
		{"resident of the village, another household", r1Tok, hB, 404},
		{"resident without a household", loneTok, hA, 404},
		{"patrol", patTok, hA, 404},
		{"cadre", cadTok, hB, 200},
		{"cadre of another village", cad1Tok, hA, 403},
		{"commander", comTok, hE, 200},
		{"township cadre", twnTok, hE, 200},
		{"missing", r1Tok, "h_nobody", 404},
	} {
		if code, out := e.call("GET", "/api/v1/households/"+c.h+"/credit", c.tok, nil); code != c.want {
			t.Errorf("credit read, %s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	if code, _ := e.call("GET", "/api/v1/households/mine/credit", loneTok, nil); code != 404 {
		t.Errorf("mine without a household: %d, want 404", code)
	}
	if code, out := e.call("GET", "/api/v1/households/"+hB+"/credit", r2Tok, nil); code != 200 || num(out["balance"]) != 5 || len(out["entries"].([]any)) != 1 {
		t.Errorf("Award twice with one key: %d %v, want one entry of 5", code, out)
	}

	// The export: UTF-8 with BOM, Chinese headers, one row per household.
	for _, c := range []struct {
		name, tok, q string
		want         int
	}{
		{"resident", r1Tok, "?village_id=" + v0, 403},
		{"resident, no village", r1Tok, "", 403},
		{"patrol", patTok, "", 403},
		{"cadre of another village", cad1Tok, "?village_id=" + v0, 403},
		{"unknown village", comTok, "?village_id=v_nope", 404},
	} {
		if code, _ := e.callRaw("GET", "/api/v1/credit/export.csv"+c.q, c.tok, nil); code != c.want {
			t.Errorf("export, %s: %d, want %d", c.name, code, c.want)
		}
	}
	rows := func(tok, q string) [][]string {
		t.Helper()
		code, raw := e.callRaw("GET", "/api/v1/credit/export.csv"+q, tok, nil)
		if code != 200 {
			t.Fatalf("export%s: %d %s", q, code, raw)
		}
		if !bytes.HasPrefix(raw, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("export has no BOM: %q", raw[:min(len(raw), 20)])
		}
		recs, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
		if err != nil {
			t.Fatalf("export is not CSV: %v", err)
		}
		return recs
	}
	vName := e.villages[0].Name
	want := [][]string{{"户编号", "村编号", "村名", "户名", "积分余额", "信用等级", "积分记录数"}}
	for _, h := range slices.Sorted(slices.Values([]string{hA, hB})) {
		switch h {
		case hA:
			want = append(want, []string{hA, v0, vName, "王家", "15", "AA", "3"})
		case hB:
			want = append(want, []string{hB, v0, vName, "'=李家", "5", "A", "1"})
		}
	}
	for _, q := range []string{"", "?village_id=" + v0} {
		got := rows(cadTok, q)
		if len(got) != len(want) {
			t.Fatalf("export%s: %d rows %v, want %d", q, len(got), got, len(want))
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("export%s row %d: %q, want %q", q, i, got[i], want[i])
			}
		}
	}
	all := rows(comTok, "")
	if len(all) != 4 || !slices.ContainsFunc(all, func(r []string) bool {
		return slices.Equal(r, []string{hE, v1, e.villages[1].Name, "刘家", "5", "A", "1"})
	}) {
		t.Errorf("county export: %q", all)
	}
	code, raw := e.callRaw("GET", "/api/v1/credit/rules", r1Tok, nil)
	if code != 200 || !bytes.Contains(raw, []byte(`"yard_hygiene"`)) || !bytes.Contains(raw, []byte(fmt.Sprintf(`"month":"%s"`,
		e.now().In(time.FixedZone("CST", 8*3600)).Format("2006-01")))) {
		t.Errorf("credit rules: %d %s", code, raw)
	}
}
