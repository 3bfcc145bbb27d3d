package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// TestPolicyRoute: the rules as data (v1.6). Admins read and replace the
// whole policy, commanders read it, nobody else; a bad policy changes
// nothing; a new one is in force at once (a report's due_at) and stored.
func TestPolicyRoute(t *testing.T) {
	e := newEnv(t)
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	_, resTok := e.member(storage.RoleResident, 0, home)
	_, cadTok := e.member(storage.RoleCadre, 0, home)
	_, comTok := e.member(storage.RoleCommander, -1, home)

	for _, c := range []struct {
		tok  string
		want int
	}{{resTok, 403}, {cadTok, 403}, {comTok, 200}, {e.admin, 200}} {
		if code, _ := e.call("GET", "/api/v1/policy", c.tok, nil); code != c.want {
			t.Errorf("GET policy: %d, want %d", code, c.want)
		}
	}
	_, out := e.call("GET", "/api/v1/policy", e.admin, nil)
	raw, _ := json.Marshal(out["policy"])
	p, err := policy.Decode(raw)
	if err != nil {
		t.Fatalf("the policy served does not decode: %v", err)
	}

	put := func(tok string, body []byte) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/policy", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for i := range p.Reports.Kinds {
		if p.Reports.Kinds[i].Name == "flood" {
			p.Reports.Kinds[i].Due = policy.Duration(30 * time.Second)
		}
	}
	good, _ := json.Marshal(p)
	if code, _ := put(comTok, good); code != 403 {
		t.Errorf("commander PUT: %d, want 403", code)
	}
	for name, body := range map[string][]byte{
		"not JSON":      []byte("{"),
		"unknown field": []byte(`{"reportz": {}}`),
		"invalid":       []byte(`{"reports": {"kinds": []}}`),
	} {
		if code, out := put(e.admin, body); code != 400 {
			t.Errorf("%s: %d %v, want 400", name, code, out)
		}
	}
	// Nothing changed: a flood report is still due in 30 minutes.
	due := func() time.Duration {
		t.Helper()
		code, out := e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "flood", "text": "水", "lat": 29.03, "lng": 119.17})
		if code != 201 {
			t.Fatalf("report: %d %v", code, out)
		}
		rep := out["report"].(map[string]any)
		d, _ := time.Parse(time.RFC3339Nano, rep["due_at"].(string))
		c, _ := time.Parse(time.RFC3339Nano, rep["created_at"].(string))
		return d.Sub(c)
	}
	if d := due(); d != 30*time.Minute {
		t.Fatalf("flood due after a refused PUT: %v, want 30m", d)
	}
	if code, out := put(e.admin, good); code != 200 {
		t.Fatalf("admin PUT: %d %v", code, out)
	}
	if d := due(); d != 30*time.Second {
		t.Errorf("flood due after the PUT: %v, want 30s", d)
	}
	stored, err := e.h.cfg.Store.Setting(context.Background(), policySetting)
	if err != nil {
		t.Fatalf("stored policy: %v", err)
	}
	sp, err := policy.Decode(stored)
	if err != nil || sp.Reports.Kinds[0].Name == "" {
		t.Fatalf("stored policy does not decode: %v", err)
	}
}
