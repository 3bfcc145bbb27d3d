package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// The roster (docs/API.md v1.5): imports, member edits, deactivation,
// approximate positions, "I am at this house now".

// TestImportMembersDryRunReportsBadRows: a dry run of a sheet with bad rows
// reports each (line, field, value, reason), writes nothing, and so does a
// real import of the same sheet.
func TestImportMembersDryRunReportsBadRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v0 := e.villages[0]
	sheet := strings.Join([]string{
		"姓名,手机,村,角色,地址,纬度,经度,备注",
		"张三,13800001111," + v0.Name + ",村民,1组1号,,,ok",
		"李四,12345," + v0.Name + ",,,,,bad phone",
		"王五,13800002222,不存在村,,,,,unknown village",
		"赵六,138 0000 1111," + v0.Name + ",,,,,same phone as line 2",
		",13800003333," + v0.Name + ",,,,,no name",
		"钱七,13800004444," + v0.Name + ",,,29.1,,lat without lng",
		"孙八,13800005555," + v0.ID + ",指挥员,,,,commander by a commander",
	}, "\n")
	_, com := e.member(storage.RoleCommander, -1, outside)
	before, _ := e.store.CountMembers(context.Background(), "")
	for _, q := range []string{"?dry_run=1", ""} {
		code, out := e.upload("/api/v1/import/members"+q, com, ctCSV, []byte(sheet))
		if code != 400 || errCode(out) != "bad_request" {
			t.Fatalf("import%s = %d %v, want 400 bad_request", q, code, out)
		}
		rep := report(t, out)
		if num(rep["rows"]) != 7 || num(rep["errors_total"]) != 6 || num(rep["created"]) != 0 {
			t.Fatalf("report %v", rep)
		}
		want := map[int64]string{3: "phone", 4: "village", 5: "phone", 6: "name", 7: "lng", 8: "role"}
		errs := rep["errors"].([]any)
		for _, x := range errs {
			x := x.(map[string]any)
			if want[num(x["line"])] != x["field"] || x["reason"] == "" {
				t.Errorf("error %v, want field %q on its line", x, want[num(x["line"])])
			}
			delete(want, num(x["line"]))
		}
		if len(want) != 0 {
			t.Errorf("errors not reported: %v (got %v)", want, errs)
		}
		if w := rep["warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "备注") {
			t.Errorf("warnings %v, want the unknown column", w)
		}
	}
	if after, _ := e.store.CountMembers(context.Background(), ""); after != before {
		t.Fatalf("members %d -> %d: a refused import wrote", before, after)
	}
}

// TestImportMembersIdempotent: a real import creates; importing the
// corrected sheet again updates the changed rows and leaves the others,
// without duplicates; CSV and XLSX alike.
func TestImportMembersIdempotent(t *testing.T) {
	t.Parallel()
	for _, format := range []string{ctCSV, ctXLSX} {
		t.Run(format[len(format)-4:], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			v0, v1 := e.villages[0], e.villages[1]
			enc := func(rows [][]string) []byte {
				if format == ctCSV {
					return csvBytes(t, rows)
				}
				return xlsxBytes(t, rows)
			}
			rows := [][]string{
				{"Name", "Phone", "Village", "Role", "Address", "Lat", "Lng", "Lang", "Travel_Mode"},
				{"张三", "13900000001", v0.Name, "网格员", "1组1号", "29.031", "119.171", "zh-CN", "walk"},
				{"李四", "+86 139 0000 0002", v0.Name, "", "1组2号", "", "", "", ""},
				{"王奶奶", "", v1.Name, "村民", "3组12号", "", "", "", ""},
			}
			code, out := e.upload("/api/v1/import/members?dry_run=1", e.admin, format, enc(rows))
			if rep := report(t, out); code != 200 || num(rep["created"]) != 3 || rep["dry_run"] != true {
				t.Fatalf("dry run = %d %v", code, out)
			}
			n0, _ := e.store.CountMembers(ctx, "")
			code, out = e.upload("/api/v1/import/members", e.admin, format, enc(rows))
			if rep := report(t, out); code != 200 || num(rep["created"]) != 3 || num(rep["rows"]) != 3 {
				t.Fatalf("import = %d %v", code, out)
			}
			if n, _ := e.store.CountMembers(ctx, ""); n != n0+3 {
				t.Fatalf("members %d -> %d, want +3", n0, n)
			}
			// Corrected: 李四 moves to v1 (by phone), 王奶奶 gets a phone
			// (matched by village, name and address), 张三 unchanged.
			rows[2][2] = v1.Name
			rows[3][1] = "13900000003"
			code, out = e.upload("/api/v1/import/members", e.admin, format, enc(rows))
			rep := report(t, out)
			if code != 200 || num(rep["created"]) != 0 || num(rep["updated"]) != 2 || num(rep["unchanged"]) != 1 {
				t.Fatalf("re-import = %d %v", code, out)
			}
			code, out = e.upload("/api/v1/import/members", e.admin, format, enc(rows))
			if rep := report(t, out); code != 200 || num(rep["unchanged"]) != 3 {
				t.Fatalf("third import = %d %v", code, out)
			}
			if n, _ := e.store.CountMembers(ctx, ""); n != n0+3 {
				t.Fatalf("members %d -> %d after re-imports: duplicates", n0, n)
			}
			code, out = e.call("GET", "/api/v1/members?q=139000000", e.admin, nil)
			ms, _ := out["members"].([]any)
			if code != 200 || len(ms) != 3 {
				t.Fatalf("list by phone = %d %v", code, out)
			}
			byName := map[string]map[string]any{}
			for _, m := range ms {
				m := m.(map[string]any)
				byName[m["name"].(string)] = m
			}
			z, l, w := byName["张三"], byName["李四"], byName["王奶奶"]
			if z["role"] != "patrol" || z["home_approximate"] != false || z["travel_mode"] != "walk" || z["active"] != true {
				t.Errorf("张三 = %v", z)
			}
			if l["village_id"] != v1.ID || l["phone"] != "+8613900000002" || l["role"] != "resident" || l["home_approximate"] != true {
				t.Errorf("李四 = %v", l)
			}
			if w == nil || w["phone"] != "+8613900000003" || w["village_id"] != v1.ID {
				t.Errorf("王奶奶 = %v", w)
			}
			// A new member has no token: it signs in by invitation.
			toks, err := e.store.ListTokens(ctx, storage.TokenFilter{MemberID: z["id"].(string)})
			if err != nil || len(toks) != 0 {
				t.Errorf("imported member's tokens = %v, %v; want none", toks, err)
			}
		})
	}
}

// TestImportRoles: residents and cadres may not import; a commander may
// not import commanders nor change a commander by phone; an admin may.
func TestImportRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, res := e.member(storage.RoleResident, 0, inside)
	_, cad := e.member(storage.RoleCadre, 0, inside)
	other, com := e.member(storage.RoleCommander, -1, outside)
	sheet := []byte("name,phone,village\n甲,13700000001," + e.villages[0].Name + "\n")
	for _, tok := range []string{res, cad} {
		if code, out := e.upload("/api/v1/import/members", tok, ctCSV, sheet); code != 403 {
			t.Fatalf("import by a resident or cadre = %d %v", code, out)
		}
		if code, out := e.upload("/api/v1/import/villages", tok, ctCSV, []byte("name,lat,lng\nx,29,119\n")); code != 403 {
			t.Fatalf("village import by a resident or cadre = %d %v", code, out)
		}
	}
	cmdSheet := []byte("name,phone,village,role\n乙,13700000002," + e.villages[0].Name + ",指挥员\n")
	if code, out := e.upload("/api/v1/import/members", com, ctCSV, cmdSheet); code != 400 {
		t.Fatalf("commander importing a commander = %d %v", code, out)
	}
	// A row with a commander's phone is a commander's record: not changed.
	takeover := []byte("name,phone,village\n丙," + other.Phone + "," + e.villages[0].Name + "\n")
	code, out := e.upload("/api/v1/import/members", com, ctCSV, takeover)
	if code != 400 || num(report(t, out)["errors_total"]) != 1 {
		t.Fatalf("commander's import over a commander's phone = %d %v", code, out)
	}
	if m, _ := e.store.GetMember(context.Background(), other.ID); m.Name != other.Name || m.Role != storage.RoleCommander {
		t.Fatalf("commander changed by an import: %+v", m)
	}
	if code, out := e.upload("/api/v1/import/members", e.admin, ctCSV, cmdSheet); code != 200 {
		t.Fatalf("admin importing a commander = %d %v", code, out)
	}
	if code, out := e.upload("/api/v1/import/members", com, ctCSV, sheet); code != 200 {
		t.Fatalf("commander importing a resident = %d %v", code, out)
	}
}

// TestImportVillages: by code, else by township and name; idempotent;
// the code shows on the village wire; members import by village code.
func TestImportVillages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rows := villageSheetRows(3)
	code, out := e.upload("/api/v1/import/villages", e.admin, ctCSV, csvBytes(t, rows))
	if rep := report(t, out); code != 200 || num(rep["created"]) != 3 {
		t.Fatalf("import villages = %d %v", code, out)
	}
	rows[2][3] = "28.6" // 村0001's centre moves
	code, out = e.upload("/api/v1/import/villages", e.admin, ctXLSX, xlsxBytes(t, rows))
	if rep := report(t, out); code != 200 || num(rep["updated"]) != 1 || num(rep["unchanged"]) != 2 {
		t.Fatalf("re-import villages = %d %v", code, out)
	}
	bad := csvBytes(t, [][]string{{"村名", "代码", "纬度", "经度"}, {"x", "12", "29", "119"}, {"y", "", "29", ""}})
	if code, out := e.upload("/api/v1/import/villages", e.admin, ctCSV, bad); code != 400 || num(report(t, out)["errors_total"]) != 2 {
		t.Fatalf("bad villages = %d %v", code, out)
	}
	_, out = e.call("GET", "/api/v1/villages", e.admin, nil)
	found := false
	for _, v := range out["villages"].([]any) {
		v := v.(map[string]any)
		if v["code"] == villageCodeOf(1) {
			found = v["center"].(map[string]any)["lat"] == 28.6
		}
	}
	if !found {
		t.Fatalf("village with code %s and its new centre not listed: %v", villageCodeOf(1), out)
	}
	code, out = e.upload("/api/v1/import/members", e.admin, ctCSV,
		[]byte("姓名,村\n老李,"+villageCodeOf(2)+"\n"))
	if code != 200 || num(report(t, out)["created"]) != 1 {
		t.Fatalf("member by village code = %d %v", code, out)
	}
	code, out = e.call("POST", "/api/v1/villages", e.admin, map[string]any{"name": "新村", "code": villageCodeOf(2),
		"center": map[string]any{"lat": 29, "lng": 119}})
	if code != 409 {
		t.Fatalf("village with a taken code = %d %v", code, out)
	}
}

// TestDeactivateMember: a deactivated member is not targeted, its token
// is refused, its WebSocket closed, its due SMS cancelled; reactivated,
// all of it comes back. A phone taken by another member is a conflict.
func TestDeactivateMember(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.PublicURL = "https://hub.example" })
	_, com := e.member(storage.RoleCommander, -1, outside)
	x, xTok := e.member(storage.RoleResident, 0, inside)
	y, yTok := e.member(storage.RoleResident, 0, inside)

	if code, out := e.call("PATCH", "/api/v1/members/"+x.ID, com, map[string]any{"phone": y.Phone}); code != 409 {
		t.Fatalf("phone of another member = %d %v", code, out)
	}
	xc, yc := e.dial(xTok), e.dial(yTok)
	xc.welcome()
	yc.welcome()
	code, out := e.call("POST", "/api/v1/alerts", com, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 60}))
	if code != 201 || num(out["targeted"]) != 2 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)

	code, out = e.call("PATCH", "/api/v1/members/"+x.ID, com, map[string]any{"active": false})
	if code != 200 || out["member"].(map[string]any)["active"] != false {
		t.Fatalf("deactivate = %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/me", xTok, nil); code != 401 {
		t.Fatalf("deactivated member's token = %d, want 401", code)
	}
	closed := false
	for !closed {
		select {
		case _, ok := <-xc.frames:
			closed = !ok
		case <-time.After(10 * time.Second):
			t.Fatal("the deactivated member's WebSocket is still open")
		}
	}
	if err := <-xc.closed; err == nil || !strings.Contains(err.Error(), "member deactivated") {
		t.Errorf("closed with %v, want 1008 member deactivated", err)
	}
	// The fallback SMS falls due: y gets it, x does not.
	e.advance(61 * time.Second)
	waitFor(t, "the active member's SMS", func() bool { return len(snd.to(y.Phone)) == 1 })
	time.Sleep(200 * time.Millisecond)
	if got := snd.to(x.Phone); len(got) != 0 {
		t.Fatalf("deactivated member got %d SMS", len(got))
	}
	rows, err := e.store.ListMessages(context.Background(), storage.AlertRef(alertID))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.MemberID == x.ID && r.State != storage.MessageCancelled {
			t.Fatalf("deactivated member's SMS row is %s", r.State)
		}
	}
	code, out = e.call("POST", "/api/v1/alerts", com, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 || num(out["targeted"]) != 1 {
		t.Fatalf("alert after deactivation: %d %v (want only y targeted)", code, out)
	}
	code, out = e.call("GET", "/api/v1/members?active=false", com, nil)
	if ms := out["members"].([]any); code != 200 || len(ms) != 1 || ms[0].(map[string]any)["id"] != x.ID {
		t.Fatalf("list inactive = %d %v", code, out)
	}

	if code, out := e.call("PATCH", "/api/v1/members/"+x.ID, com, map[string]any{"active": true}); code != 200 {
		t.Fatalf("reactivate = %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/me", xTok, nil); code != 200 {
		t.Fatalf("reactivated member's token = %d, want 200", code)
	}
	code, out = e.call("POST", "/api/v1/alerts", com, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 || num(out["targeted"]) != 2 {
		t.Fatalf("alert after reactivation: %d %v", code, out)
	}
}

// TestPatchMemberRoles: who may change what (docs/API.md v1.5).
func TestPatchMemberRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, pat, cad, cad1, com := e.roleCast()
	other, _ := e.member(storage.RoleCommander, -1, outside)
	cases := []struct {
		who    who
		target string
		body   map[string]any
		want   int
	}{
		{cad, res.m.ID, map[string]any{"name": "新名字", "phone": "138 0013 9999", "lang": "en"}, 200},
		{cad, pat.m.ID, map[string]any{"active": false}, 200},
		{cad, pat.m.ID, map[string]any{"active": true}, 200},
		{cad, res.m.ID, map[string]any{"role": "patrol"}, 403},
		{cad, cad1.m.ID, map[string]any{"name": "x"}, 404}, // another village's: not even seen
		{cad1, res.m.ID, map[string]any{"name": "x"}, 404},
		{cad, cad.m.ID, map[string]any{"name": "x"}, 403}, // a cadre edits residents and patrols
		{res, res.m.ID, map[string]any{"name": "x"}, 403},
		{pat, res.m.ID, map[string]any{"name": "x"}, 404},
		{com, res.m.ID, map[string]any{"role": "patrol", "village_id": e.villages[1].ID}, 200},
		{com, res.m.ID, map[string]any{"role": "commander"}, 403},
		{com, other.ID, map[string]any{"name": "x"}, 403},
		{com, res.m.ID, map[string]any{"phone": "12345"}, 400},
		{com, res.m.ID, map[string]any{"village_id": "v_nope"}, 400},
		{com, com.m.ID, map[string]any{"active": false}, 400},
		{who{"admin", e.admin, storage.Member{}}, other.ID, map[string]any{"role": "cadre", "village_id": e.villages[0].ID}, 200},
	}
	for i, c := range cases {
		code, out := e.call("PATCH", "/api/v1/members/"+c.target, c.who.tok, c.body)
		if code != c.want {
			t.Errorf("case %d: %s PATCH %v = %d %v, want %d", i, c.who.name, c.body, code, out, c.want)
		}
	}
	m, _ := e.store.GetMember(context.Background(), res.m.ID)
	if m.Phone != "+8613800139999" || m.Lang != "en" || m.Role != storage.RolePatrol || m.VillageID != e.villages[1].ID {
		t.Errorf("resident after the changes: %+v", m)
	}
	code, out := e.call("PATCH", "/api/v1/members/"+res.m.ID, com.tok, map[string]any{"phone": ""})
	if code != 200 || out["member"].(map[string]any)["phone"] != nil {
		t.Errorf("remove phone = %d %v", code, out)
	}
}

// TestApproximateMembers: a member without a home is placed at its
// village's centre: an area covering the centre targets it, and the
// preview and the alert count it as approximate; members without a phone
// are counted too; "I am at this house now" places it exactly.
func TestApproximateMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, com := e.member(storage.RoleCommander, -1, outside)
	patrol, patTok := e.member(storage.RolePatrol, 0, inside)
	_, pat1Tok := e.member(storage.RolePatrol, 1, outside)
	v0 := e.villages[0]
	code, out := e.upload("/api/v1/import/members", com, ctCSV,
		[]byte("姓名,手机,村\n无家,13600000001,"+v0.Name+"\n无手机,,"+v0.Name+"\n"))
	if code != 200 {
		t.Fatalf("import = %d %v", code, out)
	}
	// A circle around the village centre, small enough to miss "inside".
	area := circleAlert(v0.Center.Lat, v0.Center.Lng, 50, nil)
	code, out = e.call("POST", "/api/v1/alerts/preview", com, area)
	if code != 200 || num(out["targeted"]) != 2 || num(out["approximate"]) != 2 || num(out["no_phone"]) != 1 {
		t.Fatalf("preview = %d %v, want 2 targeted, 2 approximate, 1 without phone", code, out)
	}
	code, out = e.call("GET", "/api/v1/members?village_id="+v0.ID+"&q=无家", com, nil)
	ms := out["members"].([]any)
	if code != 200 || len(ms) != 1 || ms[0].(map[string]any)["home_approximate"] != true {
		t.Fatalf("list = %d %v", code, out)
	}
	id := ms[0].(map[string]any)["id"].(string)
	here := map[string]any{"lat": inside.Lat, "lng": inside.Lng, "accuracy_m": 8}
	if code, out := e.call("PUT", "/api/v1/members/"+id+"/home", pat1Tok, here); code != 403 {
		t.Fatalf("PUT home by another village's patrol = %d %v", code, out)
	}
	code, out = e.call("PUT", "/api/v1/members/"+id+"/home", patTok, here)
	if m := out["member"].(map[string]any); code != 200 || m["home_approximate"] != false || m["home"] == nil {
		t.Fatalf("PUT home by the village's patrol = %d %v", code, out)
	}
	code, out = e.call("POST", "/api/v1/alerts", com, area)
	if code != 201 || num(out["targeted"]) != 1 || num(out["approximate"]) != 1 || num(out["no_phone"]) != 1 {
		t.Fatalf("alert = %d %v, want the one still at the centre", code, out)
	}
	_ = patrol
}

// TestImportBadBodies: empty, not a sheet, too large, no rows, broken
// XLSX: a clear error, nothing written, never a crash.
func TestImportBadBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i, c := range []struct {
		ct   string
		body []byte
		want int
	}{
		{ctCSV, nil, 400},
		{"application/json", []byte(`{"name":"x"}`), 400},
		{ctCSV, []byte("姓名,村\n"), 400},
		{ctCSV, []byte("电话\n13800000000\n"), 400},
		{ctXLSX, []byte("PK\x03\x04 not really a zip"), 400},
		{ctCSV, []byte("姓名,村\n\"unterminated,x\n"), 200}, // LazyQuotes reads it as a name
	} {
		code, out := e.upload("/api/v1/import/members?dry_run=1", e.admin, c.ct, c.body)
		if code != c.want && !(c.want == 200 && code == 400) {
			t.Errorf("case %d: %d %v, want %d", i, code, out, c.want)
		}
	}
	big := make([]byte, 64<<20+1)
	if code, out := e.upload("/api/v1/import/members", e.admin, ctCSV, big); code != 413 {
		t.Errorf("65 MiB = %d %v", code, out)
	}
}

// rosterCountyRows is the size of TestImportCounty's sheet: 200,000 in a
// normal run; under the race detector the same test with 20,000 (the
// 200,000 run is BenchmarkImportMembers200k, BENCHMARKS.md).
var rosterCountyRows = 200000

// TestImportCounty imports a generated county sheet through HTTP: the
// villages, then every member; checks the counts and a few rows; then
// imports it again (all unchanged).
func TestImportCounty(t *testing.T) {
	if testing.Short() {
		t.Skip("a county-sized import; skipped with -short")
	}
	n := rosterCountyRows
	if raceEnabled {
		n /= 10
	}
	e := newEnv(t)
	ctx := context.Background()
	const villages = 400
	code, out := e.upload("/api/v1/import/villages", e.admin, ctCSV, csvBytes(t, villageSheetRows(villages)))
	if code != 200 || num(report(t, out)["created"]) != villages {
		t.Fatalf("villages = %d %v", code, out)
	}
	sheet := csvBytes(t, memberSheetRows(n, villages, 1))
	n0, _ := e.store.CountMembers(ctx, "")
	start := time.Now()
	code, out = e.upload("/api/v1/import/members", e.admin, ctCSV, sheet)
	t.Logf("import of %d rows: %v", n, time.Since(start))
	if rep := report(t, out); code != 200 || num(rep["created"]) != int64(n) || num(rep["errors_total"]) != 0 {
		t.Fatalf("import = %d %v", code, rep)
	}
	if got, _ := e.store.CountMembers(ctx, ""); got != n0+n {
		t.Fatalf("members %d, want %d", got, n0+n)
	}
	for _, i := range []int{0, 1, n / 2, n - 2} {
		_, out := e.call("GET", "/api/v1/members?q="+rosterPhone(i)[1:], e.admin, nil)
		ms := out["members"].([]any)
		if len(ms) != 1 {
			t.Fatalf("row %d: %d members with phone %s", i, len(ms), rosterPhone(i))
		}
		m := ms[0].(map[string]any)
		if !strings.HasSuffix(m["name"].(string), fmt.Sprint(i)) || m["village_id"] == "" {
			t.Errorf("row %d = %v", i, m)
		}
		if (i%3 == 0) == (m["home"] == nil) || m["home_approximate"] != (m["home"] == nil) {
			t.Errorf("row %d home = %v, approximate %v", i, m["home"], m["home_approximate"])
		}
	}
	if dir := e.h.node.Directory().Len(); dir < n {
		t.Errorf("directory holds %d members, want at least %d", dir, n)
	}
	start = time.Now()
	code, out = e.upload("/api/v1/import/members", e.admin, ctCSV, sheet)
	t.Logf("re-import of %d rows: %v", n, time.Since(start))
	if rep := report(t, out); code != 200 || num(rep["unchanged"]) != int64(n) {
		t.Fatalf("re-import = %d %v", code, rep)
	}
}
