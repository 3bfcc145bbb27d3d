package server

import (
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/longyou/hub/api"
	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/storage"
)

// capSchema is the OASIS CAP 1.2 schema the export must be valid against.
var capSchema, _ = filepath.Abs("../api/cap/testdata/CAP-v1.2.xsd")

// getCAP reads path with Accept: application/cap+xml (token "" sends
// none) and returns the status, the Content-Type and the body.
func (e *testEnv) getCAP(path, token string) (int, string, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/cap+xml, application/json;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// validCAP checks doc against the OASIS schema with xmllint (a missing
// xmllint fails: validity is the contract) and parses it back.
func validCAP(t *testing.T, doc []byte) *cap.Alert {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint not found; install it with: apt-get install -y libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "alert.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--noout", "--nonet", "--schema", capSchema, f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s\ndocument:\n%s", err, out, doc)
	}
	a, err := cap.Parse(doc)
	if err != nil {
		t.Fatalf("parse the export back: %v\n%s", err, doc)
	}
	return a
}

func TestCAPExport(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicURL = "https://hub.longyou.example" })
	v := e.villages[0]
	send := func(body map[string]any) string {
		t.Helper()
		code, out := e.call("POST", "/api/v1/alerts", e.admin, body)
		if code != http.StatusCreated {
			t.Fatalf("send: %d %v", code, out)
		}
		return out["alert"].(map[string]any)["id"].(string)
	}
	circle := send(map[string]any{"kind": "warning", "severity": "extreme", "title": "山洪预警", "body": "请立即转移到高处。",
		"area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 3000}}})
	poly := send(map[string]any{"kind": "warning", "severity": "moderate", "title": "道路结冰", "body": "注意防滑",
		"area": map[string]any{"polygon": [][]float64{{29.0, 119.1}, {29.1, 119.1}, {29.1, 119.2}, {29.0, 119.2}}}})
	villages := send(map[string]any{"kind": "warning", "severity": "minor", "title": "大风", "body": "加固棚架",
		"area": map[string]any{"villages": []string{v.ID}}})
	reach := send(map[string]any{"kind": "mobilization", "severity": "severe", "title": "集合抢险", "body": "带上铁锹",
		"roles": []string{"patrol"}, "area": map[string]any{"reach": map[string]any{"lat": 29.03, "lng": 119.17, "minutes": 15, "mode": "walk"}}})

	code, ct, doc := e.getCAP("/api/v1/alerts/"+circle, e.admin)
	if code != http.StatusOK || !strings.HasPrefix(ct, cap.ContentType) {
		t.Fatalf("GET with Accept cap+xml: %d %q\n%s", code, ct, doc)
	}
	a := validCAP(t, doc)
	if a.Identifier != circle || a.Sender != "hub.longyou.example" || a.Status != cap.StatusActual || a.MsgType != cap.MsgAlert || a.Scope != cap.ScopePublic {
		t.Errorf("header: %+v", a)
	}
	if len(a.Infos) != 1 {
		t.Fatalf("infos: %d", len(a.Infos))
	}
	in := a.Infos[0]
	if in.Headline != "山洪预警" || in.Description != "请立即转移到高处。" || in.Severity != cap.Severity("Extreme") || in.Language != "zh-CN" {
		t.Errorf("info: %+v", in)
	}
	if _, off := a.Sent.Zone(); off != 8*3600 {
		t.Errorf("sent %v: want county time (+08:00)", a.Sent)
	}
	if len(in.Areas) != 1 || len(in.Areas[0].Circles) != 1 || in.Areas[0].Circles[0] != (cap.Circle{Lat: 29.03, Lon: 119.17, RadiusKm: 3}) {
		t.Errorf("circle area: %+v", in.Areas)
	}

	a = validCAP(t, mustCAP(t, e, poly))
	if ps := a.Infos[0].Areas[0].Polygons; len(ps) != 1 || len(ps[0]) != 5 || ps[0][0] != ps[0][4] || ps[0][1] != [2]float64{29.1, 119.1} {
		t.Errorf("polygon area (closed ring of lat,lon): %+v", ps)
	}
	a = validCAP(t, mustCAP(t, e, villages))
	if d := a.Infos[0].Areas[0].AreaDesc; !strings.Contains(d, v.Name) {
		t.Errorf("villages area: areaDesc %q lacks the village's name %q", d, v.Name)
	}
	a = validCAP(t, mustCAP(t, e, reach))
	if a.Scope != cap.ScopeRestricted || !strings.Contains(a.Restriction, "patrol") {
		t.Errorf("a patrols-only mobilization: scope %s restriction %q", a.Scope, a.Restriction)
	}
	if c := a.Infos[0].Areas[0].Circles; len(c) != 1 || c[0].RadiusKm != 1.25 {
		t.Errorf("reach without a network: the 15-minute walking circle (1.25 km): %+v", a.Infos[0].Areas[0])
	}

	// A cancel is its own message referring to the alert; ?msg=alert is
	// the original.
	if code, out := e.call("POST", "/api/v1/alerts/"+circle+"/cancel", e.admin, nil); code != http.StatusOK {
		t.Fatalf("cancel: %d %v", code, out)
	}
	c := validCAP(t, mustCAP(t, e, circle))
	if c.MsgType != cap.MsgCancel || c.Identifier != circle+".cancel" || len(c.References) != 1 ||
		c.References[0].Identifier != circle || c.References[0].Sender != "hub.longyou.example" {
		t.Errorf("cancel message: %+v", c)
	}
	code, _, doc = e.getCAP("/api/v1/alerts/"+circle+"/cap?msg=alert", e.admin)
	if code != http.StatusOK || validCAP(t, doc).MsgType != cap.MsgAlert {
		t.Errorf("?msg=alert of a cancelled alert: %d\n%s", code, doc)
	}
	if code, _, _ := e.getCAP("/api/v1/alerts/"+poly+"/cap?msg=cancel", e.admin); code != http.StatusNotFound {
		t.Errorf("the Cancel message of an active alert: %d, want 404", code)
	}

	// Roles: a resident may not read CAP messages, and without
	// -public-feed nobody may without a token.
	_, resTok := e.member(storage.RoleResident, 0, storage.LatLng{Lat: 29.03, Lng: 119.17})
	if code, _, _ := e.getCAP("/api/v1/alerts/"+poly+"/cap", resTok); code != http.StatusForbidden {
		t.Errorf("resident reads a CAP message: %d, want 403", code)
	}
	if code, _, _ := e.getCAP("/api/v1/alerts.atom", ""); code != http.StatusUnauthorized {
		t.Errorf("feed without a token nor -public-feed: %d, want 401", code)
	}
	code, ct, feed := e.getCAP("/api/v1/alerts.atom", e.admin)
	if code != http.StatusOK || !strings.HasPrefix(ct, "application/atom+xml") {
		t.Fatalf("feed: %d %q", code, ct)
	}
	ids := feedCAPLinks(t, feed)
	if len(ids) != 3 || !ids["https://hub.longyou.example/api/v1/alerts/"+reach+"/cap"] || ids["https://hub.longyou.example/api/v1/alerts/"+circle+"/cap"] {
		t.Errorf("commander's feed: %v, want the three active alerts (not the cancelled one)", ids)
	}
}

func mustCAP(t *testing.T, e *testEnv, id string) []byte {
	t.Helper()
	code, _, doc := e.getCAP("/api/v1/alerts/"+id+"/cap", e.admin)
	if code != http.StatusOK {
		t.Fatalf("GET /alerts/%s/cap: %d\n%s", id, code, doc)
	}
	return doc
}

// feedCAPLinks returns the CAP links of an Atom feed's entries.
func feedCAPLinks(t *testing.T, feed []byte) map[string]bool {
	t.Helper()
	var f struct {
		Entries []struct {
			Links []struct {
				Href string `xml:"href,attr"`
				Type string `xml:"type,attr"`
			} `xml:"link"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(feed, &f); err != nil {
		t.Fatalf("feed: %v\n%s", err, feed)
	}
	out := map[string]bool{}
	for _, e := range f.Entries {
		for _, l := range e.Links {
			if l.Type == cap.ContentType {
				out[l.Href] = true
			}
		}
	}
	return out
}

// With -public-feed anyone reads the feed and the CAP messages of the
// alerts for everyone; a staff-only alert stays hidden.
func TestCAPPublicFeed(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.PublicURL = "https://hub.longyou.example"
		c.CAP = api.CAPConfig{PublicFeed: true, Sender: "yjj.longyou.gov.cn", SenderName: "龙游县应急管理局"}
	})
	send := func(body map[string]any) string {
		t.Helper()
		code, out := e.call("POST", "/api/v1/alerts", e.admin, body)
		if code != http.StatusCreated {
			t.Fatalf("send: %d %v", code, out)
		}
		return out["alert"].(map[string]any)["id"].(string)
	}
	area := map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 3000}}
	public := send(map[string]any{"kind": "warning", "severity": "severe", "title": "暴雨", "body": "减少外出", "area": area})
	staff := send(map[string]any{"kind": "mobilization", "severity": "severe", "title": "抢险集合", "body": "x", "area": area, "roles": []string{"patrol", "cadre"}})

	code, _, feed := e.getCAP("/api/v1/alerts.atom", "")
	if code != http.StatusOK {
		t.Fatalf("public feed: %d %s", code, feed)
	}
	ids := feedCAPLinks(t, feed)
	if len(ids) != 1 || !ids["https://hub.longyou.example/api/v1/alerts/"+public+"/cap"] {
		t.Errorf("public feed entries: %v, want only the alert for everyone", ids)
	}
	if !strings.Contains(string(feed), "龙游县应急管理局") {
		t.Errorf("feed lacks the sender name:\n%s", feed)
	}
	code, _, doc := e.getCAP("/api/v1/alerts/"+public+"/cap", "")
	if code != http.StatusOK {
		t.Fatalf("public CAP: %d %s", code, doc)
	}
	if a := validCAP(t, doc); a.Sender != "yjj.longyou.gov.cn" || a.Infos[0].SenderName != "龙游县应急管理局" {
		t.Errorf("sender %q, senderName %q", a.Sender, a.Infos[0].SenderName)
	}
	if code, _, _ := e.getCAP("/api/v1/alerts/"+staff+"/cap", ""); code != http.StatusNotFound {
		t.Errorf("a staff-only alert's CAP without a token: %d, want 404", code)
	}
	// The JSON view still needs a token.
	if code, _ := e.call("GET", "/api/v1/alerts/"+public, "", nil); code != http.StatusUnauthorized {
		t.Errorf("JSON alert without a token: %d, want 401", code)
	}
	// A bad token is refused even where the feed is public.
	if code, _, _ := e.getCAP("/api/v1/alerts.atom", "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("feed with a bad token: %d, want 401", code)
	}
}
