package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// boardFrame is the item of a board frame: its type and its object.
func boardItem(t *testing.T, f map[string]any) (string, map[string]any) {
	t.Helper()
	b, ok := f["board"].(map[string]any)
	if !ok {
		t.Fatalf("board frame without a board: %v", f)
	}
	it := b["item"].(map[string]any)
	typ := it["type"].(string)
	return typ, it[typ].(map[string]any)
}

// TestBoard: public reports and confirmed good deeds are on the village's
// board (never a private report or a pending deed), with the reporter's
// name masked and no position; members of the village like and urge once
// each (a repeat changes nothing), others are refused; the answer,
// status and rectification photos show; the rate follows; board events
// reach the village's members only, live and once on resume.
func TestBoard(t *testing.T) {
	var confirmed struct {
		sync.Mutex
		ids []string
	}
	e := newEnv(t, func(c *Config) {
		c.OnDeedConfirmed = func(_ context.Context, d storage.Deed) {
			confirmed.Lock()
			confirmed.ids = append(confirmed.ids, d.ID)
			confirmed.Unlock()
		}
	})
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	rep, repTok := e.member(storage.RoleResident, 0, home)
	nbm, nbTok := e.member(storage.RoleResident, 0, home)
	_, farTok := e.member(storage.RoleResident, 1, storage.LatLng{Lat: 29.13, Lng: 119.17})
	_, cadTok := e.member(storage.RoleCadre, 0, home)
	_, cad1Tok := e.member(storage.RoleCadre, 1, storage.LatLng{Lat: 29.13, Lng: 119.17})
	v0 := e.villages[0].ID

	nb := e.dial(nbTok)
	nb.welcome()
	far := e.dial(farTok)
	far.welcome()

	create := func(tok string, body map[string]any) map[string]any {
		t.Helper()
		body["kind"], body["lat"], body["lng"] = "sanitation", 29.031, 119.171
		code, out := e.call("POST", "/api/v1/reports", tok, body)
		if code != 201 {
			t.Fatalf("report: %d %v", code, out)
		}
		return out["report"].(map[string]any)
	}
	if code, out := e.call("POST", "/api/v1/reports", repTok, map[string]any{"kind": "sanitation", "text": "x",
		"lat": 29.03, "lng": 119.17, "visibility": "everyone"}); code != 400 {
		t.Errorf("visibility everyone: %d %v, want 400", code, out)
	}
	priv := create(repTok, map[string]any{"text": "私下反映"})
	if priv["visibility"] != "private" {
		t.Errorf("default visibility %v", priv["visibility"])
	}
	code, up := e.callMedia(repTok, "image/png", pngBytes)
	if code != 201 {
		t.Fatalf("upload: %d %v", code, up)
	}
	before := up["media"].(map[string]any)["id"].(string)
	pub := create(repTok, map[string]any{"text": "垃圾堆在路口", "visibility": "public", "photos": []string{before}})
	pubID := pub["id"].(string)
	if pub["visibility"] != "public" || num(pub["likes"]) != 0 {
		t.Errorf("public report %v", pub)
	}
	// The neighbour's first board frame is the public report's: the
	// private one made none.
	f, _ := nb.nextOf("board")
	if typ, obj := boardItem(t, f); typ != "report" || obj["id"] != pubID || obj["reporter"] == rep.Name ||
		obj["member_id"] != nil || obj["lat"] != nil {
		t.Errorf("board frame %v", f)
	}

	// The board: the public report only, reporter masked, no position.
	code, board := e.call("GET", "/api/v1/board", nbTok, nil)
	if code != 200 {
		t.Fatalf("board: %d %v", code, board)
	}
	items := board["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("board items %v", items)
	}
	item := items[0].(map[string]any)["report"].(map[string]any)
	if item["id"] != pubID || item["liked"] != false || item["urged"] != false {
		t.Errorf("board report %v", item)
	}
	if r := item["reporter"].(string); r != string([]rune(rep.Name)[0])+"**" {
		t.Errorf("reporter %q for %q: want the masked name", r, rep.Name)
	}
	for _, k := range []string{"member_id", "lat", "lng", "phone"} {
		if _, ok := item[k]; ok {
			t.Errorf("board report shows %s: %v", k, item)
		}
	}
	if rate := board["rate"].(map[string]any); num(rate["public"]) != 1 || num(rate["counted"]) != 1 || rate["rate"] != 0.0 {
		t.Errorf("rate %v", rate)
	}

	// Refusals, which change nothing.
	for _, c := range []struct {
		name, method, path, tok string
		want                    int
	}{
		{"another village's board", "GET", "/api/v1/board?village_id=" + v0, farTok, 403},
		{"another village's cadre reads it", "GET", "/api/v1/board?village_id=" + v0, cad1Tok, 403},
		{"another village likes", "POST", "/api/v1/reports/" + pubID + "/like", farTok, 403},
		{"another village urges", "POST", "/api/v1/reports/" + pubID + "/urge", farTok, 403},
		{"a neighbour likes a private report", "POST", "/api/v1/reports/" + priv["id"].(string) + "/like", nbTok, 404},
		{"the reporter likes its private report", "POST", "/api/v1/reports/" + priv["id"].(string) + "/like", repTok, 409},
		{"no such report", "POST", "/api/v1/reports/r_nope/like", nbTok, 404},
		{"bad cursor", "GET", "/api/v1/board?before=xyz", nbTok, 400},
	} {
		if code, out := e.call(c.method, c.path, c.tok, nil); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}

	// Likes and urges, once per member.
	react := func(tok, what string) map[string]any {
		t.Helper()
		code, out := e.call("POST", "/api/v1/reports/"+pubID+"/"+what, tok, nil)
		if code != 200 {
			t.Fatalf("%s: %d %v", what, code, out)
		}
		return out
	}
	if out := react(nbTok, "like"); num(out["likes"]) != 1 || out["liked"] != true || out["urged"] != false {
		t.Errorf("like: %v", out)
	}
	if out := react(nbTok, "like"); num(out["likes"]) != 1 || out["liked"] != true {
		t.Errorf("like again: %v", out)
	}
	if out := react(nbTok, "urge"); num(out["likes"]) != 1 || num(out["urges"]) != 1 || out["urged"] != true {
		t.Errorf("urge: %v", out)
	}
	if out := react(repTok, "like"); num(out["likes"]) != 2 || out["urged"] != false {
		t.Errorf("the reporter's like: %v", out)
	}
	if out := react(cadTok, "urge"); num(out["urges"]) != 2 {
		t.Errorf("the cadre's urge: %v", out)
	}
	wantCounts := [][2]int64{{1, 0}, {1, 1}, {2, 1}, {2, 2}}
	for i, w := range wantCounts {
		f, _ := nb.nextOf("board")
		_, obj := boardItem(t, f)
		if num(obj["likes"]) != w[0] || num(obj["urges"]) != w[1] {
			t.Errorf("board frame %d: likes %v urges %v, want %v", i, obj["likes"], obj["urges"], w)
		}
	}
	code, got := e.call("GET", "/api/v1/reports/"+pubID, repTok, nil)
	if g := got["report"].(map[string]any); code != 200 || num(g["likes"]) != 2 || num(g["urges"]) != 2 || g["liked"] != true || g["urged"] != false {
		t.Errorf("the report with its counts: %d %v", code, got)
	}

	// The answer, the status and the rectification photos.
	if code, out := e.call("PATCH", "/api/v1/reports/"+pubID, cadTok, map[string]any{"status": "resolved", "feedback": "已清运"}); code != 200 {
		t.Fatalf("resolve: %d %v", code, out)
	}
	f, _ = nb.nextOf("board")
	if _, obj := boardItem(t, f); obj["status"] != "resolved" || obj["feedback"] != "已清运" {
		t.Errorf("board frame of the answer %v", f)
	}
	code, up = e.callMedia(cadTok, "image/png", pngBytes)
	if code != 201 {
		t.Fatalf("upload: %d", code)
	}
	after := up["media"].(map[string]any)["id"].(string)
	if code, out := e.call("PUT", "/api/v1/reports/"+pubID+"/rectification", repTok, map[string]any{"photos": []string{before}}); code != 403 {
		t.Errorf("the reporter sets rectification photos: %d %v", code, out)
	}
	if code, out := e.call("PUT", "/api/v1/reports/"+pubID+"/rectification", cadTok, map[string]any{"photos": []string{before}}); code != 400 {
		t.Errorf("rectification with another's upload: %d %v", code, out)
	}
	code, out := e.call("PUT", "/api/v1/reports/"+pubID+"/rectification", cadTok, map[string]any{"photos": []string{after}})
	if code != 200 || fmt.Sprint(out["report"].(map[string]any)["rectification_photos"]) != "["+after+"]" {
		t.Fatalf("rectification: %d %v", code, out)
	}
	f, _ = nb.nextOf("board")
	if _, obj := boardItem(t, f); fmt.Sprint(obj["rectification_photos"]) != "["+after+"]" {
		t.Errorf("board frame of the rectification %v", f)
	}
	for _, c := range []struct {
		tok, id string
		want    int
	}{{nbTok, after, 200}, {nbTok, before, 200}, {farTok, after, 404}, {farTok, before, 404}} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/media/"+c.id, nil)
		req.Header.Set("Authorization", "Bearer "+c.tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("media %s: %d, want %d", c.id, resp.StatusCode, c.want)
		}
	}

	// Good deeds: recorded, confirmed by the village's cadre, then on the
	// board and liked.
	code, out = e.call("POST", "/api/v1/deeds", nbTok, map[string]any{"title": "帮邻居收稻谷", "text": "下雨前", "about": "李奶奶"})
	if code != 201 {
		t.Fatalf("deed: %d %v", code, out)
	}
	deed := out["deed"].(map[string]any)
	deedID := deed["id"].(string)
	if deed["status"] != "pending" {
		t.Errorf("new deed %v", deed)
	}
	if code, out := e.call("POST", "/api/v1/deeds", farTok, map[string]any{"village_id": v0, "title": "x"}); code != 403 {
		t.Errorf("a deed in another village: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/deeds", nbTok, map[string]any{"title": ""}); code != 400 {
		t.Errorf("a deed without a title: %d %v", code, out)
	}
	if code, _ := e.call("POST", "/api/v1/deeds/"+deedID+"/like", nbTok, nil); code != 409 {
		t.Errorf("like a pending deed: %d, want 409", code)
	}
	if code, _ := e.call("POST", "/api/v1/deeds/"+deedID+"/confirm", nbTok, nil); code != 403 {
		t.Errorf("a resident confirms: %d, want 403", code)
	}
	if code, _ := e.call("POST", "/api/v1/deeds/"+deedID+"/confirm", cad1Tok, nil); code != 404 {
		t.Errorf("another village's cadre confirms: %d, want 404", code)
	}
	code, out = e.call("GET", "/api/v1/deeds?status=pending", cadTok, nil)
	if code != 200 || len(out["deeds"].([]any)) != 1 {
		t.Errorf("the cadre's pending deeds: %d %v", code, out)
	}
	code, board = e.call("GET", "/api/v1/board", nbTok, nil)
	if code != 200 || len(board["items"].([]any)) != 1 {
		t.Errorf("a pending deed on the board: %v", board)
	}
	if code, out := e.call("POST", "/api/v1/deeds/"+deedID+"/confirm", cadTok, nil); code != 200 || out["deed"].(map[string]any)["status"] != "confirmed" {
		t.Fatalf("confirm: %d %v", code, out)
	}
	if code, _ := e.call("POST", "/api/v1/deeds/"+deedID+"/confirm", cadTok, nil); code != 409 {
		t.Errorf("confirm twice: %d, want 409", code)
	}
	confirmed.Lock()
	if fmt.Sprint(confirmed.ids) != "["+deedID+"]" {
		t.Errorf("OnDeedConfirmed calls %v", confirmed.ids)
	}
	confirmed.Unlock()
	f, _ = nb.nextOf("board")
	if typ, obj := boardItem(t, f); typ != "deed" || obj["id"] != deedID || obj["author_id"] != nil {
		t.Errorf("deed frame %v", f)
	}
	if code, out := e.call("POST", "/api/v1/deeds/"+deedID+"/like", repTok, nil); code != 200 || num(out["likes"]) != 1 || out["liked"] != true {
		t.Errorf("like the deed: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/deeds/"+deedID+"/like", repTok, nil); code != 200 || num(out["likes"]) != 1 {
		t.Errorf("like the deed again: %d %v", code, out)
	}
	if code, _ := e.call("POST", "/api/v1/deeds/"+deedID+"/like", farTok, nil); code != 404 {
		t.Errorf("another village likes the deed: %d, want 404", code)
	}
	nb.nextOf("board") // the deed's like

	code, board = e.call("GET", "/api/v1/board?limit=1", nbTok, nil)
	items = board["items"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["type"] != "deed" || board["next_before"] == "" {
		t.Fatalf("board page 1: %d %v", code, board)
	}
	code, board = e.call("GET", "/api/v1/board?limit=1&before="+board["next_before"].(string), nbTok, nil)
	items = board["items"].([]any)
	if code != 200 || len(items) != 1 || items[0].(map[string]any)["report"].(map[string]any)["id"] != pubID || board["next_before"] != "" {
		t.Fatalf("board page 2: %d %v", code, board)
	}
	if rate := board["rate"].(map[string]any); num(rate["resolved"]) != 1 || rate["rate"] != 1.0 {
		t.Errorf("rate after the resolution %v", rate)
	}

	// The WebSocket report command takes the visibility too.
	repc := e.dial(repTok)
	repc.welcome()
	reply, _ := repc.cmd(map[string]any{"type": "report", "kind": "sanitation", "text": "河边垃圾", "lat": 29.03, "lng": 119.17, "visibility": "public"})
	if reply["ok"] != true || reply["data"].(map[string]any)["report"].(map[string]any)["visibility"] != "public" {
		t.Fatalf("ws report: %v", reply)
	}
	f, _ = nb.nextOf("board")
	if _, obj := boardItem(t, f); obj["text"] != "河边垃圾" {
		t.Errorf("board frame of the ws report %v", f)
	}

	// Nothing of it reached the other village.
	far.quiet(200*time.Millisecond, "board")

	// Resume: every board event once, in order, to the village only.
	resume := func(tok string) []int64 {
		c := e.dial(tok)
		c.welcome()
		reply, before := c.cmd(map[string]any{"type": "resume", "since": 0})
		if reply["ok"] != true {
			t.Fatalf("resume: %v", reply)
		}
		var seqs []int64
		for _, f := range before {
			if f["type"] == "board" {
				seqs = append(seqs, num(f["seq"]))
			}
		}
		if reply, again := c.cmd(map[string]any{"type": "resume", "since": 0}); reply["ok"] != true || len(again) != 0 {
			t.Errorf("a second resume sent %v", again)
		}
		return seqs
	}
	// 1 public report, 4 reactions, the answer, the rectification, the
	// deed, its like, the ws report.
	if seqs := resume(nbTok); len(seqs) != 10 || fmt.Sprint(seqs) != fmt.Sprint(sorted(seqs)) {
		t.Errorf("resumed board events %v, want 10 in order", seqs)
	} else {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] == seqs[i-1] {
				t.Errorf("seq %d twice", seqs[i])
			}
		}
	}
	if seqs := resume(farTok); len(seqs) != 0 {
		t.Errorf("another village resumed board events %v", seqs)
	}

	// The author's export lists its deed; its erasure empties it on the
	// board (the like stays counted).
	code, exp := e.call("GET", "/api/v1/members/"+nbm.ID+"/export", e.admin, nil)
	if ds, _ := exp["export"].(map[string]any)["deeds"].([]any); code != 200 || len(ds) != 1 || ds[0].(map[string]any)["id"] != deedID {
		t.Errorf("export: %d %v", code, exp)
	}
	if code, out := e.call("DELETE", "/api/v1/members/"+nbm.ID, e.admin, nil); code != 200 {
		t.Fatalf("erase: %d %v", code, out)
	}
	code, board = e.call("GET", "/api/v1/board", repTok, nil)
	if code != 200 {
		t.Fatalf("board after the erasure: %d %v", code, board)
	}
	for _, it := range board["items"].([]any) {
		if d, ok := it.(map[string]any)["deed"].(map[string]any); ok && (d["title"] != "" || num(d["likes"]) != 1) {
			t.Errorf("an erased author's deed on the board: %v", d)
		}
	}
}

// TestBoardTownship: a township cadre reads and likes the boards of its
// township's villages, not others'; a commander reads any board but
// names the village.
func TestBoardTownship(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	home := storage.LatLng{Lat: 29.13, Lng: 119.17}
	other, err := e.h.members.CreateVillage(ctx, "Gamma", "U", &storage.LatLng{Lat: 29.3, Lng: 119.2}, false)
	if err != nil {
		t.Fatal(err)
	}
	cad, cadTok := e.member(storage.RoleCadre, 0, storage.LatLng{Lat: 29.03, Lng: 119.17})
	_, resTok := e.member(storage.RoleResident, 1, home)
	_, comTok := e.member(storage.RoleCommander, -1, home)
	code, out := e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "water", "text": "井水浑浊",
		"lat": 29.13, "lng": 119.17, "visibility": "public"})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	id := out["report"].(map[string]any)["id"].(string)
	beta := "/api/v1/board?village_id=" + e.villages[1].ID
	if code, _ := e.call("GET", beta, cadTok, nil); code != 403 {
		t.Errorf("a village cadre reads another village's board: %d, want 403", code)
	}
	if code, out := e.call("PUT", "/api/v1/members/"+cad.ID+"/township", comTok, map[string]any{"township": "T"}); code != 200 {
		t.Fatalf("township: %d %v", code, out)
	}
	if code, out := e.call("GET", beta, cadTok, nil); code != 200 || len(out["items"].([]any)) != 1 {
		t.Errorf("the township cadre reads Beta's board: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/reports/"+id+"/urge", cadTok, nil); code != 200 || num(out["urges"]) != 1 {
		t.Errorf("the township cadre urges: %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/board?village_id="+other.ID, cadTok, nil); code != 403 {
		t.Errorf("the township cadre reads Gamma's board: %d, want 403", code)
	}
	if code, _ := e.call("GET", beta, comTok, nil); code != 200 {
		t.Errorf("a commander reads Beta's board: %d", code)
	}
	if code, out := e.call("GET", "/api/v1/board", comTok, nil); code != 400 {
		t.Errorf("a commander without a village names none: %d %v, want 400", code, out)
	}
}
